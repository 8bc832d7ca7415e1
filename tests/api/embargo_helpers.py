"""Embargoed dandisets, reviewers and the accounts of each role, over HTTP only."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from neuropil.db.engine import normalize_url, sqlite_url
from tests.api.helpers import client, create_dandiset, unique_name, wait_for
from tests.conftest import Archive
from tests.support.server import ServerProcess
from tests.support.zarrs import create_zarr, finalize, local_files, upload_files
from tests.web.helpers import WebClient, text


def create_embargoed(
    c: httpx.Client,
    name: str | None = None,
    metadata: dict[str, Any] | None = None,
    **params: str,
) -> str:
    """A new embargoed dandiset owned by ``c``'s user (DANDI's ``?embargo=true``)."""
    r = c.post(
        "dandisets/",
        params={"embargo": "true", **params},
        json={"name": name or unique_name("emb"), "metadata": metadata or {}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["embargo_status"] == "EMBARGOED"
    identifier = r.json()["identifier"]
    assert isinstance(identifier, str)
    return identifier


def new_link(c: httpx.Client, identifier: str, **body: Any) -> dict[str, Any]:
    """A new review link of ``identifier`` (its JSON, token included)."""
    r = c.post(f"dandisets/{identifier}/review-links/", json=body)
    assert r.status_code == 201, r.text
    found: dict[str, Any] = r.json()
    return found


def review_zarrs(archive: Archive, folder: Path, label: str) -> tuple[str, str, str]:
    """The Zarr folder uploaded by the archive's user to an embargoed dandiset and to an open
    one: (the embargoed Zarr's id, the open Zarr's id, a review link's token for the first)."""
    files = local_files(folder)
    with client(archive.api_url, archive.user_token) as alice:
        made = []
        for ident in (create_embargoed(alice, label), create_dandiset(alice)):
            zarr_id = create_zarr(alice, ident, folder.name)
            upload_files(alice, zarr_id, files)
            finalize(alice, zarr_id)
            made.append((ident, zarr_id))
        token = str(new_link(alice, made[0][0], label=label)["token"])
    return made[0][1], made[1][1], token


def grant(c: httpx.Client, identifier: str, *usernames: str) -> None:
    r = c.put(f"dandisets/{identifier}/reviewers/", json=[{"username": u} for u in usernames])
    assert r.status_code == 200, r.text


def link_client(archive: Archive, token: str) -> httpx.Client:
    """A client with no ``Authorization`` that reads through a review link."""
    c = client(archive.api_url)
    c.params = c.params.set("review", token)
    return c


def username(c: httpx.Client) -> str:
    name = c.get("users/me/").json()["username"]
    assert isinstance(name, str)
    return name


def unapproved_account(archive: Archive) -> tuple[WebClient, str, str]:
    """A signed-up, not yet approved account: (its signed-in browser, name, API key)."""
    web = WebClient(archive.url)
    name = unique_name("pending").replace("-", "")
    r = web.sign_up(name)
    assert r.status_code == 303, text(r.text)[:300]
    return web, name, web.new_key()


def wait_unembargoed(c: httpx.Client, identifier: str) -> dict[str, Any]:
    def opened() -> dict[str, Any] | None:
        r = c.get(f"dandisets/{identifier}/")
        if r.status_code != 200:  # an anonymous reader waits for the 401 to go
            return None
        d: dict[str, Any] = r.json()
        return d if d["embargo_status"] == "OPEN" else None

    return wait_for(opened, timeout=60)


def set_end_date(server: ServerProcess, identifier: str, day: date) -> None:
    """Move an embargo's end date (the API refuses a date that has passed)."""
    url = server.database_url or sqlite_url(server.data_dir / "neuropil.db")
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE dandisets SET embargo_end_date = :d WHERE id = :i"),
                {"d": day, "i": int(identifier)},
            )
    finally:
        engine.dispose()
