"""Instance discovery: ``/server-info``, ``/api/info/`` and the API docs."""

from __future__ import annotations

import httpx
from dandischema.consts import DANDI_SCHEMA_VERSION

from neuropil._version import __version__
from tests.conftest import Archive


def test_api_info_fields(archive: Archive, anon: httpx.Client) -> None:
    r = anon.get("info/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    info = r.json()
    assert info["version"] == __version__
    assert info["schema_version"] == DANDI_SCHEMA_VERSION
    assert DANDI_SCHEMA_VERSION in info["allowed_schema_versions"]
    assert isinstance(info["cli-minimal-version"], str)
    assert info["cli-bad-versions"] == []
    assert info["cli-requires-python"].startswith(">=")
    # The official client uses services.api.url verbatim from then on.
    assert info["services"]["api"]["url"] == archive.api_url
    assert info["services"]["webui"]["url"] == archive.url
    config = info["instance_config"]
    assert config["instance_name"] == "NEUROPIL"
    assert {"instance_identifier", "instance_url", "doi_prefix", "licenses"} <= config.keys()
    assert info["schema_url"].startswith(archive.api_url + "/")


def test_info_without_trailing_slash(archive: Archive, anon: httpx.Client) -> None:
    r = anon.get(f"{archive.api_url}/info")
    assert r.status_code == 200
    assert r.json()["services"]["api"]["url"] == archive.api_url


def test_server_info_at_the_root(archive: Archive, anon: httpx.Client) -> None:
    root = httpx.get(f"{archive.url}/server-info")
    assert root.status_code == 200
    assert root.json() == anon.get("info/").json()


def test_api_url_follows_the_host_the_client_used(archive: Archive) -> None:
    # "localhost" instead of 127.0.0.1: the advertised URL is the one the client reached.
    url = archive.api_url.replace("127.0.0.1", "localhost")
    r = httpx.get(f"{url}/info/")
    assert r.status_code == 200
    assert r.json()["services"]["api"]["url"] == url


def test_forwarded_headers_from_a_trusted_proxy(anon: httpx.Client) -> None:
    r = anon.get(
        "info/",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "archive.example.org"},
    )
    assert r.status_code == 200
    info = r.json()
    assert info["services"]["api"]["url"] == "https://archive.example.org/api"
    assert info["services"]["webui"]["url"] == "https://archive.example.org"


def test_forwarded_port_and_prefix(anon: httpx.Client) -> None:
    r = anon.get(
        "info/",
        headers={
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "archive.example.org",
            "X-Forwarded-Port": "8443",
            "X-Forwarded-Prefix": "/neuro",
        },
    )
    assert r.json()["services"]["api"]["url"] == "https://archive.example.org:8443/neuro/api"


def test_swagger_ui_and_openapi(archive: Archive, anon: httpx.Client) -> None:
    r = anon.get("docs/swagger/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "swagger" in r.text.lower()
    schema = anon.get("docs/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/dandisets/" in paths
    assert "/api/uploads/initialize/" in paths
    assert anon.get("docs/redoc/").status_code == 200
