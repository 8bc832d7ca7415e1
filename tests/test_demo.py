"""`neuropil serve --demo` finishes a demo dandiset whose seeding was cut short."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from neuropil import demo
from neuropil.client.transport import Transport
from neuropil.client.upload import upload_file
from tests.support.server import ServerProcess


def _asset_paths(api_url: str, identifier: str) -> list[str]:
    page = httpx.get(f"{api_url}/dandisets/{identifier}/versions/draft/assets/").json()
    return sorted(a["path"] for a in page["results"])


def test_demo_seeding_resumes_after_an_interruption(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data")
    token = server.add_user(demo.DEMO_USER, admin=True)
    files = demo.make_nwb_files(tmp_path / "nwb", organized=True)
    with server:
        # What a seeding killed after its first upload leaves behind.
        with Transport(server.api_url, token) as t:
            created = t.post_json(
                "dandisets/", {"name": demo.DEMO_NAME, "metadata": demo.dandiset_metadata()}
            )
            ident = str(created["identifier"])
            first = files[0]
            upload_file(
                t,
                dandiset_id=ident,
                path=first,
                asset_path=first.relative_to(tmp_path / "nwb").as_posix(),
            )
        assert len(_asset_paths(server.api_url, ident)) == 1

    server.demo = True
    with server:
        deadline = time.monotonic() + 60
        while len(_asset_paths(server.api_url, ident)) < len(files):
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.2)
        listing = httpx.get(f"{server.api_url}/dandisets/").json()
        paths = _asset_paths(server.api_url, ident)
    assert listing["count"] == 1  # finished in place, no second demo dandiset
    assert paths == sorted(p.relative_to(tmp_path / "nwb").as_posix() for p in files)
