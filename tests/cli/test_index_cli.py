"""``neuropil index FILE_OR_URL -o OUT.lindi.json``: local and remote files, bad input.

The command runs as a real process (as users run it); the remote case reads a blob served by
a real server, and the indexes it writes open with neuropil's reader and with LINDI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import h5py
import pytest

import neuropil
from neuropil.client.upload_files import upload_file
from neuropil.demo import make_nwb_files
from neuropil.http.transport import Transport
from neuropil.index import IndexFile
from tests.index.compare import assert_same_file
from tests.support.server import ServerProcess

pytestmark = pytest.mark.filterwarnings("ignore")  # pynwb/hdmf version chatter
lindi = pytest.importorskip("lindi")

SERIES = "acquisition/ElectricalSeries/data"


def run_index(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "neuropil", "index", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def nwb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_nwb_files(tmp_path_factory.mktemp("nwb"))[0]


@pytest.fixture(scope="module")
def blob_url(nwb: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The NWB file on a real server: its blob URL (``contentUrl[1]``, no redirect)."""
    server = ServerProcess(tmp_path_factory.mktemp("server") / "data")
    token = server.add_user("owner")
    with server, Transport(server.api_url, token) as t:
        did = t.post_json("dandisets/", {"name": "cli index", "metadata": {}})["identifier"]
        asset = upload_file(t, dandiset_id=did, path=nwb, asset_path="a.nwb")
        yield str(t.get_json(f"assets/{asset['asset_id']}/")["contentUrl"][1])


def check_index(path: Path, nwb: Path, data_url: str) -> None:
    doc = json.loads(path.read_text())
    assert doc["templates"] == {"u1": data_url}
    with neuropil.open(nwb, index=path) as f, h5py.File(nwb) as h5:
        assert isinstance(f, IndexFile)
        assert assert_same_file(h5, f) > 50
    with lindi.LindiH5pyFile.from_lindi_file(str(path)) as f, h5py.File(nwb) as h5:
        assert f[SERIES].shape == h5[SERIES].shape
        assert (f[SERIES][100:9000, 2:7] == h5[SERIES][100:9000, 2:7]).all()
        assert f["identifier"][()] == h5["identifier"][()].decode()  # LINDI gives str


def test_a_local_file(nwb: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.lindi.json"
    result = run_index(str(nwb), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout and "chunk refs" in result.stdout
    check_index(out, nwb, str(nwb.resolve()))  # refs point at the file itself


def test_a_remote_file(nwb: Path, blob_url: str, tmp_path: Path) -> None:
    out = tmp_path / "y.lindi.json"
    result = run_index(blob_url, "-o", str(out))
    assert result.returncode == 0, result.stderr
    check_index(out, nwb, blob_url)  # refs point at the URL
    local = tmp_path / "local.lindi.json"
    assert run_index(str(nwb), "-o", str(local), "--url", blob_url).returncode == 0
    assert local.read_bytes() == out.read_bytes()  # the same index, however it was read


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda nwb: b"just text\n" * 100, "not an HDF5 file"),
        (lambda nwb: nwb.read_bytes()[: nwb.stat().st_size // 2], "truncated"),
    ],
    ids=["not-hdf5", "truncated"],
)
def test_bad_input_fails_and_writes_nothing(
    nwb: Path, tmp_path: Path, make: object, message: str
) -> None:
    source = tmp_path / "in.nwb"
    source.write_bytes(make(nwb))  # type: ignore[operator]
    out = tmp_path / "out.lindi.json"
    out.write_text("previous")  # a failed run must not clobber what was there
    result = run_index(str(source), "-o", str(out))
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert out.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.nwb", "out.lindi.json"]


def test_a_missing_file_or_directory(nwb: Path, tmp_path: Path) -> None:
    missing = run_index(str(tmp_path / "nope.nwb"), "-o", str(tmp_path / "o.json"))
    assert missing.returncode == 1 and "no such file" in missing.stderr
    nodir = run_index(str(nwb), "-o", str(tmp_path / "no" / "o.json"))
    assert nodir.returncode == 1 and "not a directory" in nodir.stderr
