"""Who may do what, cell by cell: every operation of the API, the main web pages and the web's
forms, for each role, on an open and on an embargoed dandiset (issue 16).

Roles: ``anonymous``; ``unapproved`` (signed up, not approved); ``other`` (approved, owns
nothing); ``owner``; ``admin``; ``reviewer`` (a named reviewer: an approved account with a
grant); ``link`` (a review link's token, no ``Authorization``). One server, one set of
accounts and dandisets; each cell asserts its exact status. Writes are made so that an
allowed caller changes nothing (an unknown asset id, unchanged metadata, ...), except the
destructive ones, which get objects of their own per cell (a dandiset, a Zarr, an upload).
:func:`test_every_operation_of_the_api_has_its_cells` keeps the matrix whole: an operation
of the OpenAPI document without cells fails it. Every API answer is also one the document
declares (status and media type): the fuzzer calls as one approved owner, so these cells are
where the document meets the other roles' answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from neuropil.core.review_links import REVIEW_HEADER
from tests.api.embargo_helpers import (
    create_embargoed,
    grant,
    link_client,
    new_link,
    unapproved_account,
)
from tests.api.helpers import (
    add_asset,
    client,
    create_dandiset,
    etag_of,
    random_bytes,
    start_upload,
    unique_name,
    upload_asset,
    upload_blob,
    wait_for,
)
from tests.api.publishing import asset_metadata, wait_status
from tests.conftest import Archive
from tests.support import zarrs
from tests.support.openapi import document
from tests.web.helpers import CSRF_RE, WebClient, text

ROLES = ("anonymous", "unapproved", "other", "owner", "admin", "reviewer", "link")
STATES = ("open", "embargoed")
#: Who reads an embargoed dandiset; everyone reads an open one.
READERS = frozenset({"owner", "admin", "reviewer", "link"})
#: Who changes a dandiset.
OWNERS = frozenset({"owner", "admin"})
#: What a role that may not is answered: anonymous callers are asked to authenticate.
REFUSED = {role: 401 if role == "anonymous" else 403 for role in ROLES}
NAME = "matrix dandiset"
ZARR_PATH = "shown.zarr"
#: One backend: who may is decided in Python (``services.visibility``), the same on both.
#: The cells whose answers the database filters (listings, search, blobs by digest) run on both.
pytestmark = pytest.mark.backends("sqlite")
BOTH = pytest.mark.backends("sqlite", "postgres")


@dataclass
class Target:
    """A dandiset of the matrix: one asset, a named reviewer and a review link."""

    identifier: str
    asset_id: str
    path: str
    etag: str
    blob_url: str
    link_token: str
    #: A Zarr of the dandiset with one file (``a/0``), and the owner's upload in progress.
    zarr_id: str = ""
    upload_id: str = ""
    upload_etag: str = ""
    blob_id: str = ""
    #: A Zarr asset (its own Zarr, finalized, one file ``a/0``; the write cells change the
    #: files of ``zarr_id`` instead).
    zarr_asset: str = ""


@dataclass
class World:
    archive: Archive
    tokens: dict[str, str | None]
    names: dict[str, str]
    targets: dict[str, Target]
    webs: dict[tuple[str, str], WebClient] = field(default_factory=dict)

    def api(self, role: str, state: str) -> httpx.Client:
        if role == "link":
            return link_client(self.archive, self.targets[state].link_token)
        return client(self.archive.api_url, self.tokens[role])


def _target(world_owner: httpx.Client, reviewer: str, state: str) -> Target:
    ident = (
        create_embargoed(world_owner, NAME)
        if state == "embargoed"
        else create_dandiset(world_owner, NAME)
    )
    data = random_bytes(1000)
    path = "sub-01/data.bin"
    r = add_asset(world_owner, ident, path, upload_blob(world_owner, ident, data), asset_metadata())
    assert r.status_code == 200, r.text
    asset = r.json()
    grant(world_owner, ident, reviewer)
    token = new_link(world_owner, ident, label="matrix")["token"]
    shown = zarrs.create_zarr(world_owner, ident, ZARR_PATH)
    zarrs.upload_files(world_owner, shown, {"a/0": b"zero"})
    zarrs.finalize(world_owner, shown)
    zarr_asset = zarrs.add_zarr_asset(world_owner, ident, ZARR_PATH, shown)["asset_id"]
    # Settle what the cells read: the asset valid (hashed), its index verdict known, the
    # draft Invalid (its metadata is incomplete), so a publish attempt answers 400.
    url = f"dandisets/{ident}/versions/draft/assets/{asset['asset_id']}/"
    wait_for(lambda: world_owner.get(f"{url}validation/").json()["status"] == "Valid")
    wait_for(lambda: world_owner.get(f"{url}index/").status_code != 503)
    wait_status(world_owner, ident, "Invalid")
    blob_url = next(u for u in asset["metadata"]["contentUrl"] if "/store/" in u)
    zarr_id = zarrs.create_zarr(world_owner, ident, "matrix.zarr")
    zarrs.upload_files(world_owner, zarr_id, {"a/0": b"zero"})
    upload = start_upload(world_owner, ident, random_bytes(64))
    return Target(
        ident,
        asset["asset_id"],
        path,
        etag_of(data),
        blob_url,
        str(token),
        zarr_id,
        upload.upload_id,
        upload.etag,
        asset["blob"],
        zarr_asset=str(zarr_asset),
    )


@pytest.fixture(scope="module")
def world(archive: Archive) -> Iterator[World]:
    tokens: dict[str, str | None] = {"anonymous": None, "admin": archive.admin_token}
    names = {}
    for role in ("other", "owner", "reviewer"):
        names[role] = unique_name(role).replace("-", "")
        tokens[role] = archive.server.add_user(names[role])
    pending_web, names["unapproved"], tokens["unapproved"] = unapproved_account(archive)
    with client(archive.api_url, tokens["owner"]) as owner:
        targets = {state: _target(owner, names["reviewer"], state) for state in STATES}
    w = World(archive, tokens, names, targets)
    yield w
    pending_web.close()
    for web in w.webs.values():
        web.close()


def expected_read(role: str, state: str, ok: int = 200) -> int:
    return ok if state == "open" or role in READERS else REFUSED[role]


def expected_owner_action(role: str, state: str, ok: int) -> int:
    if role in OWNERS:
        return ok
    if state == "embargoed" and role not in READERS:
        return REFUSED[role]  # it may not even be read
    return REFUSED[role]


# -- the calls -------------------------------------------------------------------------------
Body = Callable[[World, Target], Any]


@dataclass(frozen=True)
class Call:
    """One request of a cell: ``method`` on ``template`` (relative to ``/api/``, formatted
    with the target's ids), with a JSON ``body`` or raw ``content``. ``fresh`` makes objects
    of the owner's for this one call (what the call destroys), named in the template."""

    method: str
    template: str
    body: Body | None = None
    content: bytes | None = None
    fresh: Callable[[World, Target], dict[str, str]] | None = None

    def url(self, t: Target, **made: str) -> str:
        ids = {"id": t.identifier, "asset": t.asset_id, "zarr": t.zarr_id, "blob": t.blob_id}
        ids |= {"upload": t.upload_id, "etag": t.upload_etag, "random": str(uuid.uuid4())}
        ids["path"] = t.path
        return self.template.format(**ids, **made)

    def __call__(self, c: httpx.Client, w: World, t: Target) -> httpx.Response:
        made = self.fresh(w, t) if self.fresh else {}
        body = {"json": self.body(w, t)} if self.body else {}
        # The query as params: httpx drops a URL's own query when the client has params
        # (the review link's ``?review=``).
        path, _, query = self.url(t, **made).partition("?")
        params = dict(parse_qsl(query))
        return c.request(self.method, path, params=params, content=self.content, **body)


def _get(template: str) -> Call:
    return Call("GET", template)


def _head(template: str) -> Call:
    return Call("HEAD", template)


DRAFT = "dandisets/{id}/versions/draft/"
ASSET = DRAFT + "assets/{asset}/"
ZARR = "zarr/{zarr}/"
#: (name, request, status for a caller who may read)
READS: list[tuple[str, Call, int]] = [
    ("dandiset", _get("dandisets/{id}/"), 200),
    ("versions", _get("dandisets/{id}/versions/"), 200),
    ("version metadata", _get(DRAFT), 200),
    ("version info", _get(DRAFT + "info/"), 200),
    ("assets", _get(DRAFT + "assets/"), 200),
    ("assets with metadata", _get(DRAFT + "assets/?metadata=true"), 200),
    ("asset folders", _get(DRAFT + "assets/paths/"), 200),
    ("asset metadata", _get(ASSET), 200),
    ("asset info", _get(ASSET + "info/"), 200),
    ("asset validation", _get(ASSET + "validation/"), 200),
    ("asset download", _get(ASSET + "download/"), 302),
    ("asset download (HEAD)", _head(ASSET + "download/"), 302),
    ("asset index (not HDF5)", _get(ASSET + "index/"), 404),
    ("top asset metadata", _get("assets/{asset}/"), 200),
    ("top asset info", _get("assets/{asset}/info/"), 200),
    ("top asset info (HEAD)", _head("assets/{asset}/info/"), 200),
    ("top asset download", _get("assets/{asset}/download/"), 302),
    ("top asset download (HEAD)", _head("assets/{asset}/download/"), 302),
    ("top asset index (not HDF5)", _get("assets/{asset}/index/"), 404),
    ("index at a path (not HDF5)", _get(DRAFT + "index/?path={path}"), 404),
    ("index at a path, default version", _get("dandisets/{id}/index/?path={path}"), 404),
    ("owners", _get("dandisets/{id}/users/"), 200),
    ("files table", _get(DRAFT + "tables/files/"), 200),
    ("files table (HEAD)", _head(DRAFT + "tables/files/"), 200),
    ("manifest (a draft has none)", _get(DRAFT + "manifests/assets.yaml"), 404),
    ("manifest (HEAD)", _head(DRAFT + "manifests/assets.yaml"), 404),
    ("zarr", _get(ZARR), 200),
    ("zarr files", _get(ZARR + "files/"), 200),
    ("zarr files (HEAD)", _head(ZARR + "files/"), 200),
    ("zarr file download", _get(ZARR + "files/?prefix=a/0&download=1"), 302),
    ("zarr files as tar", _get(ZARR + "archive/"), 200),
]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "send", "ok"), READS, ids=[r[0] for r in READS])
def test_read(world: World, role: str, state: str, name: str, send: Call, ok: int) -> None:
    with world.api(role, state) as c:
        r = send(c, world, world.targets[state])
    assert r.status_code == expected_read(role, state, ok), (name, r.text[:300])
    document(world.archive.api_url).check(r)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
def test_blob_urls(world: World, role: str, state: str) -> None:
    """An unsigned blob URL works for an open blob only; the signed URL the download
    endpoint hands out works for whoever may read the asset."""
    target = world.targets[state]
    with world.api(role, state) as c:
        unsigned = httpx.get(target.blob_url)
        assert unsigned.status_code == (200 if state == "open" else 404)
        r = c.get(f"assets/{target.asset_id}/download/")
        if r.status_code == 302:
            signed = httpx.get(r.headers["location"])
            assert signed.status_code == 200 and len(signed.content) == 1000
        assert r.status_code == expected_read(role, state, 302)
        document(world.archive.api_url).check(r)
        # The blob's own index route reads no caller: what an unsigned URL may read. Not
        # HDF5 (no index) when open; for an embargoed blob, no word that it exists.
        index = c.get(f"blobs/{target.blob_id}/index/")
        assert index.status_code == 404, index.text
        assert ("x-neuropil-index-status" in index.headers) == (state == "open")
        document(world.archive.api_url).check(index)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
def test_zarr_file_urls(world: World, role: str, state: str) -> None:
    """A Zarr file's download redirect leads to its bytes, with no credentials, for whoever
    may read it: a signed URL when embargoed (a review link's ``?review=`` would not survive a
    redirect to the key URL), the key URL when open. The key URL reads the caller as every API
    read does, a review link's token from its header too (``open_zarr``)."""
    target = world.targets[state]
    with world.api(role, state) as c:
        r = c.get(f"zarr/{target.zarr_id}/files/", params={"prefix": "a/0", "download": "1"})
        assert r.status_code == expected_read(role, state, 302), r.text[:300]
        document(world.archive.api_url).check(r)
    if r.status_code == 302:
        location = r.headers["location"]
        assert ("X-Np-Signature" in location) == (state == "embargoed")
        assert httpx.get(location).content == b"zero"
    token = world.tokens.get(role)
    if role == "link":
        headers = {REVIEW_HEADER: target.link_token}
    else:
        headers = {"Authorization": f"token {token}"} if token else {}
    key = httpx.get(f"{world.archive.url}/zarr/{target.zarr_id}/a/0", headers=headers)
    assert key.status_code == expected_read(role, state, 200), key.text[:300]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
@BOTH
def test_blob_by_digest(world: World, role: str, state: str) -> None:
    """An embargoed blob is "not found" for whoever may not read it (no 401/403: its
    existence is not told)."""
    body = {"algorithm": "dandi:dandi-etag", "value": world.targets[state].etag}
    with world.api(role, state) as c:
        r = c.post("blobs/digest/", json=body)
    assert r.status_code == (200 if state == "open" or role in READERS else 404)
    document(world.archive.api_url).check(r)


# -- writes ----------------------------------------------------------------------------------
def _same_metadata(w: World, t: Target) -> dict[str, Any]:
    with client(w.archive.api_url, w.tokens["owner"]) as owner:
        stored = owner.get(f"dandisets/{t.identifier}/versions/draft/").json()
    return {"name": NAME, "metadata": stored}


def _new_upload(w: World, t: Target) -> dict[str, Any]:
    data = random_bytes(64)
    return {
        "contentSize": len(data),
        "digest": {"algorithm": "dandi:dandi-etag", "value": etag_of(data)},
        "dandiset": t.identifier,
    }


def _unknown_blob(w: World, t: Target) -> dict[str, Any]:
    return {"metadata": {"path": "new/file.bin"}, "blob_id": str(uuid.uuid4())}


def _fresh_zarr(w: World, t: Target) -> dict[str, str]:
    """A Zarr of the owner's with one file, for a call that ends it (finalize, delete)."""
    with client(w.archive.api_url, w.tokens["owner"]) as owner:
        zarr_id = zarrs.create_zarr(owner, t.identifier, f"{uuid.uuid4()}.zarr")
        zarrs.upload_files(owner, zarr_id, {"a/0": b"zero"})
    return {"fresh_zarr": zarr_id}


def _fresh_upload(w: World, t: Target) -> dict[str, str]:
    """An upload in progress of the owner's, for a call that cancels it."""
    with client(w.archive.api_url, w.tokens["owner"]) as owner:
        return {"fresh_upload": start_upload(owner, t.identifier, random_bytes(64)).upload_id}


def _send(method: str, template: str, body: Body | None = None, **kwargs: Any) -> Call:
    return Call(method, template, body, **kwargs)


EMPTY_TAR = bytes(1024)  # the end-of-archive marker alone: no member, nothing written
NO_PARTS = {"parts": [{"part_number": 1, "size": 1, "etag": "0" * 32}]}
#: (name, request, status for an owner or admin): each leaves the dandiset as it was, or
#: acts on an object made for it alone.
WRITES: list[tuple[str, Call, int]] = [
    ("save unchanged metadata", _send("PUT", DRAFT, _same_metadata), 200),
    ("add an asset (unknown blob)", _send("POST", DRAFT + "assets/", _unknown_blob), 404),
    (
        "replace an asset (unknown id)",
        _send("PUT", DRAFT + "assets/{random}/", _unknown_blob),
        404,
    ),
    ("delete an asset (unknown id)", _send("DELETE", DRAFT + "assets/{random}/"), 404),
    ("delete the draft", _send("DELETE", DRAFT), 403),
    ("publish (invalid, or embargoed)", _send("POST", DRAFT + "publish/"), 400),
    (
        "set owners (unchanged)",
        _send("PUT", "dandisets/{id}/users/", lambda w, t: [{"username": w.names["owner"]}]),
        200,
    ),
    ("start an upload", _send("POST", "uploads/initialize/", _new_upload), 200),
    ("uploads in progress", _send("GET", "uploads/?dandiset={id}&etag={etag}"), 200),
    ("an upload's parts", _send("GET", "uploads/{upload}/"), 200),
    (
        "complete an upload (wrong part list)",
        _send("POST", "uploads/{upload}/complete/", lambda w, t: NO_PARTS),
        400,
    ),
    ("validate an upload (not complete)", _send("POST", "uploads/{upload}/validate/"), 400),
    ("cancel an upload", _send("DELETE", "uploads/{fresh_upload}/", fresh=_fresh_upload), 204),
    ("list reviewers", _send("GET", "dandisets/{id}/reviewers/"), 200),
    (
        "set reviewers (unchanged)",
        _send("PUT", "dandisets/{id}/reviewers/", lambda w, t: [{"username": w.names["reviewer"]}]),
        200,
    ),
    ("list review links", _send("GET", "dandisets/{id}/review-links/"), 200),
    ("create a review link", _send("POST", "dandisets/{id}/review-links/", lambda w, t: {}), 201),
    ("revoke a review link (unknown)", _send("DELETE", "dandisets/{id}/review-links/0/"), 404),
    (
        "create a Zarr",
        _send(
            "POST", "zarr/", lambda w, t: {"name": f"{uuid.uuid4()}.zarr", "dandiset": t.identifier}
        ),
        200,
    ),
    (
        "Zarr upload URLs",
        _send(
            "POST", ZARR + "files/", lambda w, t: [{"path": "b/0", "base64md5": zarrs.b64md5(b"")}]
        ),
        200,
    ),
    (
        "delete Zarr files (none there)",
        _send("DELETE", ZARR + "files/", lambda w, t: [{"path": "not/there"}]),
        400,  # "no file 'not/there'; nothing was deleted"
    ),
    ("Zarr files as tar (none)", _send("POST", ZARR + "archive/", content=EMPTY_TAR), 200),
    ("finalize a Zarr", _send("POST", "zarr/{fresh_zarr}/finalize/", fresh=_fresh_zarr), 204),
    ("delete a Zarr", _send("DELETE", "zarr/{fresh_zarr}/", fresh=_fresh_zarr), 204),
]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "send", "ok"), WRITES, ids=[w[0] for w in WRITES])
def test_write(world: World, role: str, state: str, name: str, send: Call, ok: int) -> None:
    with world.api(role, state) as c:
        r = send(c, world, world.targets[state])
    assert r.status_code == expected_owner_action(role, state, ok), (name, r.text[:300])
    document(world.archive.api_url).check(r)


def _fresh(world: World, state: str) -> Target:
    """A dandiset of its own for one destructive cell (no asset: nothing to wait for)."""
    with client(world.archive.api_url, world.tokens["owner"]) as owner:
        ident = (
            create_embargoed(owner, NAME) if state == "embargoed" else create_dandiset(owner, NAME)
        )
        grant(owner, ident, world.names["reviewer"])
        token = new_link(owner, ident)["token"]
    return Target(ident, "", "", "", "", str(token))


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
def test_delete_dandiset(world: World, role: str, state: str) -> None:
    target = _fresh(world, state)
    with world.api(role, state) as c:
        if role == "link":
            c.params = c.params.set("review", target.link_token)
        r = c.delete(f"dandisets/{target.identifier}/")
    assert r.status_code == expected_owner_action(role, state, 204), r.text
    document(world.archive.api_url).check(r)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
def test_unembargo(world: World, role: str, state: str) -> None:
    target = _fresh(world, state)
    with world.api(role, state) as c:
        if role == "link":
            c.params = c.params.set("review", target.link_token)
        r = c.post(f"dandisets/{target.identifier}/unembargo/")
    ok = 200 if state == "embargoed" else 400  # an open dandiset is not embargoed
    assert r.status_code == expected_owner_action(role, state, ok), r.text
    document(world.archive.api_url).check(r)


# -- what no dandiset decides -------------------------------------------------------------------
#: (name, request, status for anyone who may): the caller's account, creating a dandiset.
ACCOUNT_CALLS: list[tuple[str, Call, int]] = [
    ("instance info", _get("info/"), 200),
    ("the caller's token", _get("auth/token/"), 200),
    ("the caller's account", _get("users/me/"), 200),
    (
        "create a dandiset",
        _send("POST", "dandisets/", lambda w, t: {"name": NAME, "metadata": {}}),
        200,
    ),
]
#: Who may make each account call (anyone may read the instance's info).
ACCOUNT_CALLERS = {
    "instance info": set(ROLES),
    # Checking a key: an approved account's (an unapproved one is told it is not yet).
    "the caller's token": {"other", "owner", "admin", "reviewer"},
    # Who the caller is: any account, and a review link (as "Reviewer of <dandiset>").
    "the caller's account": set(ROLES) - {"anonymous"},
    "create a dandiset": {"other", "owner", "admin", "reviewer"},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "send", "ok"), ACCOUNT_CALLS, ids=[a[0] for a in ACCOUNT_CALLS])
def test_account_call(world: World, role: str, name: str, send: Call, ok: int) -> None:
    with world.api(role, "open") as c:
        r = send(c, world, world.targets["open"])
    expected = ok if role in ACCOUNT_CALLERS[name] else REFUSED[role]
    assert r.status_code == expected, (name, r.text[:300])
    document(world.archive.api_url).check(r)


# -- lists and searches ----------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
@BOTH
def test_listings(world: World, role: str) -> None:
    """An embargoed dandiset is listed only when asked for (``embargoed=true``, which needs
    a caller, or ``user=me``) and only to those who may read it; search hits likewise."""
    ident = world.targets["embargoed"].identifier
    reads = role in READERS

    def listed(c: httpx.Client, **params: str) -> bool | int:
        r = c.get("dandisets/", params={"page_size": "1000", **params})
        document(world.archive.api_url).check(r)
        if r.status_code != 200:
            return r.status_code
        return ident in {d["identifier"] for d in r.json()["results"]}

    with world.api(role, "embargoed") as c:
        assert listed(c) is False
        assert listed(c, embargoed="true") == (401 if role == "anonymous" else reads)
        assert listed(c, user="me") == (401 if role == "anonymous" else role == "owner")
        hits = c.get("search/", params={"q": ident}).json()["results"]
        assert (ident in {h["identifier"] for h in hits}) is reads
        zarrs_listed = c.get("zarr/", params={"dandiset": ident})
        document(world.archive.api_url).check(zarrs_listed)
        assert zarrs_listed.status_code == 200, zarrs_listed.text
        listed_zarrs = {z["zarr_id"] for z in zarrs_listed.json()["results"]}
        assert (world.targets["embargoed"].zarr_id in listed_zarrs) is reads
        r = c.get(f"dandisets/{world.targets['open'].identifier}/")
        assert r.status_code == 200


# -- web pages -------------------------------------------------------------------------------
def _web(world: World, role: str, state: str) -> WebClient:
    # One browser per account: setting a password again would end its earlier sessions.
    key = (role, state if role == "link" else "")
    if key in world.webs:
        return world.webs[key]
    web = WebClient(world.archive.url)
    if role == "link":
        r = web.get(f"/review/{world.targets[state].link_token}")
        assert r.status_code == 303, r.text
    elif role == "unapproved":
        r = web.sign_in(world.names["unapproved"])
        assert r.status_code == 303, r.text
    elif role != "anonymous":
        token = world.tokens[role]
        assert token is not None
        web.set_password(token)
    world.webs[key] = web
    return web


PAGE = "/dandiset/{id}/draft"
#: (name, path, only owners)
PAGES = [
    ("landing page", PAGE, False),
    ("files", PAGE + "/files", False),
    ("file page", PAGE + "/files?location={path}", False),
    ("citation", PAGE + "/citation.bib", False),
    ("metadata editor", PAGE + "/metadata", True),
    ("reviewers page", "/dandiset/{id}/reviewers", True),
    ("Zarr file page", PAGE + "/files?location=" + ZARR_PATH, False),
]


def expected_form(role: str, ok: int) -> int:
    """An owner's action sent from a web form. A refusal is a page: 403 to a signed-in
    account, 401 "please sign in" without one (a POST is not redirected: the form's
    fields would be lost)."""
    if role in OWNERS:
        return ok
    return 401 if role in ("anonymous", "link") else 403


def expected_page(role: str, state: str, owners_only: bool) -> int:
    allowed = role in OWNERS if owners_only else (state == "open" or role in READERS)
    if allowed:
        return 200
    # No signed-in user (an anonymous visitor, a review link on an owner page): sign in.
    signed_in = role not in ("anonymous", "link")
    return 403 if signed_in else 303


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "path", "owners_only"), PAGES, ids=[p[0] for p in PAGES])
def test_page(world: World, role: str, state: str, name: str, path: str, owners_only: bool) -> None:
    target = world.targets[state]
    web = _web(world, role, state)
    r = web.get(path.format(id=target.identifier, path=target.path))
    assert r.status_code == expected_page(role, state, owners_only), (name, r.text[:300])
    if r.status_code == 303:
        assert "/login?next=" in r.headers["location"]
    if r.status_code == 200 and name == "landing page":
        assert (state == "embargoed") == ("Embargoed until" in r.text)


#: The web app's downloads, which know the reader by the session (the links of an embargoed
#: dandiset's pages point at them): (name, method, path, the bytes' length).
WEB_DOWNLOADS = [
    ("file download", "GET", PAGE + "/files/{asset}/download", 1000),
    ("file download (HEAD)", "HEAD", PAGE + "/files/{asset}/download", 1000),
    ("Zarr file", "GET", PAGE + "/files/{zarr_asset}/zarr/a/0", 4),
    ("Zarr file (HEAD)", "HEAD", PAGE + "/files/{zarr_asset}/zarr/a/0", 4),
]


def expected_web_download(role: str, state: str, method: str) -> int:
    if state == "open" or role in READERS:
        return 302
    if role == "anonymous":  # asked to sign in; HEAD has no page to send back to
        return 303 if method == "GET" else 401
    return 403


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("name", "method", "path", "size"), WEB_DOWNLOADS, ids=[d[0] for d in WEB_DOWNLOADS]
)
def test_web_download(
    world: World, role: str, state: str, name: str, method: str, path: str, size: int
) -> None:
    """A 302 to bytes that need no cookie (a signed URL when embargoed), for whoever reads
    the pages."""
    target = world.targets[state]
    web = _web(world, role, state)
    url = path.format(id=target.identifier, asset=target.asset_id, zarr_asset=target.zarr_asset)
    r = web.http.request(method, url)
    assert r.status_code == expected_web_download(role, state, method), (name, text(r.text)[:300])
    if r.status_code == 302:
        got = httpx.get(r.headers["location"], timeout=60.0)
        assert got.status_code == 200 and len(got.content) == size, (name, got.text[:300])


def _form_token(web: WebClient) -> str:
    """The session's CSRF token, from a page every role sees with a form on it."""
    for page in ("/", "/login"):
        found = CSRF_RE.search(web.get(page).text)
        if found:
            return found.group(1)
    raise AssertionError("no page with a form for this session")


def _fresh_ids(world: World, state: str) -> dict[str, str]:
    """A dandiset of its own with one file (``fresh``, ``fresh_asset``), for one form that
    changes it (a rename, a deletion)."""
    target = _fresh(world, state)
    with client(world.archive.api_url, world.tokens["owner"]) as owner:
        asset = upload_asset(owner, target.identifier, "a/file.bin", random_bytes(100))
    return {"fresh": target.identifier, "fresh_asset": asset["asset_id"]}


UNEMBARGO = -1  # 303 when embargoed, 400 when open
#: (name, form action, its fields, status for an owner or admin): the web's writes, each
#: leaving the dandiset as it was (an unknown name or id, a form that does not parse), or
#: acting on a dandiset made for it alone ({fresh}).
FORMS: list[tuple[str, str, dict[str, str], int]] = [
    ("save metadata (a form that does not parse)", "/dandiset/{id}/draft/metadata", {}, 400),
    ("add an owner (unknown)", "/dandiset/{id}/owners/add", {"username": "nobody-x"}, 404),
    ("remove an owner (unknown)", "/dandiset/{id}/owners/remove", {"username": "nobody-x"}, 404),
    ("publish (invalid, or embargoed)", "/dandiset/{id}/draft/publish", {}, 400),
    (
        "rename a file",
        "/dandiset/{fresh}/draft/files/rename",
        {"asset_id": "{fresh_asset}", "new_path": "moved/file.bin"},
        303,
    ),
    (
        "delete a file (unknown)",
        "/dandiset/{id}/draft/files/delete",
        {"asset_id": "{random}", "path": "x/y.bin"},
        404,
    ),
    ("add a reviewer (unknown)", "/dandiset/{id}/reviewers/add", {"username": "nobody-x"}, 400),
    (
        "remove a reviewer (unknown)",
        "/dandiset/{id}/reviewers/remove",
        {"username": "nobody-x"},
        404,
    ),
    ("create a review link", "/dandiset/{id}/review-links/create", {"label": "m"}, 201),
    ("revoke a review link (unknown)", "/dandiset/{id}/review-links/0/revoke", {}, 404),
    ("delete the dandiset", "/dandiset/{fresh}/delete", {"confirm": "{fresh}"}, 303),
    # An open dandiset has no embargo to end: 400 to its owners.
    ("end the embargo", "/dandiset/{fresh}/unembargo", {"confirm": "{fresh}"}, UNEMBARGO),
]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "action", "data", "ok"), FORMS, ids=[f[0] for f in FORMS])
def test_form(
    world: World, role: str, state: str, name: str, action: str, data: dict[str, str], ok: int
) -> None:
    target = world.targets[state]
    ids = {"id": target.identifier, "asset": target.asset_id, "random": str(uuid.uuid4())}
    if "{fresh}" in action:
        ids |= _fresh_ids(world, state)
    web = _web(world, role, state)
    fields = {k: v.format(**ids) for k, v in data.items()}
    r = web.http.post(action.format(**ids), data={"csrf_token": _form_token(web), **fields})
    if ok == UNEMBARGO:
        ok = 303 if state == "embargoed" else 400
    assert r.status_code == expected_form(role, ok), (name, text(r.text)[:300])


#: Web forms no dandiset decides: (name, action, fields, who may, their status).
ACCOUNT_FORMS: list[tuple[str, str, dict[str, str], set[str], int]] = [
    (
        "create a dandiset",
        "/dandiset/create",
        {"name": NAME, "description": "d", "license": "spdx:CC0-1.0"},
        {"other", "owner", "admin", "reviewer"},
        303,
    ),
    ("approve an account (unknown)", "/admin/users/nobody-x/approve", {}, {"admin"}, 404),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("name", "action", "data", "allowed", "ok"), ACCOUNT_FORMS, ids=[f[0] for f in ACCOUNT_FORMS]
)
def test_account_form(
    world: World,
    role: str,
    name: str,
    action: str,
    data: dict[str, str],
    allowed: set[str],
    ok: int,
) -> None:
    web = _web(world, role, "open")
    r = web.http.post(action, data={"csrf_token": _form_token(web), **data})
    refused = 401 if role in ("anonymous", "link") else 403
    assert r.status_code == (ok if role in allowed else refused), (name, text(r.text)[:300])


# -- every operation has its cells ---------------------------------------------------------------
#: Calls of the tests above that are not in READS, WRITES or ACCOUNT_CALLS.
OTHER_CELLS = [
    Call("GET", "blobs/{blob}/index/"),  # test_blob_urls
    Call("POST", "blobs/digest/"),  # test_blob_by_digest
    Call("DELETE", "dandisets/{id}/"),  # test_delete_dandiset
    Call("POST", "dandisets/{id}/unembargo/"),  # test_unembargo
    Call("GET", "dandisets/"),  # test_listings
    Call("GET", "search/"),  # test_listings
    Call("GET", "zarr/"),  # test_listings
]
#: Operations no cell calls, and where their permissions are asserted instead.
ELSEWHERE = {
    # A cell would replace the token every later cell of that role sends.
    ("POST", "/api/auth/token/"): "tests/api/test_auth.py (token refresh), test_schemathesis.py",
}


def test_every_operation_of_the_api_has_its_cells(world: World) -> None:
    """The matrix covers the API the document describes: a new route gets its cells (or a
    reason here)."""
    doc = document(world.archive.api_url)
    placeholder = Target("000001", str(uuid.uuid4()), "a", "0" * 32, "", "t", "z", "u", "e", "b")
    calls = [c for table in (READS, WRITES, ACCOUNT_CALLS) for _, c, _ in table] + OTHER_CELLS
    made = {"fresh_zarr": "z", "fresh_upload": "u"}  # what ``fresh`` makes, by name
    called = {
        doc.operation(c.method, "/api/" + c.url(placeholder, **made).partition("?")[0])[0]
        for c in calls
    }
    operations = {(m.upper(), path) for path, ops in doc.doc["paths"].items() for m in ops}
    assert operations - called == set(ELSEWHERE), sorted(operations - called)
