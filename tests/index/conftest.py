"""Sample files are written once per session; each index is built once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from neuropil.demo import make_nwb_files
from neuropil.index import build_index
from tests.index.compare import FileFetcher
from tests.index.samples import write_sample

SAMPLE_URL = "https://archive.example.org/api/assets/sample/download/"
NWB_URL = "https://archive.example.org/api/assets/nwb/download/"


@pytest.fixture(scope="session")
def sample_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("index") / "sample.h5")


@pytest.fixture(scope="session")
def sample_index(sample_path: Path) -> dict[str, Any]:
    return build_index(sample_path, url=SAMPLE_URL)


@pytest.fixture(scope="session")
def nwb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_nwb_files(tmp_path_factory.mktemp("nwb"))[0]


@pytest.fixture(scope="session")
def nwb_index(nwb_path: Path) -> dict[str, Any]:
    return build_index(nwb_path, url=NWB_URL)


@pytest.fixture
def fetcher(sample_path: Path, nwb_path: Path) -> FileFetcher:
    return FileFetcher({SAMPLE_URL: sample_path, NWB_URL: nwb_path})


@pytest.fixture(scope="session")
def family_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One NWB file per neurodata type family (see :mod:`tests.index.nwb_families`)."""
    from tests.index.nwb_families import write_all

    return write_all(tmp_path_factory.mktemp("families"))
