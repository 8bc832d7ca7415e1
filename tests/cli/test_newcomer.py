"""No dead ends for a newcomer (issue 13): every step of the README's walkthrough either
works or says what to do next.

Client commands run in process (click's CliRunner) against the session's real server; the
data-directory test starts a ``neuropil serve`` of its own from one folder and runs
``neuropil users add`` from another.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner, Result

from neuropil.cli.main import cli
from neuropil.client.archive import Archive
from neuropil.client.instances import Registry
from neuropil.localfiles import read_dandiset_id
from tests.conftest import Archive as Server
from tests.support.client_env import isolate_client
from tests.support.nwb import write_dandiset_yaml
from tests.support.server import NEUROPIL, free_port


@pytest.fixture(autouse=True)
def private_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config dir of our own, no keyring, nothing from the user's environment."""
    monkeypatch.setenv("NEUROPIL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("NEUROPIL_DATA", raising=False)
    return isolate_client(monkeypatch, tmp_path / "config")


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def ok(*args: str) -> Result:
    result = run(*args)
    assert result.exit_code == 0, f"neuropil {' '.join(args)}: {result.output}"
    return result


# -- 1. upload takes the dandiset.yaml that download wrote --------------------------------------


def test_upload_takes_the_dandiset_yaml_download_wrote(archive: Server, tmp_path: Path) -> None:
    token = ("--token", archive.user_token)
    ident = ok("create", "round trip", "-i", archive.url, *token).stdout.split()[0]
    ok("download", "-o", str(tmp_path), f"{archive.api_url}/dandisets/{ident}/", *token)
    root = tmp_path / ident
    written = yaml.safe_load((root / "dandiset.yaml").read_text())["identifier"]
    assert written == f"NEUROPIL:{ident}"  # not DANDI:…
    assert read_dandiset_id(root) == ident
    (root / "notes.txt").write_text("hello\n")
    result = ok("upload", "-i", archive.url, *token, str(root))
    assert "Uploaded 1 file" in result.stdout
    with Archive(archive.url, archive.user_token) as api:
        assert [a.path for a in api.dandiset(ident, "draft").assets()] == ["notes.txt"]


# -- 3. login makes the default; the public archive takes explicit intent -----------------------


def test_login_makes_the_instance_the_default(archive: Server, private_config: Path) -> None:
    refused = run("create", "where does it go", "--token", archive.user_token)
    assert refused.exit_code != 0
    assert "public DANDI Archive" in refused.output and "-i dandi" in refused.output

    said = ok("login", archive.url, "--token", archive.user_token).stdout
    assert "is now the default instance (was dandi)" in said
    default = Registry().default()
    assert default.api_url == archive.api_url  # configured: found without a request
    assert default.name in Registry().configured()

    ident = ok("create", "to my own archive").stdout.split()[0]  # no -i, no --token
    with Archive(archive.url, archive.user_token) as api:
        assert api.dandiset(ident).name == "to my own archive"
    assert (
        "is the default instance" in ok("login", archive.url, "--token", archive.user_token).stdout
    )


def test_an_explicitly_chosen_public_default_is_respected(private_config: Path) -> None:
    Registry().set_default("dandi")
    result = run("create", "x")  # goes on to ask for a key: no refusal for the default
    assert "public DANDI Archive" not in result.output
    assert "API key" in result.output


# -- 4, 5. errors say what was wrong and what to do -----------------------------------------


def test_remote_errors_read_as_sentences(archive: Server) -> None:
    token = ("--token", archive.user_token)
    missing = run("publish", f"{archive.api_url}/dandisets/999999/", *token)
    assert missing.exit_code == 1
    assert "Dandiset 999999 not found on" in missing.output
    assert "neuropil ls" in missing.output and "-> 404" not in missing.output

    bad_key = run("create", "x", "-i", archive.url, "--token", "0" * 40)
    assert bad_key.exit_code == 1
    assert "did not accept your API key" in bad_key.output
    assert f"{archive.url}/account" in bad_key.output and "-> 401" not in bad_key.output

    ident = ok("create", "someone else's", "-i", archive.url, "--token", archive.admin_token)
    other = ident.stdout.split()[0]
    forbidden = run("delete", "-y", f"{archive.api_url}/dandisets/{other}/", *token)
    assert forbidden.exit_code == 1
    assert "does not let you do this to dandiset" in forbidden.output
    assert "ask an owner" in forbidden.output


def test_no_token_says_how_to_get_one(archive: Server) -> None:
    result = run("create", "x", "-i", archive.url)  # stdin is not a terminal here
    assert result.exit_code == 1
    assert f"{archive.url}/account" in result.output
    assert "neuropil users add" in result.output and "neuropil login" in result.output


# -- 2, 7. admin commands find the running server's archive; names DANDI can cite -------------


@pytest.fixture
def served_from_a(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """``neuropil serve`` started in folder a/ with no --data (./neuropil-data)."""
    env = {k: v for k, v in os.environ.items() if k not in ("NEUROPIL_DATA",)}
    env["NEUROPIL_STATE_DIR"] = str(tmp_path / "state")
    env.pop("NEUROPIL_DATABASE_URL", None)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [*NEUROPIL, "serve", "--port", str(port)],
        cwd=tmp_path / "a",
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/api/info/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise TimeoutError((tmp_path / "serve.log").read_text())
        yield url, env
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def test_admin_commands_find_the_running_servers_data(
    served_from_a: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, env = served_from_a
    added = subprocess.run(
        [*NEUROPIL, "users", "add", "bob", "--name", "Bob Smith"],
        cwd=tmp_path / "b",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    assert "Using the archive `neuropil serve` started last" in added.stderr
    assert str((tmp_path / "a" / "neuropil-data").resolve()) in added.stderr
    assert not (tmp_path / "b" / "neuropil-data").exists()  # no second archive
    me = httpx.get(f"{url}/api/users/me/", headers={"Authorization": f"token {token}"})
    assert me.status_code == 200 and me.json()["username"] == "bob"

    nowhere = {**env, "NEUROPIL_STATE_DIR": str(tmp_path / "no-state")}
    refused = subprocess.run(
        [*NEUROPIL, "users", "add", "carol"],
        cwd=tmp_path / "b",
        env=nowhere,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode != 0 and "No archive found" in refused.stderr
    assert "--data DIR or NEUROPIL_DATA" in refused.stderr


def test_users_get_names_dandi_can_cite(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    for args in (["alice"], ["bob", "--name", "Smith, Bob"], ["carl", "--name", "Carl Jung"]):
        result = CliRunner().invoke(cli, ["users", "add", *args, "--data", data])
        assert result.exit_code == 0, result.output
    from neuropil.cli.server_options import open_context
    from neuropil.services import auth
    from neuropil.services.metadata import PERSON_NAME, default_contributor

    ctx = open_context(Path(data))
    names = {
        u: default_contributor(auth.get_user(ctx, username=u))["name"]
        for u in ("alice", "bob", "carl")
    }
    assert names == {"alice": "Alice, Alice", "bob": "Smith, Bob", "carl": "Jung, Carl"}
    assert all(PERSON_NAME.fullmatch(n) for n in names.values())


def test_write_dandiset_yaml_helper_still_matches(tmp_path: Path) -> None:
    write_dandiset_yaml(tmp_path, "000007")
    assert read_dandiset_id(tmp_path) == "000007"
