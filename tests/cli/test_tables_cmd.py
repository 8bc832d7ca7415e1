"""``neuropil tables URL [-t files|sessions] [-f csv|json|parquet] [-o FILE]`` as users run it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from neuropil.tables import FILES, SESSIONS
from neuropil.tables.columns import names
from tests.api.helpers import client
from tests.conftest import Archive
from tests.support import tables
from tests.support.nwb import NwbSet

# Its subject is what a client or a page does over HTTP, not what the database does: one
# backend (the services below are tested on both in tests/api).
pytestmark = pytest.mark.backends("sqlite")


@pytest.fixture(scope="module")
def nwb(tmp_path_factory: pytest.TempPathFactory) -> NwbSet:
    return tables.demo_set(tmp_path_factory.mktemp("nwb"))


@pytest.fixture(scope="module")
def ident(archive: Archive, nwb: NwbSet) -> str:
    with client(archive.api_url, archive.user_token) as c:
        return tables.nwb_dandiset(c, nwb)


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "NEUROPIL_CONFIG_DIR": str(tmp_path / "config"), "NEUROPIL_KEYRING": "0"}
    for var in ("NEUROPIL_URL", "NEUROPIL_API_KEY", "DANDI_INSTANCE", "DANDI_API_KEY"):
        env.pop(var, None)
    return subprocess.run(
        [sys.executable, "-m", "neuropil", "tables", *args],
        capture_output=True,
        env=env,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_tables_writes_each_format(
    archive: Archive, nwb: NwbSet, ident: str, tmp_path: Path
) -> None:
    expected = tables.expected_sessions(nwb)
    url = f"{archive.url}/dandiset/{ident}/draft"
    out = run(tmp_path, url)  # CSV of the file manifest on standard output
    assert out.returncode == 0, out.stderr.decode()
    files = pd.read_csv(io.BytesIO(out.stdout))
    assert list(files.columns) == names(FILES) and len(files) == len(nwb.asset_paths) + 1
    target = tmp_path / "sessions.parquet"
    out = run(tmp_path, url, "-t", "sessions", "-f", "parquet", "-o", str(target))
    assert out.returncode == 0, out.stderr.decode()
    sessions = pd.read_parquet(target)
    assert list(sessions.columns) == names(SESSIONS)
    assert list(sessions.electrode_count) == [e["electrode_count"] for e in expected]
    out = run(tmp_path, url, "-t", "sessions", "-f", "json")
    assert out.returncode == 0, out.stderr.decode()
    got = pd.read_json(io.BytesIO(out.stdout), dtype={"session": str}).session
    assert list(got) == [e["session"] for e in expected]


def test_tables_reports_errors_in_one_line(archive: Archive, tmp_path: Path) -> None:
    out = run(tmp_path, f"{archive.api_url}/dandisets/999999/versions/draft/")
    assert out.returncode == 1
    assert b"404" in out.stderr and b"Traceback" not in out.stderr
