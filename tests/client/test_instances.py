"""Instances: built in, configured in instances.yaml, and discovered from real servers."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from neuropil.client import instances
from neuropil.client.instances import Instance, Registry, config_dir, discover, host_port
from neuropil.errors import InvalidConfig, RemoteError, UnknownInstance, UsageError
from tests.client.helpers import FakeArchive, fake_archive, server_info
from tests.conftest import Archive
from tests.support.server import free_port


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    instances.clear_discovery_cache()
    yield
    instances.clear_discovery_cache()


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "config", env={})


@pytest.fixture
def fake() -> Iterator[FakeArchive]:
    with fake_archive() as f:
        yield f


# --------------------------------------------------------------------------- built in


def test_builtin_instances_match_the_official_client(registry: Registry) -> None:
    dandi = registry.get("dandi")
    assert dandi == Instance(
        "dandi", "https://api.dandiarchive.org/api", "https://dandiarchive.org"
    )
    sandbox = registry.get("DANDI-SANDBOX")
    assert sandbox.api_url == "https://api.sandbox.dandiarchive.org/api"
    assert sandbox.web_url == "https://sandbox.dandiarchive.org"
    names = [i.name for i in registry.list()]
    assert names[:2] == ["dandi", "dandi-sandbox"]
    assert {"linc", "ember-dandi", "dandi-api-local-docker-tests"} <= set(names)


def test_local_docker_instance_follows_dandi_instancehost(tmp_path: Path) -> None:
    reg = Registry(tmp_path, env={"DANDI_INSTANCEHOST": "10.0.0.5"})
    assert reg.get("dandi-api-local-docker-tests").api_url == "http://10.0.0.5:8000/api"


def test_renamed_and_unknown_names_say_what_to_do(registry: Registry) -> None:
    with pytest.raises(UnknownInstance, match="dandi-sandbox"):
        registry.get("dandi-staging")
    with pytest.raises(UnknownInstance, match=r"known instances: dandi, dandi-sandbox"):
        registry.get("nowhere")


def test_instance_urls_are_normalized_and_checked() -> None:
    inst = Instance("x", "HTTP://Example.ORG:8000/api/", "https://Example.org/")
    assert inst.api_url == "http://example.org:8000/api"
    assert inst.web_url == "https://example.org"
    assert inst.base_url == "http://example.org:8000"
    assert inst.matches("http://example.org:8000/") and inst.matches("https://example.org")
    with pytest.raises(UsageError, match="not an http"):
        Instance("x", "ftp://example.org/api")


def test_by_url_needs_no_network(registry: Registry) -> None:
    assert registry.by_url("https://dandiarchive.org/") == registry.get("dandi")
    assert registry.by_url("https://api.dandiarchive.org/api") == registry.get("dandi")
    assert registry.by_url("https://api.dandiarchive.org") == registry.get("dandi")
    assert registry.by_url("https://elsewhere.example") is None


def test_host_port_names() -> None:
    assert host_port("http://127.0.0.1:8000/api") == "127.0.0.1:8000"
    assert host_port("https://Archive.Example.org/api") == "archive.example.org"
    assert host_port("http://[::1]:9000/api") == "[::1]:9000"


# --------------------------------------------------------------------------- config file


def test_config_dir_env_override(tmp_path: Path) -> None:
    assert config_dir({"NEUROPIL_CONFIG_DIR": str(tmp_path)}) == tmp_path
    assert config_dir({}).name == "neuropil"
    assert Registry(env={"NEUROPIL_CONFIG_DIR": str(tmp_path)}).path == tmp_path / "instances.yaml"


def test_config_round_trip(registry: Registry) -> None:
    assert not registry.path.exists()
    added = registry.add("MyLab", "http://127.0.0.1:1/api/", "http://127.0.0.1:1", default=True)
    assert added == Instance("mylab", "http://127.0.0.1:1/api", "http://127.0.0.1:1")
    registry.add("other", "https://other.example/api")

    on_disk = yaml.safe_load(registry.path.read_text())
    assert on_disk == {
        "default": "mylab",
        "instances": {
            "mylab": {"api": "http://127.0.0.1:1/api", "web": "http://127.0.0.1:1"},
            "other": {"api": "https://other.example/api"},
        },
    }
    again = Registry(registry.config_dir, env={})  # a new process reads the same file
    assert again.get("MYLAB") == added
    assert again.default() == added
    assert [i.name for i in again.list()][-2:] == ["mylab", "other"]
    assert again.by_url("http://127.0.0.1:1/") == added

    again.remove("mylab")
    assert again.find("mylab") is None
    assert "default" not in yaml.safe_load(again.path.read_text())
    assert again.default().name == "dandi"  # nothing configured: the official default
    with pytest.raises(UnknownInstance):
        again.remove("mylab")
    assert not list(again.config_dir.glob(".*.tmp"))  # atomic writes leave nothing behind


def test_hand_written_config_is_read(tmp_path: Path) -> None:
    (tmp_path / "instances.yaml").write_text(
        "default: lab\ninstances:\n  Lab:\n    api: https://lab.example/api\n"
        "    gui: https://lab.example\n  short: https://short.example/api\n"
    )
    reg = Registry(tmp_path, env={})
    assert reg.get("lab") == Instance("lab", "https://lab.example/api", "https://lab.example")
    assert reg.get("short").web_url is None
    assert reg.default().name == "lab"


def test_default_precedence(registry: Registry) -> None:
    registry.add("lab", "https://lab.example/api")
    registry.set_default("lab")
    assert registry.default_spec() == "lab"
    env_reg = Registry(registry.config_dir, env={"NEUROPIL_URL": "dandi-sandbox"})
    assert env_reg.default().name == "dandi-sandbox"
    dandi_env = Registry(registry.config_dir, env={"DANDI_INSTANCE": "linc"})
    assert dandi_env.default().name == "lab"  # the config wins over the official variable
    registry.set_default(None)
    assert dandi_env.default().name == "linc"
    registry.set_default("https://API.dandiarchive.org/api/")
    assert registry.default_spec() == "https://api.dandiarchive.org/api"
    assert registry.default().name == "dandi"
    with pytest.raises(UnknownInstance):
        registry.set_default("nowhere")


def test_bad_names_and_builtin_names_are_refused(registry: Registry) -> None:
    for bad in ("has space", "a:b", "x/y", "", "-lead"):
        with pytest.raises(UsageError, match="not valid"):
            registry.add(bad, "https://x.example/api")
    with pytest.raises(UsageError, match="built-in"):
        registry.add("DANDI", "https://x.example/api")
    with pytest.raises(UsageError, match="built in"):
        registry.remove("dandi")
    with pytest.raises(UsageError, match="not an http"):
        registry.add("lab", "lab.example/api")


@pytest.mark.parametrize(
    "text",
    [
        "default: [unclosed",
        "- a list\n- not a mapping\n",
        "instances:\n  lab: {web: x}\n",
        "instances: [1, 2]\n",
        "instances:\n  lab: {api: 'ftp://x'}\n",
    ],
)
def test_invalid_config_is_reported(tmp_path: Path, text: str) -> None:
    (tmp_path / "instances.yaml").write_text(text)
    with pytest.raises(InvalidConfig, match=r"instances\.yaml"):
        Registry(tmp_path, env={}).find("lab")


def test_config_dir_is_created_private(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "new" / "neuropil", env={})
    reg.add("lab", "https://lab.example/api")
    assert stat.S_IMODE(reg.config_dir.stat().st_mode) == 0o700


# --------------------------------------------------------------------------- discovery


def test_discover_a_real_neuropil_server(archive: Archive, registry: Registry) -> None:
    port = archive.url.rsplit(":", 1)[1]
    found = discover(archive.url)
    assert found == Instance(f"127.0.0.1:{port}", archive.api_url, archive.url)
    # any URL of the server gives the same instance, from the cache
    assert discover(archive.api_url + "/") is found
    assert registry.resolve(archive.url) == found
    assert registry.find(f"127.0.0.1:{port}") == found  # discovered names are known now


def test_discover_falls_back_to_api_info(fake: FakeArchive) -> None:
    fake.routes["/api/info/"] = (200, server_info(fake.url))
    found = discover(fake.url + "/dandiset/000001")
    assert found == Instance(fake.name, fake.url + "/api", fake.url)
    assert fake.requests == [
        "/dandiset/000001/server-info",
        "/dandiset/000001/api/info/",
        "/server-info",
        "/api/info/",
    ]
    fake.requests.clear()
    assert discover(fake.url + "/dandiset/000001") is found  # cached: no request
    assert discover(fake.url) is found
    assert discover(fake.url + "/api") is found
    assert fake.requests == []


def test_discover_prefers_server_info(fake: FakeArchive) -> None:
    fake.routes["/server-info"] = (200, server_info(fake.url, webui=False))
    found = discover(fake.url)
    assert found.web_url is None and found.api_url == fake.url + "/api"
    assert fake.requests == ["/server-info"]


def test_discover_skips_a_web_page_at_server_info(fake: FakeArchive) -> None:
    fake.routes["/server-info"] = (200, "<html>single-page app</html>")
    fake.routes["/api/info/"] = (200, server_info(fake.url))
    assert discover(fake.url).api_url == fake.url + "/api"


def test_discover_under_a_path_prefix(fake: FakeArchive) -> None:
    fake.routes["/archive/api/info/"] = (200, server_info(fake.url + "/archive"))
    found = discover(fake.url + "/archive/")
    assert found.api_url == fake.url + "/archive/api"
    assert found.base_url == fake.url + "/archive"
    assert fake.requests == ["/archive/server-info", "/archive/api/info/"]


def test_discovered_server_takes_a_configured_name(fake: FakeArchive, registry: Registry) -> None:
    fake.routes["/server-info"] = (200, server_info(fake.url + "/x"))
    registry.add("lab", fake.url + "/x/api")
    assert registry.discover(fake.url).name == "lab"


def test_not_an_archive(fake: FakeArchive) -> None:
    fake.routes["/server-info"] = (200, {"hello": "world"})
    with pytest.raises(RemoteError, match="does not look like a DANDI-API archive") as err:
        discover(fake.url)
    assert "/server-info has no services.api.url" in str(err.value)
    assert "/api/info/ -> 404" in str(err.value)


def test_unreachable_server() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RemoteError, match="cannot reach") as err:
        discover(url)
    assert err.value.status_code == 0


def test_known_urls_are_not_discovered(registry: Registry) -> None:
    # dandiarchive.org is unreachable from the tests: no request may be made
    assert registry.discover("https://dandiarchive.org/dandiset/000001") == registry.get("dandi")
    assert registry.resolve("https://api.sandbox.dandiarchive.org/api/").name == "dandi-sandbox"
