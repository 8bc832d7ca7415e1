"""Every URL form the official client accepts, for known instances and a discovered server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from neuropil.client import instances
from neuropil.client.instances import Registry
from neuropil.client.urls import Target, parse_url, split_zarr_location
from neuropil.errors import BadRequest, InvalidUrl, RemoteError, UnknownInstance, UsageError
from tests.client.helpers import fake_archive, server_info
from tests.conftest import Archive
from tests.support.server import free_port

API = "https://api.dandiarchive.org/api"
WEB = "https://dandiarchive.org"
AID = "4f3b2c1a-0000-4000-8000-1234567890ab"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    instances.clear_discovery_cache()
    yield
    instances.clear_discovery_cache()


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path, env={})


def fields(t: Target) -> dict[str, Any]:
    """The Target without its instance, dropping unset fields."""
    keys = ("kind", "dandiset_id", "version", "path", "glob", "asset_id", "zarr_path")
    return {k: getattr(t, k) for k in keys if getattr(t, k) is not None}


# (URL template, expected fields); {api} and {web} are the server's API and web URLs.
FORMS: list[tuple[str, dict[str, Any]]] = [
    # web UI
    ("{web}/dandiset/000003", {"kind": "dandiset", "dandiset_id": "000003"}),
    ("{web}/dandiset/000003/", {"kind": "dandiset", "dandiset_id": "000003"}),
    (
        "{web}/dandiset/000003/0.250624.0409",
        {"kind": "dandiset", "dandiset_id": "000003", "version": "0.250624.0409"},
    ),
    (
        "{web}/#/dandiset/000003/draft",
        {"kind": "dandiset", "dandiset_id": "000003", "version": "draft"},
    ),
    (
        "{web}/dandiset/000003/draft/files",
        {"kind": "dandiset", "dandiset_id": "000003", "version": "draft"},
    ),
    (
        "{web}/dandiset/000003/draft/files?location=sub-1",
        {"kind": "folder", "dandiset_id": "000003", "version": "draft", "path": "sub-1/"},
    ),
    (
        "{web}/#/dandiset/000003/draft/files?location=sub-1%2Fses%201%2F&page=2",
        {"kind": "folder", "dandiset_id": "000003", "version": "draft", "path": "sub-1/ses 1/"},
    ),
    (
        "{web}/dandiset/000003/files?location=%2Fa%2Bb",
        {"kind": "folder", "dandiset_id": "000003", "path": "a+b/"},
    ),
    (
        "{web}/dandiset/000003/draft/files?location=",
        {"kind": "dandiset", "dandiset_id": "000003", "version": "draft"},
    ),
    # the web page of a Zarr asset (shown as a folder), and of a folder inside it
    (
        "{web}/dandiset/000003/draft/files?location=sub-1/img.ome.zarr",
        {"kind": "item", "dandiset_id": "000003", "version": "draft", "path": "sub-1/img.ome.zarr"},
    ),
    (
        "{web}/dandiset/000003/draft/files?location=img.zarr%2F0%2F",
        {
            "kind": "item",
            "dandiset_id": "000003",
            "version": "draft",
            "path": "img.zarr",
            "zarr_path": "0",
        },
    ),
    ("{api}/dandiset/000003", {"kind": "dandiset", "dandiset_id": "000003"}),
    # API: Dandisets and versions
    ("{api}/dandisets/000003", {"kind": "dandiset", "dandiset_id": "000003"}),
    ("{api}/dandisets/000003/", {"kind": "dandiset", "dandiset_id": "000003"}),
    ("{api}/dandisets/000003/versions", {"kind": "dandiset", "dandiset_id": "000003"}),
    ("{api}/dandisets/000003/versions/", {"kind": "dandiset", "dandiset_id": "000003"}),
    (
        "{api}/dandisets/000003/versions/draft",
        {"kind": "dandiset", "dandiset_id": "000003", "version": "draft"},
    ),
    (
        "{api}/dandisets/000003/versions/0.210812.1448/",
        {"kind": "dandiset", "dandiset_id": "000003", "version": "0.210812.1448"},
    ),
    # API: asset listings by path prefix and glob
    (
        "{api}/dandisets/000003/versions/draft/assets/?path=sub-1/ses",
        {"kind": "path_prefix", "dandiset_id": "000003", "version": "draft", "path": "sub-1/ses"},
    ),
    (
        "{api}/dandisets/000003/versions/draft/assets/?path=sub-1%2F&order=path",
        {"kind": "path_prefix", "dandiset_id": "000003", "version": "draft", "path": "sub-1/"},
    ),
    (
        "{api}/dandisets/000003/versions/0.1.2/assets/?glob=sub-*/*.nwb",
        {"kind": "glob", "dandiset_id": "000003", "version": "0.1.2", "glob": "sub-*/*.nwb"},
    ),
    (
        "{api}/dandisets/000003/versions/draft/assets/",
        {"kind": "dandiset", "dandiset_id": "000003", "version": "draft"},
    ),
    # API: assets by id
    ("{api}/assets/" + AID, {"kind": "asset_id", "asset_id": AID}),
    ("{api}/assets/" + AID + "/download/", {"kind": "asset_id", "asset_id": AID}),
    ("{api}/assets/" + AID + "/download", {"kind": "asset_id", "asset_id": AID}),
    ("{api}/assets/" + AID + "/index/", {"kind": "asset_id", "asset_id": AID}),
    (
        "{api}/dandisets/000003/versions/draft/assets/" + AID,
        {"kind": "asset_id", "dandiset_id": "000003", "version": "draft", "asset_id": AID},
    ),
    (
        "{api}/dandisets/000003/versions/draft/assets/" + AID + "/download/",
        {"kind": "asset_id", "dandiset_id": "000003", "version": "draft", "asset_id": AID},
    ),
    # the server root without /api works for API paths too
    ("{web}/api/dandisets/000003", {"kind": "dandiset", "dandiset_id": "000003"}),
]

NAME_FORMS: list[tuple[str, dict[str, Any]]] = [
    ("{NAME}:000027", {"kind": "dandiset", "dandiset_id": "000027"}),
    ("{name}:000027/draft", {"kind": "dandiset", "dandiset_id": "000027", "version": "draft"}),
    (
        "{NAME}:000027/0.210831.2033",
        {"kind": "dandiset", "dandiset_id": "000027", "version": "0.210831.2033"},
    ),
    # neuropil's extension: NAME:ID/VERSION goes on with a path, as dandi:// URLs do
    (
        "{NAME}:000027/draft/sub-1/sub-1_ecephys.nwb",
        {
            "kind": "item",
            "dandiset_id": "000027",
            "version": "draft",
            "path": "sub-1/sub-1_ecephys.nwb",
        },
    ),
    (
        "{name}:000027/0.210831.2033/sub-1/",
        {"kind": "folder", "dandiset_id": "000027", "version": "0.210831.2033", "path": "sub-1/"},
    ),
    ("dandi://{NAME}/000027", {"kind": "dandiset", "dandiset_id": "000027"}),
    ("dandi://{name}/000027/", {"kind": "dandiset", "dandiset_id": "000027"}),
    (
        "dandi://{NAME}/000027@0.210831.2033/sub-RAT123/",
        {
            "kind": "folder",
            "dandiset_id": "000027",
            "version": "0.210831.2033",
            "path": "sub-RAT123/",
        },
    ),
    (
        "dandi://{name}/000027@draft/sub-1/sub-1_ecephys.nwb",
        {
            "kind": "item",
            "dandiset_id": "000027",
            "version": "draft",
            "path": "sub-1/sub-1_ecephys.nwb",
        },
    ),
    (
        "dandi://{name}/000027/a%20b%25c.nwb",
        {"kind": "item", "dandiset_id": "000027", "path": "a b%c.nwb"},
    ),
    (
        "dandi://{name}/000027/sub-1/img.ome.zarr/0/1",
        {"kind": "item", "dandiset_id": "000027", "path": "sub-1/img.ome.zarr", "zarr_path": "0/1"},
    ),
    (
        "dandi://{name}/000027/sub-1/img.ngff",
        {"kind": "item", "dandiset_id": "000027", "path": "sub-1/img.ngff"},
    ),
]


def _expand(template: str, *, api: str = "", web: str = "", name: str = "") -> str:
    return template.format(api=api, web=web, name=name.lower(), NAME=name.upper())


# --------------------------------------------------------------------------- known instances


@pytest.mark.parametrize(("template", "expected"), FORMS)
def test_forms_on_the_dandi_archive(
    registry: Registry, template: str, expected: dict[str, Any]
) -> None:
    # api.dandiarchive.org is not reachable from the tests: resolution must be offline.
    target = parse_url(_expand(template, api=API, web=WEB), registry)
    assert target.instance == registry.get("dandi")
    assert fields(target) == expected


@pytest.mark.parametrize(("template", "expected"), NAME_FORMS)
@pytest.mark.parametrize("name", ["dandi", "dandi-sandbox", "linc"])
def test_name_forms_for_builtin_instances(
    registry: Registry, name: str, template: str, expected: dict[str, Any]
) -> None:
    target = parse_url(_expand(template, name=name), registry)
    assert target.instance == registry.get(name)
    assert fields(target) == expected


@pytest.mark.parametrize(("template", "expected"), NAME_FORMS + FORMS)
def test_forms_for_a_configured_instance(
    registry: Registry, template: str, expected: dict[str, Any]
) -> None:
    # Port 1 answers nothing: a configured instance is resolved without a request.
    lab = registry.add("my-lab", "http://127.0.0.1:1/api", "http://127.0.0.1:1")
    url = _expand(template, api=lab.api_url, web=lab.web_url or "", name="my-lab")
    target = parse_url(url, registry)
    assert target.instance == lab
    assert fields(target) == expected


def test_glob_mode_reads_locations_as_patterns(registry: Registry) -> None:
    t = parse_url("dandi://dandi/000027@draft/sub-*/*.nwb", registry, glob=True)
    assert fields(t) == {
        "kind": "glob",
        "dandiset_id": "000027",
        "version": "draft",
        "glob": "sub-*/*.nwb",
    }
    t = parse_url(f"{WEB}/dandiset/000027/draft/files?location=sub-*", registry, glob=True)
    assert t.kind == "glob" and t.glob == "sub-*"  # no "/" appended to a pattern
    assert parse_url("DANDI:000027", registry, glob=True).kind == "dandiset"


def test_redirect_hosts_are_mapped_offline(registry: Registry) -> None:
    dandi, sandbox = registry.get("dandi"), registry.get("dandi-sandbox")
    cases = {
        "https://gui.dandiarchive.org/#/dandiset/000003/draft": (dandi, "draft"),
        "https://identifiers.org/DANDI:000003": (dandi, None),
        "https://identifiers.org/dandi:000003/0.210812.1448": (dandi, "0.210812.1448"),
        "https://dandiarchive-org.netlify.app/dandiset/000003": (dandi, None),
        "https://deploy-preview-341--gui-dandiarchive-org.netlify.app/#/dandiset/000006/draft": (
            sandbox,
            "draft",
        ),
    }
    for url, (instance, version) in cases.items():
        target = parse_url(url, registry)
        assert (target.instance, target.kind, target.version) == (instance, "dandiset", version)


def test_text_is_stripped_and_hosts_are_case_insensitive(registry: Registry) -> None:
    t = parse_url("  HTTPS://DandiArchive.org/dandiset/000003  \n", registry)
    assert t.instance.name == "dandi" and t.dandiset_id == "000003"


def test_str_round_trips(registry: Registry) -> None:
    for url in [
        "DANDI:000027",
        "dandi://dandi/000027@draft/sub-1/",
        "dandi://dandi-sandbox/000027@0.1.2/a%20b%25c.nwb",
        "dandi://linc/000027/x.zarr/0/0",
    ]:
        target = parse_url(url, registry)
        assert parse_url(str(target), registry) == target


def test_zarr_split() -> None:
    assert split_zarr_location("sub-1/file.ome.zarr/0/0/0") == ("sub-1/file.ome.zarr", "0/0/0")
    assert split_zarr_location("sub-1/file.ome.zarr") is None
    assert split_zarr_location("sub-1/file.nwb") is None


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "text",
    [
        "",
        "000027",
        "sub-1/file.nwb",
        "DANDI:27",
        "DANDI:0000271",
        "DANDI:000027/latest",
        "DANDI:000027/v1.0",
        f"{WEB}/dandiset/00003",
        f"{WEB}/dandiset/000003/latest",
        f"{WEB}/dandisets/",
        f"{API}/dandisets/000003/versions/draft/assets/{AID}/extra",
        "dandi://dandi/27",
        "https://identifiers.org/DANDI:000003/draft",
        "https://gui.dandiarchive.org/some/old/page",
        "ftp://dandiarchive.org/dandiset/000003",
        "https://dandiarchive.org/",
    ],
)
def test_bad_urls_name_the_accepted_forms(registry: Registry, text: str) -> None:
    with pytest.raises(InvalidUrl) as err:
        parse_url(text, registry)
    message = str(err.value)
    assert "Accepted forms" in message
    assert "dandi://<instance name>/<dandiset id>[@<version>][/<path>]" in message
    # the caller's mistake, found before any request: no HTTP error (docs: errors.py)
    assert isinstance(err.value, UsageError)
    assert not isinstance(err.value, (BadRequest, RemoteError))


def test_redirector_urls_explain_why(registry: Registry) -> None:
    with pytest.raises(InvalidUrl, match="does not follow redirects"):
        parse_url("https://gui.dandiarchive.org/some/old/page", registry)


def test_unknown_and_renamed_instance_names(registry: Registry) -> None:
    with pytest.raises(UnknownInstance, match="unknown instance 'NOWHERE'"):
        parse_url("NOWHERE:000001", registry)
    with pytest.raises(UnknownInstance, match="unknown instance"):
        parse_url("dandi://nowhere/000001", registry)
    with pytest.raises(UnknownInstance, match="dandi-sandbox"):
        parse_url("DANDI-STAGING:000001", registry)


def test_both_path_and_glob_is_an_error(registry: Registry) -> None:
    with pytest.raises(InvalidUrl, match="either"):
        parse_url(f"{API}/dandisets/000003/versions/draft/assets/?path=a&glob=b", registry)


def test_unreachable_unknown_server(registry: Registry) -> None:
    url = f"http://127.0.0.1:{free_port()}/dandiset/000001"
    with pytest.raises(RemoteError, match="cannot reach"):
        parse_url(url, registry)


# --------------------------------------------------------------------------- a discovered server


@pytest.mark.parametrize(("template", "expected"), FORMS)
def test_forms_on_an_unknown_server(
    archive: Archive, registry: Registry, template: str, expected: dict[str, Any]
) -> None:
    target = parse_url(_expand(template, api=archive.api_url, web=archive.url), registry)
    port = archive.url.rsplit(":", 1)[1]
    assert target.instance.name == f"127.0.0.1:{port}"
    assert target.instance.api_url == archive.api_url
    assert target.instance.web_url == archive.url
    assert fields(target) == expected


def test_discovered_name_works_in_dandi_urls(archive: Archive, registry: Registry) -> None:
    name = archive.url.removeprefix("http://")
    with pytest.raises(UnknownInstance):
        parse_url(f"dandi://{name}/000001", registry)  # not discovered yet
    first = parse_url(f"{archive.url}/dandiset/000001", registry)
    again = parse_url(f"dandi://{name}/000001@draft/sub-1/", registry)
    assert again.instance == first.instance
    assert fields(again) == {
        "kind": "folder",
        "dandiset_id": "000001",
        "version": "draft",
        "path": "sub-1/",
    }
    assert parse_url(str(again), registry) == again


def test_server_under_a_path_prefix(registry: Registry) -> None:
    with fake_archive() as fake:
        fake.routes["/archive/server-info"] = (200, server_info(fake.url + "/archive"))
        target = parse_url(f"{fake.url}/archive/api/dandisets/000001/versions/draft", registry)
        assert target.instance.api_url == fake.url + "/archive/api"
        assert (target.kind, target.dandiset_id, target.version) == ("dandiset", "000001", "draft")
        web = parse_url(f"{fake.url}/archive/dandiset/000001/draft/files?location=a", registry)
        assert web.instance == target.instance and web.path == "a/"
        assert fake.requests == ["/archive/server-info"]  # discovered once
