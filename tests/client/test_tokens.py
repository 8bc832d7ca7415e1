"""API keys: precedence, storage (keyring or a 0600 file), prompting, and login."""

from __future__ import annotations

import io
import json
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from neuropil.client import tokens
from neuropil.client.instances import Instance
from neuropil.client.tokens import (
    FoundToken,
    TokenStore,
    env_var_names,
    find_token,
    forget,
    login,
    prompt_token,
    require_token,
    resolve_token,
    store,
    usable_keyring,
    validate_token,
)
from neuropil.errors import InvalidConfig, NotAuthenticated
from tests.conftest import Archive

DANDI = Instance("dandi", "https://api.dandiarchive.org/api", "https://dandiarchive.org")
LOCAL = Instance("127.0.0.1:8000", "http://127.0.0.1:8000/api", "http://127.0.0.1:8000")


class MemoryKeyring:
    """A keyring backend held in memory (the real one must not be touched by tests)."""

    priority = 5.0

    def __init__(self, *, broken: bool = False) -> None:
        self.items: dict[tuple[str, str], str] = {}
        self.broken = broken

    def get_password(self, service: str, user: str) -> str | None:
        if self.broken:
            raise RuntimeError("keyring locked")
        return self.items.get((service, user))

    def set_password(self, service: str, user: str, password: str) -> None:
        if self.broken:
            raise RuntimeError("keyring locked")
        self.items[(service, user)] = password

    def delete_password(self, service: str, user: str) -> None:
        del self.items[(service, user)]


@pytest.fixture
def file_store(tmp_path: Path) -> TokenStore:
    return TokenStore(tmp_path / "config", keyring_backend=None, env={})


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


# --------------------------------------------------------------------------- env vars


def test_env_var_names() -> None:
    assert env_var_names(DANDI) == ("NEUROPIL_DANDI_API_KEY", "DANDI_API_KEY")
    sandbox = Instance("dandi-sandbox", "https://api.sandbox.dandiarchive.org/api")
    assert env_var_names(sandbox) == ("NEUROPIL_DANDI_SANDBOX_API_KEY", "DANDI_SANDBOX_API_KEY")
    # the official client keeps '.' and ':' (only settable through env, not `export`)
    assert env_var_names(LOCAL) == ("NEUROPIL_127_0_0_1_8000_API_KEY", "127.0.0.1:8000_API_KEY")
    lab = Instance("lab.v2", "https://lab.example/api")
    assert env_var_names(lab) == ("NEUROPIL_LAB_V2_API_KEY", "LAB.V2_API_KEY")


def test_precedence(file_store: TokenStore) -> None:
    file_store.set(DANDI, "stored")
    env = {
        "NEUROPIL_API_KEY": "global",
        "NEUROPIL_DANDI_API_KEY": "ours",
        "DANDI_API_KEY": "official",
        "NEUROPIL_DANDI_SANDBOX_API_KEY": "other instance",
    }

    def found(explicit: str | None = None) -> FoundToken | None:
        return find_token(DANDI, explicit, env=env, token_store=file_store)

    assert found("explicit") == FoundToken("explicit", "--token")
    assert found() == FoundToken("global", "$NEUROPIL_API_KEY")
    del env["NEUROPIL_API_KEY"]
    assert found() == FoundToken("ours", "$NEUROPIL_DANDI_API_KEY")
    del env["NEUROPIL_DANDI_API_KEY"]
    assert found() == FoundToken("official", "$DANDI_API_KEY")
    env["DANDI_API_KEY"] = "  "  # blank values are ignored
    assert found() == FoundToken("stored", str(file_store.path))
    assert resolve_token(DANDI, env=env, token_store=file_store) == "stored"
    assert resolve_token(LOCAL, env=env, token_store=file_store) is None


def test_env_for_a_discovered_name(file_store: TokenStore) -> None:
    env = {"127.0.0.1:8000_API_KEY": "official form"}
    assert resolve_token(LOCAL, env=env, token_store=file_store) == "official form"
    env["NEUROPIL_127_0_0_1_8000_API_KEY"] = "our form"
    assert resolve_token(LOCAL, env=env, token_store=file_store) == "our form"


# --------------------------------------------------------------------------- file store


def test_file_store_is_private_and_atomic(file_store: TokenStore) -> None:
    where = store(DANDI, "secret-1", token_store=file_store)
    assert where == str(file_store.path)
    assert stat.S_IMODE(file_store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(file_store.directory.stat().st_mode) == 0o700
    store(LOCAL, "secret-2", token_store=file_store)
    store(DANDI, "secret-3", token_store=file_store)  # replaces
    data = json.loads(file_store.path.read_text())
    assert data == {
        "tokens": {
            DANDI.api_url: {"name": "dandi", "token": "secret-3"},
            LOCAL.api_url: {"name": "127.0.0.1:8000", "token": "secret-2"},
        }
    }
    assert stat.S_IMODE(file_store.path.stat().st_mode) == 0o600
    assert [p.name for p in file_store.directory.iterdir() if p.name.endswith(".tmp")] == []


def test_tokens_are_keyed_by_api_url(file_store: TokenStore) -> None:
    file_store.set(LOCAL, "secret")
    renamed = Instance("mylab", LOCAL.api_url)  # the same server under a configured name
    assert file_store.get(renamed) == FoundToken("secret", str(file_store.path))


def test_forget(file_store: TokenStore) -> None:
    file_store.set(DANDI, "a")
    file_store.set(LOCAL, "b")
    assert forget(DANDI, token_store=file_store) is True
    assert forget(DANDI, token_store=file_store) is False
    assert file_store.get(DANDI) is None
    assert file_store.get(LOCAL) is not None
    elsewhere = TokenStore(file_store.directory / "empty", keyring_backend=None)
    assert forget(LOCAL, token_store=elsewhere) is False
    assert not elsewhere.path.exists()


def test_loose_permissions_are_fixed_on_write(
    file_store: TokenStore, caplog: pytest.LogCaptureFixture
) -> None:
    file_store.directory.mkdir(parents=True)
    file_store.path.write_text(json.dumps({"tokens": {}}))
    file_store.path.chmod(0o644)
    file_store.set(DANDI, "secret")  # reads (and warns), then writes a new 0600 file
    assert "readable by other users" in caplog.text
    assert stat.S_IMODE(file_store.path.stat().st_mode) == 0o600


def test_corrupt_token_file(file_store: TokenStore) -> None:
    file_store.directory.mkdir(parents=True)
    file_store.path.write_text("{not json")
    with pytest.raises(InvalidConfig, match=r"tokens\.json"):
        file_store.get(DANDI)


def test_config_dir_from_env(tmp_path: Path) -> None:
    env = {"NEUROPIL_CONFIG_DIR": str(tmp_path), "NEUROPIL_KEYRING": "0"}
    token_store = TokenStore(env=env)
    assert token_store.keyring is None
    assert token_store.path == tmp_path / "tokens.json"


# --------------------------------------------------------------------------- keyring


def test_keyring_store(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    token_store = TokenStore(tmp_path, keyring_backend=ring)
    assert token_store.set(DANDI, "secret") == "keyring (MemoryKeyring)"
    assert ring.items == {("neuropil", DANDI.api_url): "secret"}
    assert not token_store.path.exists()  # nothing on disk
    assert token_store.get(DANDI) == FoundToken("secret", "keyring (neuropil)")
    assert token_store.delete(DANDI) is True
    assert token_store.get(DANDI) is None


def test_keyring_reads_the_official_clients_entry(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    ring.items[("dandi-api-dandi", "key")] = "from dandi-cli"
    token_store = TokenStore(tmp_path, keyring_backend=ring)
    assert token_store.get(DANDI) == FoundToken("from dandi-cli", "keyring (dandi-api-dandi)")


def test_broken_keyring_falls_back_to_the_file(tmp_path: Path) -> None:
    token_store = TokenStore(tmp_path, keyring_backend=MemoryKeyring(broken=True))
    assert token_store.set(DANDI, "secret") == str(token_store.path)
    assert stat.S_IMODE(token_store.path.stat().st_mode) == 0o600
    assert token_store.get(DANDI) == FoundToken("secret", str(token_store.path))


def test_keyring_token_replaces_a_file_copy(tmp_path: Path) -> None:
    TokenStore(tmp_path, keyring_backend=None).set(DANDI, "old")
    token_store = TokenStore(tmp_path, keyring_backend=MemoryKeyring())
    token_store.set(DANDI, "new")
    assert TokenStore(tmp_path, keyring_backend=None).get(DANDI) is None


def test_only_real_keyrings_are_used() -> None:
    from keyring.backends import fail, null

    assert not tokens._is_usable(fail.Keyring())  # type: ignore[no-untyped-call]
    assert not tokens._is_usable(null.Keyring())  # type: ignore[no-untyped-call]
    assert tokens._is_usable(MemoryKeyring())
    found = usable_keyring()
    if found is not None:  # depends on the machine; never a file or failing backend
        assert not type(found).__module__.startswith(("keyrings.alt", "keyring.backends.fail"))


def test_keyring_can_be_turned_off(tmp_path: Path) -> None:
    for value in ("0", "no", "false", "OFF"):
        assert TokenStore(tmp_path, env={"NEUROPIL_KEYRING": value}).keyring is None


# --------------------------------------------------------------------------- prompting


def test_no_prompt_without_a_terminal(file_store: TokenStore) -> None:
    with pytest.raises(NotAuthenticated, match="not a terminal") as err:
        prompt_token(DANDI, stdin=io.StringIO("typed-token\n"))
    assert "$DANDI_API_KEY" in str(err.value) and "--token" in str(err.value)
    assert err.value.status_code == 401
    with pytest.raises(NotAuthenticated, match="not a terminal"):
        require_token(DANDI, env={}, token_store=file_store, stdin=io.StringIO())


def test_found_token_needs_no_terminal(file_store: TokenStore) -> None:
    env = {"DANDI_API_KEY": "k"}
    assert require_token(DANDI, env=env, token_store=file_store, stdin=io.StringIO()) == "k"


def test_real_stdin_not_a_tty_never_prompts(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        from neuropil.client.instances import Instance
        from neuropil.client.tokens import TokenStore, require_token
        from neuropil.errors import NotAuthenticated
        inst = Instance("dandi", "https://api.dandiarchive.org/api")
        try:
            require_token(inst, env={}, token_store=TokenStore(keyring_backend=None))
        except NotAuthenticated as exc:
            print("refused:", exc)
        """
    )
    env = {"NEUROPIL_CONFIG_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        start_new_session=True,  # no controlling terminal for getpass to fall back on
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("refused:") and "not a terminal" in result.stdout


def test_prompt_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def fake_getpass(prompt: str) -> str:
        asked.append(prompt)
        return "  typed  "

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    assert prompt_token(DANDI, stdin=Tty()) == "typed"
    assert "dandiarchive.org" in asked[0]
    monkeypatch.setattr("getpass.getpass", lambda prompt: "")
    with pytest.raises(NotAuthenticated, match="no API key entered"):
        prompt_token(DANDI, stdin=Tty())


# --------------------------------------------------------------------------- login


def _instance(archive: Archive) -> Instance:
    return Instance(archive.url.removeprefix("http://"), archive.api_url, archive.url)


def test_login_stores_a_valid_token(archive: Archive, file_store: TokenStore) -> None:
    inst = _instance(archive)
    assert login(inst, archive.user_token, token_store=file_store) == str(file_store.path)
    assert file_store.get(inst) == FoundToken(archive.user_token, str(file_store.path))


def test_login_rejects_an_invalid_token(archive: Archive, file_store: TokenStore) -> None:
    inst = _instance(archive)
    with pytest.raises(NotAuthenticated, match="rejected the API key") as err:
        login(inst, "0" * 40, token_store=file_store)
    assert "HTTP 401" in str(err.value)
    assert err.value.__cause__ is not None
    assert getattr(err.value.__cause__, "status_code", None) == 401
    assert file_store.get(inst) is None
    assert not file_store.path.exists()


def test_login_prompts_only_on_a_terminal(
    archive: Archive, file_store: TokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    inst = _instance(archive)
    with pytest.raises(NotAuthenticated, match="not a terminal"):
        login(inst, token_store=file_store, stdin=io.StringIO())
    monkeypatch.setattr("getpass.getpass", lambda prompt: archive.admin_token)
    login(inst, token_store=file_store, stdin=Tty())
    assert resolve_token(inst, env={}, token_store=file_store) == archive.admin_token


def test_require_token_asks_checks_and_stores(
    archive: Archive, file_store: TokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    inst = _instance(archive)
    monkeypatch.setattr("getpass.getpass", lambda prompt: "bad-token")
    with pytest.raises(NotAuthenticated, match="rejected"):
        require_token(inst, env={}, token_store=file_store, stdin=Tty())
    assert file_store.get(inst) is None
    monkeypatch.setattr("getpass.getpass", lambda prompt: archive.user_token)
    assert require_token(inst, env={}, token_store=file_store, stdin=Tty()) == archive.user_token
    assert file_store.get(inst) is not None


def test_validate_token(archive: Archive) -> None:
    inst = _instance(archive)
    validate_token(inst, archive.user_token)
    with pytest.raises(NotAuthenticated):
        validate_token(inst, "nope")
