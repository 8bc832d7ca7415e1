"""One real server (SQLite) holding a demo NWB file, a random blob and an empty one; every
streaming test reads them, most through a fault-injecting proxy."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from neuropil.client.upload_files import upload_file
from neuropil.demo import make_nwb_files
from neuropil.http.transport import Backoff, Transport
from tests.stream.faults import StreamProxy, running_proxy
from tests.support.server import ServerProcess

MiB = 1 << 20
#: Odd-sized, and large enough for split requests (>= 8 MiB) and a partial last block.
BLOB_SIZE = 12 * MiB + 12_345


@dataclass
class Site:
    server: ServerProcess
    local: dict[str, Path]  # name -> the uploaded file
    asset_ids: dict[str, str]

    def url(self, name: str, via: StreamProxy | None = None) -> str:
        """The API download URL of an uploaded file (through ``via`` if given)."""
        api = via.api_url if via is not None else self.server.api_url
        return f"{api}/assets/{self.asset_ids[name]}/download/"


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("stream")
    files = {"demo.nwb": make_nwb_files(tmp / "nwb")[0], "blob.bin": tmp / "blob.bin"}
    files["blob.bin"].write_bytes(os.urandom(BLOB_SIZE))
    files["empty.bin"] = tmp / "empty.bin"
    files["empty.bin"].write_bytes(b"")
    server = ServerProcess(tmp / "data")
    token = server.add_user("admin", admin=True)
    with server, Transport(server.api_url, token) as t:
        did = t.post_json("dandisets/", {"name": "streaming", "metadata": {}})["identifier"]
        ids = {
            name: upload_file(t, dandiset_id=did, path=path, asset_path=name)["asset_id"]
            for name, path in files.items()
        }
        yield Site(server, files, ids)


@pytest.fixture
def proxy(site: Site) -> Iterator[StreamProxy]:
    with running_proxy(site.server.url) as p:
        yield p


@pytest.fixture
def transport(proxy: StreamProxy) -> Iterator[Transport]:
    """A transport whose retries do not make tests slow (``Retry-After`` still counts)."""
    with Transport(proxy.api_url, backoff=Backoff(attempts=4, base=0.01, cap=0.05)) as t:
        yield t
