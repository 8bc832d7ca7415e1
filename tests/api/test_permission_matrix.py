"""Who may do what, cell by cell: every read and write endpoint of the API, and the main web
pages, for each role, on an open and on an embargoed dandiset (issue 16).

Roles: ``anonymous``; ``unapproved`` (signed up, not approved); ``other`` (approved, owns
nothing); ``owner``; ``admin``; ``reviewer`` (a named reviewer: an approved account with a
grant); ``link`` (a review link's token, no ``Authorization``). One server, one set of
accounts and dandisets; each cell asserts its exact status. Writes are made so that an
allowed caller changes nothing (an unknown asset id, unchanged metadata, ...), except the
two destructive ones, which get a fresh dandiset per cell.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

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
    unique_name,
    upload_blob,
    wait_for,
)
from tests.api.publishing import asset_metadata, wait_status
from tests.conftest import Archive
from tests.web.helpers import WebClient

ROLES = ("anonymous", "unapproved", "other", "owner", "admin", "reviewer", "link")
STATES = ("open", "embargoed")
#: Who reads an embargoed dandiset; everyone reads an open one.
READERS = frozenset({"owner", "admin", "reviewer", "link"})
#: Who changes a dandiset.
OWNERS = frozenset({"owner", "admin"})
#: What a role that may not is answered: anonymous callers are asked to authenticate.
REFUSED = {role: 401 if role == "anonymous" else 403 for role in ROLES}
NAME = "matrix dandiset"


@dataclass
class Target:
    """A dandiset of the matrix: one asset, a named reviewer and a review link."""

    identifier: str
    asset_id: str
    path: str
    etag: str
    blob_url: str
    link_token: str


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
    # Settle what the cells read: the asset valid (hashed), its index verdict known, the
    # draft Invalid (its metadata is incomplete), so a publish attempt answers 400.
    url = f"dandisets/{ident}/versions/draft/assets/{asset['asset_id']}/"
    wait_for(lambda: world_owner.get(f"{url}validation/").json()["status"] == "Valid")
    wait_for(lambda: world_owner.get(f"{url}index/").status_code != 503)
    wait_status(world_owner, ident, "Invalid")
    blob_url = next(u for u in asset["metadata"]["contentUrl"] if "/store/" in u)
    return Target(ident, asset["asset_id"], path, etag_of(data), blob_url, str(token))


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


# -- reads -----------------------------------------------------------------------------------
Request = Callable[[httpx.Client, Target], httpx.Response]


def _get(template: str) -> Request:
    def send(c: httpx.Client, t: Target) -> httpx.Response:
        return c.get(template.format(id=t.identifier, asset=t.asset_id))

    return send


def _head(template: str) -> Request:
    def send(c: httpx.Client, t: Target) -> httpx.Response:
        return c.head(template.format(id=t.identifier, asset=t.asset_id))

    return send


DRAFT = "dandisets/{id}/versions/draft/"
ASSET = DRAFT + "assets/{asset}/"
#: (name, request, status for a caller who may read)
READS: list[tuple[str, Request, int]] = [
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
    ("asset index (not HDF5)", _get(ASSET + "index/"), 404),
    ("top asset metadata", _get("assets/{asset}/"), 200),
    ("top asset info", _get("assets/{asset}/info/"), 200),
    ("top asset download", _get("assets/{asset}/download/"), 302),
    ("top asset download (HEAD)", _head("assets/{asset}/download/"), 302),
    ("top asset index (not HDF5)", _get("assets/{asset}/index/"), 404),
    ("owners", _get("dandisets/{id}/users/"), 200),
    ("files table", _get(DRAFT + "tables/files/"), 200),
    ("manifest (a draft has none)", _get(DRAFT + "manifests/assets.yaml"), 404),
]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "send", "ok"), READS, ids=[r[0] for r in READS])
def test_read(world: World, role: str, state: str, name: str, send: Request, ok: int) -> None:
    with world.api(role, state) as c:
        r = send(c, world.targets[state])
    assert r.status_code == expected_read(role, state, ok), (name, r.text[:300])


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


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
def test_blob_by_digest(world: World, role: str, state: str) -> None:
    """An embargoed blob is "not found" for whoever may not read it (no 401/403: its
    existence is not told)."""
    body = {"algorithm": "dandi:dandi-etag", "value": world.targets[state].etag}
    with world.api(role, state) as c:
        r = c.post("blobs/digest/", json=body)
    assert r.status_code == (200 if state == "open" or role in READERS else 404)


# -- writes ----------------------------------------------------------------------------------
def _send(method: str, template: str, body: Callable[[World, Target], Any] | None = None) -> Any:
    def send(c: httpx.Client, w: World, t: Target) -> httpx.Response:
        url = template.format(id=t.identifier, asset=t.asset_id, random=uuid.uuid4())
        return c.request(method, url, json=body(w, t) if body else None)

    return send


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


#: (name, request, status for an owner or admin): each leaves the dandiset as it was.
WRITES: list[tuple[str, Any, int]] = [
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
    ("list reviewers", _send("GET", "dandisets/{id}/reviewers/"), 200),
    (
        "set reviewers (unchanged)",
        _send("PUT", "dandisets/{id}/reviewers/", lambda w, t: [{"username": w.names["reviewer"]}]),
        200,
    ),
    ("list review links", _send("GET", "dandisets/{id}/review-links/"), 200),
    ("create a review link", _send("POST", "dandisets/{id}/review-links/", lambda w, t: {}), 201),
    ("revoke a review link (unknown)", _send("DELETE", "dandisets/{id}/review-links/0/"), 404),
]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "send", "ok"), WRITES, ids=[w[0] for w in WRITES])
def test_write(world: World, role: str, state: str, name: str, send: Any, ok: int) -> None:
    with world.api(role, state) as c:
        r = send(c, world, world.targets[state])
    assert r.status_code == expected_owner_action(role, state, ok), (name, r.text[:300])


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


# -- lists and searches ----------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_listings(world: World, role: str) -> None:
    """An embargoed dandiset is listed only when asked for (``embargoed=true``, which needs
    a caller, or ``user=me``) and only to those who may read it; search hits likewise."""
    ident = world.targets["embargoed"].identifier
    reads = role in READERS

    def listed(c: httpx.Client, **params: str) -> bool | int:
        r = c.get("dandisets/", params={"page_size": "1000", **params})
        if r.status_code != 200:
            return r.status_code
        return ident in {d["identifier"] for d in r.json()["results"]}

    with world.api(role, "embargoed") as c:
        assert listed(c) is False
        assert listed(c, embargoed="true") == (401 if role == "anonymous" else reads)
        assert listed(c, user="me") == (401 if role == "anonymous" else role == "owner")
        hits = c.get("search/", params={"q": ident}).json()["results"]
        assert (ident in {h["identifier"] for h in hits}) is reads
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
]


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
