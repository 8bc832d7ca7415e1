"""Manifests of published versions: written to the blob store at publish, served by the API."""

from __future__ import annotations

import json

import httpx
import yaml

from tests.api.helpers import all_pages
from tests.api.publishing import publish_and_wait, publishable_dandiset
from tests.conftest import Archive

NAMES = ("dandiset.yaml", "assets.yaml", "dandiset.jsonld", "assets.jsonld")


def test_published_versions_have_manifests(
    archive: Archive, alice: httpx.Client, anon: httpx.Client
) -> None:
    files = {"sub-01/a.bin": 100, "sub-02/b.bin": 200, "c.bin": 300}
    ident = publishable_dandiset(alice, files)
    version = publish_and_wait(alice, ident)
    base = f"dandisets/{ident}/versions/{version}/"
    metadata = anon.get(base).json()
    assets = {a["asset_id"] for a in all_pages(anon, f"{base}assets/")}
    bodies = {}
    for name in NAMES:
        r = anon.get(f"{base}manifests/{name}")
        assert r.status_code == 200, r.text
        assert r.headers["etag"]
        bodies[name] = r.content
        head = anon.head(f"{base}manifests/{name}")
        assert head.status_code == 200
        assert int(head.headers["content-length"]) == len(r.content)
    dandiset_yaml = yaml.safe_load(bodies["dandiset.yaml"])
    assert dandiset_yaml == json.loads(bodies["dandiset.jsonld"])
    assert dandiset_yaml["identifier"] == f"NEUROPIL:{ident}"
    assert dandiset_yaml["version"] == version
    assert dandiset_yaml["datePublished"] == metadata["datePublished"]
    listed = yaml.safe_load(bodies["assets.yaml"])
    assert listed == json.loads(bodies["assets.jsonld"])
    assert {a["identifier"] for a in listed} == assets
    assert sorted(a["path"] for a in listed) == sorted(files)
    assert all(a["publishedBy"]["schemaKey"] == "PublishActivity" for a in listed)
    assert all(a["digest"]["dandi:sha2-256"] for a in listed)
    # manifestLocation points at assets.yaml, and that URL serves it.
    [location] = metadata["manifestLocation"]
    assert location == f"{archive.api_url}/{base}manifests/assets.yaml"
    assert httpx.get(location).content == bodies["assets.yaml"]
    # In the blob store, under DANDI's key layout (the local backend keeps files).
    if archive.backend == "sqlite":
        stored = archive.server.data_dir / "store" / "objects" / "dandisets" / ident / version
        assert sorted(p.name for p in stored.iterdir()) == sorted(NAMES)


def test_manifest_errors(alice: httpx.Client, anon: httpx.Client) -> None:
    ident = publishable_dandiset(alice)
    r = anon.get(f"dandisets/{ident}/versions/draft/manifests/assets.yaml")
    assert r.status_code == 404
    assert "published" in r.text
    version = publish_and_wait(alice, ident)
    base = f"dandisets/{ident}/versions/{version}/manifests/"
    assert anon.get(f"{base}secrets.txt").status_code == 404
    assert anon.get(f"{base}assets.yaml/").status_code == 200
    assert (
        anon.get(f"dandisets/{ident}/versions/0.200101.0000/manifests/assets.yaml").status_code
        == 404
    )
    assert anon.get("dandisets/999999/versions/draft/manifests/assets.yaml").status_code == 404
    assert anon.get(f"dandisets/{ident}/versions/draft/").json()["manifestLocation"] == [
        f"{str(anon.base_url).rstrip('/')}/dandisets/{ident}/versions/draft/assets/"
    ]
