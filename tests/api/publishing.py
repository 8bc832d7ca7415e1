"""Helpers for validation and publishing tests: valid metadata, waiting for statuses."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import (
    add_asset,
    create_dandiset,
    draft_url,
    random_bytes,
    upload_blob,
    wait_for,
)
from tests.support.dandisets import publishable_metadata

DANDISET_METADATA = publishable_metadata("A dandiset made by neuropil's publishing tests.")


def asset_metadata(**extra: Any) -> dict[str, Any]:
    """The client-side fields a valid asset needs (the server computes the rest)."""
    return {"schemaKey": "Asset", "encodingFormat": "application/octet-stream", **extra}


def info(c: httpx.Client, ident: str, version: str = "draft") -> dict[str, Any]:
    r = c.get(f"dandisets/{ident}/versions/{version}/info/")
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def wait_until_valid(c: httpx.Client, ident: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll as the official client's ``wait_until_valid`` does."""

    def ready() -> dict[str, Any] | None:
        i = info(c, ident)
        return i if i["status"] == "Valid" and not i["asset_validation_errors"] else None

    return wait_for(ready, timeout=timeout, every=0.05)


def wait_status(
    c: httpx.Client, ident: str, *statuses: str, timeout: float = 30.0
) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        i = info(c, ident)
        return i if i["status"] in statuses else None

    return wait_for(reached, timeout=timeout, every=0.05)


def publishable_dandiset(c: httpx.Client, files: dict[str, int] | None = None) -> str:
    """A dandiset with valid metadata and valid assets (random bytes), validated."""
    ident = create_dandiset(c, metadata=DANDISET_METADATA)
    for path, size in (files or {"sub-01/data.bin": 1000, "notes.txt": 120}).items():
        blob = upload_blob(c, ident, random_bytes(size))
        r = add_asset(c, ident, path, blob, asset_metadata())
        assert r.status_code == 200, r.text
    wait_until_valid(c, ident)
    return ident


def publish(c: httpx.Client, ident: str, **body: Any) -> httpx.Response:
    return c.post(f"{draft_url(ident)}publish/", json=body or None)


def publish_and_wait(c: httpx.Client, ident: str, **body: Any) -> str:
    """Publish the draft and wait for the job; returns the new version's name."""
    r = publish(c, ident, **body)
    assert r.status_code == 202, r.text
    wait_status(c, ident, "Published")
    versions = c.get(f"dandisets/{ident}/versions/", params={"order": "-created"}).json()
    name = versions["results"][0]["version"]
    assert isinstance(name, str) and name != "draft"
    return name
