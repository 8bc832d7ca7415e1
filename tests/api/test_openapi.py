"""The OpenAPI document declares the statuses and bodies the API really answers with (issue 16,
item 11 and "Proof"): the error responses of every route, and what is not JSON (manifests in
YAML and JSON-LD, tables in three formats, a Zarr tar stream, redirects, an index still being
built), and a schema for every JSON body. Answers the fuzzer (``test_schemathesis.py``) does
not reach are checked here against a real server, with :mod:`tests.support.openapi`: their
statuses, media types and JSON bodies.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.embargo_helpers import create_embargoed, username
from tests.api.helpers import (
    ETAG,
    Upload,
    add_asset,
    assets_url,
    draft_url,
    etag_of,
    initialize,
    put_parts,
    random_bytes,
)
from tests.api.publishing import publish, publish_and_wait, publishable_dandiset, wait_status
from tests.conftest import Archive
from tests.support import zarrs
from tests.support.openapi import Document, document

VERSION = "/api/dandisets/{identifier}/versions/{version}/"
MANIFEST = VERSION + "manifests/{name}"
OBJECT_STATUSES = {"200", "206", "304", "400", "401", "403", "404", "416"}
INDEX_STATUSES = {"200", "304", "400", "401", "403", "404", "503"}


@pytest.fixture(scope="module")
def doc(archive: Archive) -> dict[str, Any]:
    return document(archive.api_url).doc


def _codes(doc: dict[str, Any], path: str, method: str) -> set[str]:
    return set(doc["paths"][path][method]["responses"])


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, ops in doc["paths"].items() for m, op in ops.items()]


def test_no_route_declares_422(doc: dict[str, Any]) -> None:
    for method, path, operation in _operations(doc):
        assert "422" not in operation["responses"], (method, path)
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_errors_use_one_schema(doc: dict[str, Any]) -> None:
    error = doc["components"]["schemas"]["Error"]
    assert {"type": "string"} in [{"type": s.get("type")} for s in error["anyOf"]]
    for method, path, operation in _operations(doc):
        for code, response in operation["responses"].items():
            if not code.startswith(("4", "5")):
                continue
            if "content" not in response:  # a byte range outside an object: no body
                assert code == "416", (method, path, code)
                continue
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, code)


def test_each_operation_is_named_once(doc: dict[str, Any]) -> None:
    names = [op["operationId"] for _, _, op in _operations(doc)]
    assert len(names) == len(set(names))
    head = doc["paths"]["/api/assets/{asset_id}/download/"]["head"]["operationId"]
    assert head.endswith("_head")


@pytest.mark.parametrize(
    ("path", "method", "expected"),
    [
        ("/api/dandisets/", "post", {"200", "400", "401", "403", "413"}),
        ("/api/dandisets/{identifier}/", "get", {"200", "400", "401", "403", "404"}),
        ("/api/dandisets/{identifier}/users/", "get", {"200", "400", "401", "403", "404"}),
        ("/api/dandisets/{identifier}/users/", "put", {"200", "400", "401", "403", "404", "413"}),
        (
            VERSION + "assets/",
            "post",
            {"200", "400", "401", "403", "404", "405", "409", "413", "423"},
        ),
        (
            VERSION + "publish/",
            "post",
            {"202", "400", "401", "403", "404", "405", "409", "413", "423"},
        ),
        ("/api/assets/{asset_id}/", "get", {"200", "400", "401", "403", "404"}),
        ("/api/uploads/initialize/", "post", {"200", "400", "401", "403", "404", "409", "413"}),
        ("/api/uploads/{upload_id}/validate/", "post", {"200", "400", "401", "403", "404", "413"}),
        ("/api/uploads/", "get", {"200", "400", "401", "403", "404"}),
        (
            "/api/zarr/{zarr_id}/files/",
            "delete",
            {"204", "400", "401", "403", "404", "405", "413", "423"},
        ),
        ("/api/zarr/{zarr_id}/files/", "get", {"200", "302", "400", "401", "403", "404"}),
        (MANIFEST, "get", OBJECT_STATUSES),
        (MANIFEST, "head", OBJECT_STATUSES),
        (VERSION + "assets/{asset_id}/index/", "get", INDEX_STATUSES),
        ("/api/assets/{asset_id}/index/", "get", INDEX_STATUSES),
        ("/api/blobs/{blob_id}/index/", "get", INDEX_STATUSES - {"401", "403"}),
        ("/api/assets/{asset_id}/download/", "get", {"302", "400", "401", "403", "404"}),
        (VERSION + "tables/{name}/", "get", {"200", "304", "400", "401", "403", "404"}),
    ],
)
def test_real_status_codes_are_declared(
    doc: dict[str, Any], path: str, method: str, expected: set[str]
) -> None:
    assert _codes(doc, path, method) == expected


def _media(doc: dict[str, Any], path: str, method: str, code: str) -> set[str]:
    return set(doc["paths"][path][method]["responses"][code].get("content", {}))


def test_bodies_that_are_not_json_are_declared_as_what_they_are(doc: dict[str, Any]) -> None:
    manifests = {"application/x-yaml", "application/ld+json"}
    assert _media(doc, MANIFEST, "get", "200") == manifests
    assert _media(doc, MANIFEST, "get", "206") == manifests
    assert _media(doc, MANIFEST, "get", "304") == set()
    assert _media(doc, "/api/zarr/{zarr_id}/archive/", "get", "200") == {"application/x-tar"}
    assert _media(doc, VERSION + "tables/{name}/", "get", "200") == {
        "application/json",
        "text/csv; charset=utf-8",
        "application/vnd.apache.parquet",
    }
    for path in ("/api/assets/{asset_id}/download/", VERSION + "assets/{asset_id}/download/"):
        redirect = doc["paths"][path]["get"]["responses"]["302"]
        assert "content" not in redirect and "Location" in redirect["headers"]
    building = doc["paths"]["/api/assets/{asset_id}/index/"]["get"]["responses"]["503"]
    assert "Retry-After" in building["headers"]


def test_put_users_is_a_route(doc: dict[str, Any]) -> None:
    assert "put" in doc["paths"]["/api/dandisets/{identifier}/users/"]


def test_json_success_bodies_declare_their_schema(doc: dict[str, Any]) -> None:
    """No JSON success body is free-form (``{}``): a new route declares its own
    (``neuropil.api.schemas.ok``), so clients and the fuzzer can rely on the document."""
    free = [
        f"{method.upper()} {path} {code} {media}"
        for method, path, operation in _operations(doc)
        for code, response in operation["responses"].items()
        if code.startswith("2")
        for media, body in response.get("content", {}).items()
        if media.split(";")[0] == "application/json" and not body.get("schema")
    ]
    assert free == []


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if isinstance(value.get("$ref"), str):
            yield value["$ref"]
        for v in value.values():
            yield from _refs(v)
    elif isinstance(value, list):
        for v in value:
            yield from _refs(v)


def test_every_reference_names_a_component(doc: dict[str, Any]) -> None:
    prefix = "#/components/schemas/"
    refs = set(_refs(doc))
    assert all(r.startswith(prefix) for r in refs), refs
    assert {r.removeprefix(prefix) for r in refs} <= set(doc["components"]["schemas"])
    assert {"Dandiset", "VersionInfo", "AssetDetail", "Zarr", "Blob"} <= {
        r.removeprefix(prefix) for r in refs
    }


# -- real answers, checked against the document ----------------------------------------------
def _checked(check: Document, r: httpx.Response, status: int) -> httpx.Response:
    assert r.status_code == status, r.text[:300]
    check.check(r)
    return r


def test_manifests_answer_as_declared(archive: Archive, alice: httpx.Client) -> None:
    """YAML and JSON-LD, whole (200), a range (206), unchanged (304), a range past the end
    (416, no body)."""
    check = document(archive.api_url)
    ident = publishable_dandiset(alice)
    version = publish_and_wait(alice, ident)
    base = f"dandisets/{ident}/versions/{version}/manifests/"
    for name, media in [("dandiset.yaml", "application/x-yaml"), ("assets.jsonld", "ld+json")]:
        whole = _checked(check, alice.get(base + name), 200)
        assert media in whole.headers["content-type"]
        part = _checked(check, alice.get(base + name, headers={"Range": "bytes=0-9"}), 206)
        assert part.content == whole.content[:10]
        etag = whole.headers["etag"]
        _checked(check, alice.get(base + name, headers={"If-None-Match": etag}), 304)
        beyond = f"bytes={len(whole.content) + 10}-"
        _checked(check, alice.get(base + name, headers={"Range": beyond}), 416)
        _checked(check, alice.head(base + name), 200)
    _checked(check, alice.get(base + "nothing.yaml"), 404)


def test_tables_downloads_and_zarr_answer_as_declared(
    archive: Archive, alice: httpx.Client
) -> None:
    check = document(archive.api_url)
    ident = publishable_dandiset(alice)
    tables = f"dandisets/{ident}/versions/draft/tables/files/"
    for fmt in ("json", "csv", "parquet"):
        r = _checked(check, alice.get(tables, params={"format": fmt}), 200)
        _checked(
            check,
            alice.get(tables, params={"format": fmt}, headers={"If-None-Match": r.headers["etag"]}),
            304,
        )
    asset = alice.get(f"dandisets/{ident}/versions/draft/assets/").json()["results"][0]
    download = _checked(check, alice.get(f"assets/{asset['asset_id']}/download/"), 302)
    assert download.headers["location"]
    zarr_id = zarrs.create_zarr(alice, ident, "declared.zarr")
    zarrs.upload_files(alice, zarr_id, {"a/0": b"zero", ".zattrs": b"{}"})
    zarrs.finalize(alice, zarr_id)
    tar = _checked(check, alice.get(f"zarr/{zarr_id}/archive/"), 200)
    assert tar.headers["content-type"] == "application/x-tar"
    listing = _checked(check, alice.get(f"zarr/{zarr_id}/files/"), 200)
    assert {f["Key"] for f in listing.json()["results"]} == {"a/0", ".zattrs"}
    one = alice.get(f"zarr/{zarr_id}/files/", params={"prefix": "a/0", "download": "1"})
    assert _checked(check, one, 302).headers["location"]


# -- JSON bodies, checked against their schemas ----------------------------------------------
def test_upload_and_write_answers_fit_their_schemas(archive: Archive, alice: httpx.Client) -> None:
    """The upload protocol step by step (the fuzzer never completes an upload), then the
    writes of a draft: each answer's body against its declared schema."""
    check = document(archive.api_url)
    created = _checked(
        check, alice.post("dandisets/", json={"name": "shapes", "metadata": {}}), 200
    )
    ident = created.json()["identifier"]
    data = random_bytes(1500)
    started = _checked(check, initialize(alice, ident, data), 200).json()
    upload = Upload(started["upload_id"], started["parts"], etag_of(data), data)
    done = put_parts(upload)
    _checked(check, alice.get(f"uploads/{upload.upload_id}/"), 200)
    _checked(check, alice.get("uploads/", params={"dandiset": ident, "etag": upload.etag}), 200)
    fin = alice.post(f"uploads/{upload.upload_id}/complete/", json={"parts": done})
    fin = _checked(check, fin, 200).json()
    assert httpx.post(fin["complete_url"], content=fin["body"], timeout=60).status_code == 200
    blob = _checked(check, alice.post(f"uploads/{upload.upload_id}/validate/"), 200).json()
    assert blob["sha256"] is None or isinstance(blob["sha256"], str)
    digest = {"algorithm": ETAG, "value": upload.etag}
    _checked(check, alice.post("blobs/digest/", json=digest), 200)
    asset = _checked(check, add_asset(alice, ident, "sub-01/a.bin", blob["blob_id"]), 200).json()
    moved = {"blob_id": blob["blob_id"], "metadata": {"path": "sub-01/b.bin"}}
    _checked(check, alice.put(f"{assets_url(ident)}{asset['asset_id']}/", json=moved), 200)
    metadata = {"name": "shapes", "description": "d", "license": ["spdx:CC0-1.0"]}
    _checked(check, alice.put(draft_url(ident), json={"name": "shapes", "metadata": metadata}), 200)
    zarr = _checked(check, alice.post("zarr/", json={"name": "s.zarr", "dandiset": ident}), 200)
    files = [{"path": "a/0", "base64md5": zarrs.b64md5(b"zero")}]
    _checked(check, alice.post(f"zarr/{zarr.json()['zarr_id']}/files/", json=files), 200)


def test_read_answers_fit_their_schemas(
    archive: Archive, alice: httpx.Client, anon: httpx.Client
) -> None:
    """The reads of a dandiset with a published version and a draft: lists, pages after the
    first (an asset page's ``count`` is null), metadata, folders, Zarrs, search."""
    check = document(archive.api_url)
    ident = publishable_dandiset(alice)
    _checked(check, publish(alice, ident), 202)
    wait_status(alice, ident, "Published")
    listed = alice.get(f"dandisets/{ident}/versions/", params={"order": "-created"})
    version = _checked(check, listed, 200).json()["results"][0]["version"]
    asset_id = alice.get(assets_url(ident)).json()["results"][0]["asset_id"]
    zarr_id = zarrs.create_zarr(alice, ident, "read.zarr")
    reads = [
        "info/",
        "users/me/",
        "auth/token/",
        "dandisets/?user=me",
        f"dandisets/{ident}/",
        f"dandisets/{ident}/users/",
        f"assets/{asset_id}/",
        f"assets/{asset_id}/info/",
        f"zarr/?dandiset={ident}",
        f"zarr/{zarr_id}/",
        f"zarr/{zarr_id}/files/",
        "search/?q=neuropil",
    ]
    for v in (version, "draft"):
        base = f"dandisets/{ident}/versions/{v}/"
        reads += [
            base,
            base + "info/",
            base + "assets/?metadata=true",
            base + "assets/?page=2&page_size=1",
            base + "assets/paths/",
            base + "assets/paths/?path_prefix=sub-01",
            base + f"assets/{asset_id}/",
            base + f"assets/{asset_id}/info/",
            base + f"assets/{asset_id}/validation/",
        ]
    for url in reads:
        _checked(check, alice.get(url), 200)
    owners = _checked(check, anon.get(f"dandisets/{ident}/users/"), 200).json()
    assert all(o["email"] is None for o in owners)


def test_reviewer_answers_fit_their_schemas(
    archive: Archive, alice: httpx.Client, bob: httpx.Client
) -> None:
    check = document(archive.api_url)
    ident = create_embargoed(alice)
    _checked(check, alice.get(f"dandisets/{ident}/"), 200)
    _checked(check, alice.get(f"dandisets/{ident}/versions/draft/"), 200)
    named = [{"username": username(bob)}]
    _checked(check, alice.put(f"dandisets/{ident}/reviewers/", json=named), 200)
    _checked(check, alice.get(f"dandisets/{ident}/reviewers/"), 200)
    link = alice.post(f"dandisets/{ident}/review-links/", json={"label": "shapes"})
    assert _checked(check, link, 201).json()["token"]
    _checked(check, alice.get(f"dandisets/{ident}/review-links/"), 200)
