"""API keys: where to find the one for an instance, and where to keep it.

Resolution order (first hit wins), see :func:`find_token`:

1. an explicit token (``--token``);
2. ``$NEUROPIL_API_KEY`` (whatever the instance);
3. the instance's own variables: ``$NEUROPIL_<NAME>_API_KEY`` (name uppercased, every
   non-alphanumeric character → ``_``), then the official client's ``$<NAME>_API_KEY``
   (uppercased, ``-`` → ``_``; e.g. ``DANDI_API_KEY``, ``DANDI_SANDBOX_API_KEY``);
4. the stored token (:class:`TokenStore`): the system keyring when a real one is available,
   else ``tokens.json`` (mode 0600) in the user config directory.

Stored tokens are keyed by the instance's API URL, so an instance reached by name and by
URL share one token. When a keyring is in use, the official client's entry (service
``dandi-api-<name>``, user ``key``) is read too, so a key saved by ``dandi`` is found.

"Real keyring" means an OS-backed one (Secret Service, macOS Keychain, Windows, KWallet):
the ``fail``/``null`` backends and the ``keyrings.alt`` file backends (plain text, or
encrypted with a password prompt) are not used — the 0600 file is as safe as the former
and, unlike the latter, never prompts. ``NEUROPIL_KEYRING=0`` turns the keyring off.

Nothing here prompts unless stdin is a terminal (:func:`prompt_token`).
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import os
import re
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from neuropil.client.instances import (
    Instance,
    atomic_write,
    builtin_instances,
    config_dir,
    file_lock,
)
from neuropil.errors import InvalidConfig, NotAuthenticated, RemoteError
from neuropil.http.transport import Backoff, Transport

log = logging.getLogger(__name__)

GLOBAL_ENV = "NEUROPIL_API_KEY"
KEYRING_ENV = "NEUROPIL_KEYRING"
KEYRING_SERVICE = "neuropil"
TOKENS_FILE = "tokens.json"
_FALSE = {"0", "no", "false", "off"}
#: Keyring backends that do not protect a secret better than a 0600 file, or that prompt.
_UNUSABLE_KEYRING_MODULES = (
    "keyring.backends.fail",
    "keyring.backends.null",
    "keyring.backends.chainer",
    "keyrings.alt",
)


class _Stream(Protocol):
    def isatty(self) -> bool: ...


@dataclass(frozen=True)
class FoundToken:
    """A token and where it came from (for messages such as ``whoami``)."""

    token: str
    source: str


# --------------------------------------------------------------------------- env vars


def env_var_names(instance: Instance) -> tuple[str, ...]:
    """The per-instance variables, in the order they are read."""
    ours = "NEUROPIL_" + re.sub(r"[^A-Z0-9]", "_", instance.name.upper()) + "_API_KEY"
    official = instance.name.upper().replace("-", "_") + "_API_KEY"
    return (ours, official) if ours != official else (ours,)


def _from_env(instance: Instance, env: Mapping[str, str]) -> FoundToken | None:
    for name in (GLOBAL_ENV, *env_var_names(instance)):
        value = env.get(name, "").strip()
        if value:
            return FoundToken(value, f"${name}")
    return None


# --------------------------------------------------------------------------- keyring


def usable_keyring() -> Any | None:
    """The highest-priority OS-backed keyring backend, or None (also when ``keyring`` is not
    installed or cannot load)."""
    try:
        import keyring
    except ImportError:
        return None
    try:
        chosen = keyring.get_keyring()
        candidates = list(getattr(chosen, "backends", None) or [chosen])
        usable = [b for b in candidates if _is_usable(b)]
    except Exception as exc:  # a broken keyring setup must not break the client
        log.debug("keyring unavailable: %s", exc)
        return None
    return max(usable, key=lambda b: float(b.priority)) if usable else None


def _is_usable(backend: Any) -> bool:
    if type(backend).__module__.startswith(_UNUSABLE_KEYRING_MODULES):
        return False
    try:
        return float(backend.priority) > 0
    except Exception:
        return False


# --------------------------------------------------------------------------- store


class TokenStore:
    """Stored tokens: the keyring when usable, else a 0600 JSON file; reads check both.

    ``keyring_backend``: ``"auto"`` (default) finds one with :func:`usable_keyring` unless
    ``$NEUROPIL_KEYRING`` is false; None means file only; or pass a backend object.
    """

    def __init__(
        self,
        directory: Path | None = None,
        *,
        keyring_backend: Any = "auto",
        env: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        self.directory = directory if directory is not None else config_dir(env)
        if isinstance(keyring_backend, str) and keyring_backend == "auto":
            off = env.get(KEYRING_ENV, "").strip().lower() in _FALSE
            keyring_backend = None if off else usable_keyring()
        self.keyring = keyring_backend

    @property
    def path(self) -> Path:
        """The JSON file used when there is no keyring."""
        return self.directory / TOKENS_FILE

    def describe(self) -> str:
        """Where :meth:`set` will put a token."""
        if self.keyring is not None:
            return f"keyring ({type(self.keyring).__name__})"
        return str(self.path)

    def get(self, instance: Instance) -> FoundToken | None:
        """The stored token for ``instance``, if any."""
        found = self._keyring_get(instance)
        if found is not None:
            return found
        entry = self._read().get(instance.api_url)
        if isinstance(entry, dict) and isinstance(entry.get("token"), str) and entry["token"]:
            return FoundToken(entry["token"], str(self.path))
        return None

    def set(self, instance: Instance, token: str) -> str:
        """Store ``token`` for ``instance``; returns where it went."""
        if self.keyring is not None:
            try:
                self.keyring.set_password(KEYRING_SERVICE, instance.api_url, token)
            except Exception as exc:
                log.warning("cannot save to the keyring (%s); using %s", exc, self.path)
            else:
                self._file_delete(instance)  # one place only, no stale copy
                return self.describe()
        with file_lock(self.path):
            tokens = self._read()
            tokens[instance.api_url] = {"name": instance.name, "token": token}
            self._write(tokens)
        return str(self.path)

    def delete(self, instance: Instance) -> bool:
        """Forget the token of ``instance`` everywhere neuropil stores it; True if one was."""
        removed = False
        if self.keyring is not None:
            with contextlib.suppress(Exception):
                if self.keyring.get_password(KEYRING_SERVICE, instance.api_url) is not None:
                    self.keyring.delete_password(KEYRING_SERVICE, instance.api_url)
                    removed = True
        return self._file_delete(instance) or removed

    def _keyring_get(self, instance: Instance) -> FoundToken | None:
        if self.keyring is None:
            return None
        places = [
            (KEYRING_SERVICE, instance.api_url),
            (f"dandi-api-{instance.name}", "key"),  # the official client's entry
        ]
        for service, user in places:
            try:
                token = self.keyring.get_password(service, user)
            except Exception as exc:
                log.debug("keyring lookup %s failed: %s", service, exc)
                continue
            if token:
                return FoundToken(str(token), f"keyring ({service})")
        return None

    def _file_delete(self, instance: Instance) -> bool:
        if not self.path.exists():
            return False
        with file_lock(self.path):
            tokens = self._read()
            if tokens.pop(instance.api_url, None) is None:
                return False
            self._write(tokens)
        return True

    def _read(self) -> dict[str, Any]:
        try:
            with self.path.open(encoding="utf-8") as f:
                mode = os.fstat(f.fileno()).st_mode
                data = json.load(f)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise InvalidConfig(f"cannot read the token file {self.path}: {exc}") from exc
        if stat.S_IMODE(mode) & 0o077:
            log.warning("%s is readable by other users; run: chmod 600 %s", self.path, self.path)
        tokens = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(tokens, dict):
            raise InvalidConfig(f"{self.path} is not a neuropil token file")
        return tokens

    def _write(self, tokens: dict[str, Any]) -> None:
        text = json.dumps({"tokens": tokens}, indent=2, sort_keys=True) + "\n"
        atomic_write(self.path, text, mode=0o600)


# --------------------------------------------------------------------------- resolution


def find_token(
    instance: Instance,
    explicit: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    token_store: TokenStore | None = None,
) -> FoundToken | None:
    """The token to use for ``instance`` and its source, in the documented order."""
    if explicit and explicit.strip():
        return FoundToken(explicit.strip(), "--token")
    env = os.environ if env is None else env
    found = _from_env(instance, env)
    if found is not None:
        return found
    return (token_store or TokenStore(env=env)).get(instance)


def resolve_token(
    instance: Instance,
    explicit: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    token_store: TokenStore | None = None,
) -> str | None:
    """The token to use for ``instance``, or None (anonymous)."""
    found = find_token(instance, explicit, env=env, token_store=token_store)
    return found.token if found else None


def require_token(
    instance: Instance,
    explicit: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    token_store: TokenStore | None = None,
    stdin: _Stream | None = None,
) -> str:
    """A token for an operation that needs one: found, or else (on a terminal only) asked
    for, checked against the server and stored. Raises :class:`NotAuthenticated` otherwise."""
    # No TokenStore unless needed: finding the keyring backend costs ~0.2-0.4 s of start-up,
    # wasted when the token is given (--token) or in the environment.
    found = find_token(instance, explicit, env=env, token_store=token_store)
    if found is not None:
        return found.token
    token = prompt_token(instance, stdin=stdin)
    validate_token(instance, token)
    (token_store or TokenStore(env=env)).set(instance, token)
    return token


def store(instance: Instance, token: str, *, token_store: TokenStore | None = None) -> str:
    """Save ``token`` for ``instance`` (keyring or 0600 file); returns where it went."""
    return (token_store or TokenStore()).set(instance, token)


def forget(instance: Instance, *, token_store: TokenStore | None = None) -> bool:
    """Delete the stored token of ``instance``; True if there was one."""
    return (token_store or TokenStore()).delete(instance)


# --------------------------------------------------------------------------- login


def where_keys_come_from(instance: Instance) -> str:
    """Where a person gets an API key for ``instance``: its website's account page, or,
    for an archive one runs oneself, the admin command that makes users."""
    if instance.name in builtin_instances():
        web = instance.web_url or instance.api_url
        return (
            f"get your API key from {web} (log in, then open the menu under your initials: "
            "'API Key')"
        )
    page = f"{instance.web_url}/account" if instance.web_url else f"{instance.api_url} website"
    return (
        f"get your API key on your account page, {page} (sign in or register first); if you "
        "run this archive yourself, `neuropil users add NAME` on its server prints one"
    )


def _how_to_supply(instance: Instance) -> str:
    names = " or ".join(f"${n}" for n in (GLOBAL_ENV, *env_var_names(instance)))
    return (
        f"{where_keys_come_from(instance)}; then run `neuropil login {instance.name}` in a "
        f"terminal, pass --token, or set {names}"
    )


def prompt_token(instance: Instance, *, stdin: _Stream | None = None) -> str:
    """Ask for the API key on the terminal. Never prompts when stdin is not a TTY: raises
    :class:`NotAuthenticated` saying how to supply a token instead."""
    stream = sys.stdin if stdin is None else stdin
    try:
        interactive = stream is not None and stream.isatty()
    except (AttributeError, ValueError, OSError):
        interactive = False
    if not interactive:
        raise NotAuthenticated(
            f"an API key for {instance.name} ({instance.api_url}) is needed and stdin is "
            f"not a terminal, so neuropil will not ask for one: {_how_to_supply(instance)}"
        )
    where = instance.web_url or instance.api_url
    token = getpass.getpass(f"API key for {instance.name} (see your account page at {where}): ")
    if not token.strip():
        raise NotAuthenticated(f"no API key entered for {instance.name}")
    return token.strip()


def validate_token(instance: Instance, token: str, *, timeout: httpx.Timeout | None = None) -> None:
    """Check ``token`` with ``GET {api}/auth/token/``, as the official client does.
    Raises :class:`NotAuthenticated` when the server refuses it (any 4xx)."""
    timeout = timeout or httpx.Timeout(30.0, connect=10.0)
    with Transport(instance.api_url, token, backoff=Backoff(attempts=3), timeout=timeout) as t:
        try:
            response = t.request("GET", "auth/token/")
        except RemoteError as exc:
            if 400 <= exc.status_code < 500:
                raise NotAuthenticated(
                    f"{instance.name} ({instance.api_url}) rejected the API key "
                    f"(HTTP {exc.status_code}); check that you copied it whole, that it was "
                    f"made by this archive and that your account is approved; "
                    f"{where_keys_come_from(instance)}"
                ) from exc
            raise
    if response.status_code != 200:
        raise NotAuthenticated(
            f"{instance.name} answered {response.status_code} when checking the API key"
        )


def login(
    instance: Instance,
    token: str | None = None,
    *,
    token_store: TokenStore | None = None,
    stdin: _Stream | None = None,
) -> str:
    """Validate a token (asked for on a terminal when not given) and store it. Returns
    where it was stored; an invalid token is never stored."""
    token = token.strip() if token else prompt_token(instance, stdin=stdin)
    validate_token(instance, token)
    return (token_store or TokenStore()).set(instance, token)
