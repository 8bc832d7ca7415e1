"""The preview tests' NWB files, written once per session (about two seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.preview.nwb_files import write_all


@pytest.fixture(scope="session")
def nwb_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_all(tmp_path_factory.mktemp("preview-nwb"))
