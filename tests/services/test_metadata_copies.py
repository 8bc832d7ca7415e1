"""The metadata the API answers with is a copy: changing what a serializer returns, or the
document a write strips, never changes the stored document it came from."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from neuropil.db.models import Dandiset, EmbargoStatus, Version
from neuropil.services.metadata import (
    strip_asset_metadata,
    strip_version_metadata,
    version_metadata,
)
from neuropil.services.urls import Urls
from neuropil.storage import MemoryBlobStore

STORED: dict[str, Any] = {
    "name": "A dandiset",
    "contributor": [
        {"name": "Doe, Jane", "roleName": ["dcite:ContactPerson"], "schemaKey": "Person"}
    ],
    "access": [{"schemaKey": "AccessRequirements", "status": "dandi:OpenAccess"}],
    "keywords": ["mouse", {"nested": [1, 2.5, None, True, 123456789012345678901234]}],
}
SUMMARY: dict[str, Any] = {"schemaKey": "AssetsSummary", "species": [{"name": "Mouse"}]}


def _version() -> tuple[Version, Dandiset]:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    dandiset = Dandiset(id=7, embargo_status=EmbargoStatus.OPEN, created=now, modified=now)
    version = Version(
        version="draft",
        name="A dandiset",
        metadata_=json.loads(json.dumps(STORED)),
        assets_summary=json.loads(json.dumps(SUMMARY)),
        doi=None,
    )
    return version, dandiset


def _mutate(value: Any) -> None:
    """Change every dict and list inside ``value``."""
    if isinstance(value, dict):
        for v in value.values():
            _mutate(v)
        value["changed"] = True
    elif isinstance(value, list):
        for v in value:
            _mutate(v)
        value.append("changed")


def test_the_version_metadata_answered_is_a_deep_copy_of_the_stored_one() -> None:
    version, dandiset = _version()
    urls = Urls("http://127.0.0.1:1", MemoryBlobStore())
    md = version_metadata(version, dandiset, urls, instance_name="NEUROPIL")
    assert md["contributor"] == STORED["contributor"]
    assert md["keywords"] == STORED["keywords"]
    assert md["assetsSummary"] == SUMMARY
    _mutate(md)
    assert version.metadata_ == STORED
    assert version.assets_summary == SUMMARY


def test_stripped_documents_are_deep_copies() -> None:
    for strip in (strip_version_metadata, strip_asset_metadata):
        stored = json.loads(json.dumps(STORED))
        stripped = strip(stored)
        assert stripped["keywords"] == STORED["keywords"]
        _mutate(stripped)
        assert stored == STORED
