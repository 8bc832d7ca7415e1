"""File pages show an NWB file's contents and previews; the PNGs over real HTTP.

One real server (SQLite) for the module. The NWB files are uploaded over the API and their
indexes built by the server's own job; pages are read as HTML without JavaScript.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image

from neuropil.client.upload_files import upload_file
from neuropil.config import Settings
from neuropil.http.transport import Transport
from tests.api.helpers import wait_for
from tests.api.publishing import DANDISET_METADATA, publish_and_wait, wait_until_valid
from tests.conftest import Archive
from tests.preview.nwb_files import HOSTILE
from tests.search.helpers import set_embargoed
from tests.support.server import ServerProcess
from tests.web.helpers import WebClient, signed_in_user, text

pytestmark = pytest.mark.filterwarnings("ignore")

NWB_METADATA = {"schemaKey": "Asset", "encodingFormat": "application/x-nwb"}
IMG = re.compile(r'<img src="([^"]+)" width="(\d+)" height="(\d+)" alt="([^"]*)">')
YEAR = "max-age=31536000, immutable"


@dataclass
class Uploaded:
    archive: Archive
    identifier: str
    assets: dict[str, dict[str, Any]]  # by asset path

    def page_url(self, path: str, version: str = "draft") -> str:
        return f"/dandiset/{self.identifier}/{version}/files?location={path}"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    server = ServerProcess(tmp_path_factory.mktemp("preview-http") / "data")
    admin = server.add_user("admin", admin=True)
    user = server.add_user("owner")
    with server:
        yield Archive(server, admin, user, "sqlite")


def _upload(archive: Archive, files: dict[str, Path], metadata: dict[str, Any]) -> Uploaded:
    with Transport(archive.api_url, archive.user_token) as t:
        body = {"name": "previews", "metadata": metadata}
        identifier = str(t.post_json("dandisets/", body)["identifier"])
        assets = {
            path: upload_file(
                t, dandiset_id=identifier, path=local, asset_path=path, metadata=NWB_METADATA
            )
            for path, local in files.items()
        }
    for asset in assets.values():
        url = f"{archive.api_url}/assets/{asset['asset_id']}/index/"
        wait_for(lambda u=url: httpx.get(u).status_code == 200, timeout=30, every=0.1)
    return Uploaded(archive, identifier, assets)


@pytest.fixture(scope="module")
def uploaded(archive: Archive, nwb_files: dict[str, Path]) -> Uploaded:
    files = {f"sub-1/sub-1_{name}.nwb": path for name, path in nwb_files.items()}
    return _upload(archive, files, {})


def images(page: str) -> list[tuple[str, int, int, str]]:
    """The preview ``<img>`` tags of a page: (URL, width, height, alt), unescaped."""
    found = IMG.findall(page)
    return [(html.unescape(u), int(w), int(h), html.unescape(a)) for u, w, h, a in found]


def get_png(web: WebClient | httpx.Client, url: str) -> tuple[httpx.Response, tuple[int, int]]:
    r = web.get(url)
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    assert r.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(r.content)) as image:
        image.verify()
    with Image.open(io.BytesIO(r.content)) as image:
        return r, image.size


# -- the page ---------------------------------------------------------------------------------
def test_a_file_page_shows_the_tree_and_previews(uploaded: Uploaded) -> None:
    with WebClient(uploaded.archive.url) as web:
        page = web.page(uploaded.page_url("sub-1/sub-1_place_cells.nwb"))
        seen = text(page)
        for expected in (
            "Contents",
            "Object tree",
            "ElectricalSeries/ ElectricalSeries",
            "data 60000 \N{MULTIPLICATION SIGN} 32 int16",
            "spike_times VectorData",
            "device → /general/devices/probe",  # a link, not walked into
            "first 2 s, 8 of 32 channels",
            "spikes of the first 12 of 12 units",
        ):
            assert expected in seen, expected
        shown = images(page)
        objects = [parse_qs(urlsplit(u).query)["object"][0] for u, *_ in shown]
        assert objects == [
            "/acquisition/ElectricalSeries",
            "/processing/behavior/Position/position",
            "/processing/ecephys/LFP/lfp",
            "/units",
        ]
        for url, width, height, alt in shown:
            assert alt.startswith("Preview of /")
            r, size = get_png(web, url)
            assert size == (width, height)
            assert r.headers["cache-control"] == f"public, {YEAR}"
            assert r.headers["etag"].startswith('"')
            again = web.get(url, headers={"If-None-Match": r.headers["etag"]})
            assert again.status_code == 304 and again.content == b""


def test_ophys_and_icephys_previews(uploaded: Uploaded) -> None:
    with WebClient(uploaded.archive.url) as web:
        ophys = web.page(uploaded.page_url("sub-1/sub-1_two_photon.nwb"))
        alts = [alt for *_, alt in images(ophys)]
        assert alts == [
            "Preview of /acquisition/TwoPhotonSeries",
            "Preview of /processing/ophys/DfOverF/RoiResponseSeries",
            "Preview of /processing/ophys/ImageSegmentation/PlaneSegmentation",
            "Preview of /processing/ophys/SummaryImages/mean",
        ]
        assert "frame 1 of 20, 256 x 300 pixels" in text(ophys)
        for url, width, height, _ in images(ophys):
            assert get_png(web, url)[1] == (width, height)
        sweep = web.page(uploaded.page_url("sub-1/sub-1_icephys.nwb"))
        assert [a for *_, a in images(sweep)] == [
            "Preview of /acquisition/sweep0",
            "Preview of /stimulus/presentation/stimulus",
        ]


def test_hostile_names_are_escaped_and_hostile_data_refused(uploaded: Uploaded) -> None:
    with WebClient(uploaded.archive.url) as web:
        page = web.page(uploaded.page_url("sub-1/sub-1_hostile.nwb"))
        assert "<script>alert(1)" not in page and "<b>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&amp;x=1#?" in page
        assert "TimeSeries&lt;b&gt;" in page
        by_object = {parse_qs(urlsplit(u).query)["object"][0]: u for u, *_ in images(page)}
        odd = by_object[f"/acquisition/{HOSTILE}"]
        assert "%3Cscript%3E" in odd and "#" not in odd  # the name travels quoted
        assert get_png(web, odd)[1] == (720, 300)
        bomb = web.get(by_object["/acquisition/bomb"])
        assert bomb.status_code == 400 and "the 8064 bytes its shape holds" in bomb.text
        assert "claims_400MB" in text(page) and "/acquisition/huge" not in by_object
        assert web.get(by_object["/acquisition/plain"]).status_code == 200  # still serving


def test_unknown_objects_and_stale_links_are_404(uploaded: Uploaded) -> None:
    asset = uploaded.assets["sub-1/sub-1_place_cells.nwb"]
    base = f"/dandiset/{uploaded.identifier}/draft/files/preview.png"
    location = "location=sub-1/sub-1_place_cells.nwb"
    with WebClient(uploaded.archive.url) as web:
        for query, message in [
            (f"{location}&object=/acquisition/Nothing", "No object"),
            (f"{location}&object=/general", "has no preview"),
            (f"{location}&object=/units/spike_times", "has no preview"),
            (f"{location}&object=acquisition", "No object"),
            ("location=sub-1/none.nwb&object=/units", "No file"),
            (f"{location}&object=/units&asset={'0' * 36}", "has changed since"),
        ]:
            r = web.get(f"{base}?{query}")
            assert r.status_code == 404, query
            assert message in r.json()["detail"], query
        r = web.get(f"{base}?{location}&object=/units")  # no asset id: revalidate drafts
        assert r.status_code == 200 and r.headers["cache-control"] == "public, no-cache"
        pinned = web.get(f"{base}?{location}&object=/units&asset={asset['asset_id']}")
        assert pinned.headers["cache-control"] == f"public, {YEAR}"


def test_files_that_are_not_hdf5_show_nothing_new(uploaded: Uploaded, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not an HDF5 file")
    with Transport(uploaded.archive.api_url, uploaded.archive.user_token) as t:
        upload_file(t, dandiset_id=uploaded.identifier, path=notes, asset_path="notes.txt")
    with WebClient(uploaded.archive.url) as web:
        page = web.page(uploaded.page_url("notes.txt"))
        assert "Contents" not in text(page) and "preview.png" not in page


def test_a_file_being_indexed_shows_so_without_previews(uploaded: Uploaded) -> None:
    asset = uploaded.assets["sub-1/sub-1_icephys.nwb"]
    root = Settings(data_dir=uploaded.archive.server.data_dir).blob_root
    status = root / "objects" / "indexes" / f"{asset['blob']}.status.json"
    status.unlink()  # as if the index had not been built yet: the page queues the build
    with WebClient(uploaded.archive.url) as web:
        page = web.page(uploaded.page_url("sub-1/sub-1_icephys.nwb"))
        assert "This file is being indexed" in text(page) and not images(page)
        url = uploaded.page_url("sub-1/sub-1_icephys.nwb")
        built = wait_for(lambda: images(web.page(url)) or None, timeout=30)
        assert len(built) == 2


# -- who may see previews -----------------------------------------------------------------------
def test_previews_follow_the_dandisets_visibility(
    archive: Archive, nwb_files: dict[str, Path]
) -> None:
    secret = _upload(archive, {"sub-2/sub-2_icephys.nwb": nwb_files["icephys"]}, {})
    with WebClient(archive.url) as owner:
        owner.set_password(archive.user_token)  # the uploader, signed in: an owner
        url = images(owner.page(secret.page_url("sub-2/sub-2_icephys.nwb")))[0][0]
        set_embargoed(archive, secret.identifier)
        r, _ = get_png(owner, url)
        assert r.headers["cache-control"] == f"private, {YEAR}"
        assert images(owner.page(secret.page_url("sub-2/sub-2_icephys.nwb")))
    with WebClient(archive.url) as anonymous:
        denied = anonymous.get(url)
        assert denied.status_code == 401 and denied.headers["content-type"] == "application/json"
        page = anonymous.get(secret.page_url("sub-2/sub-2_icephys.nwb"))
        assert page.status_code == 303 and "/login" in page.headers["location"]
    stranger, _, _ = signed_in_user(archive)
    with stranger:
        assert stranger.get(url).status_code == 403
        assert stranger.get(secret.page_url("sub-2/sub-2_icephys.nwb")).status_code == 403


def test_published_versions_are_cached_for_good(
    archive: Archive, nwb_files: dict[str, Path]
) -> None:
    done = _upload(archive, {"sub-3/sub-3_icephys.nwb": nwb_files["icephys"]}, DANDISET_METADATA)
    with httpx.Client(
        base_url=f"{archive.api_url}/", headers={"Authorization": f"token {archive.user_token}"}
    ) as c:
        wait_until_valid(c, done.identifier)
        version = publish_and_wait(c, done.identifier)
    with WebClient(archive.url) as web:
        page = web.page(done.page_url("sub-3/sub-3_icephys.nwb", version))
        url = images(page)[0][0]
        assert f"/{version}/files/preview.png" in url
        r, size = get_png(web, url)
        assert size == (720, 300) and r.headers["cache-control"] == f"public, {YEAR}"
        no_pin = re.sub(r"&asset=[^&]+", "", url)
        assert web.get(no_pin).headers["cache-control"] == f"public, {YEAR}"
