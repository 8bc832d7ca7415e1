"""The client commands' shared options (``--token``, ``-i``, ``--json``, ``--yes``), what they
resolve to (an instance, an authenticated :class:`Archive`), and how errors end a command
(a message per error class: :mod:`neuropil.cli.error_messages`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from neuropil.cli.error_messages import explain
from neuropil.client.archive import Archive
from neuropil.client.instances import Instance, Registry
from neuropil.client.tokens import require_token
from neuropil.errors import NeuropilError, UsageError

F = TypeVar("F", bound=Callable[..., Any])
#: Exit status when something failed (a file, a refused deletion); click uses 2 for usage.
FAILED = 1


def handle_errors(f: F) -> F:
    """Turn neuropil's errors into a one-line message and exit status 1 (no traceback)."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except NeuropilError as exc:
            raise click.ClickException(explain(exc)) from exc

    return wrapper  # type: ignore[return-value]


def token_option(f: F) -> F:
    """``--token``: the API key, when it is not in the environment or stored."""
    return click.option(
        "--token",
        metavar="TOKEN",
        default=None,
        help="API key (default: $NEUROPIL_API_KEY, the instance's variable such as "
        "$DANDI_API_KEY, or the key stored by `neuropil login`).",
    )(f)


def instance_option(f: F) -> F:
    """``-i/--instance``: the archive, by name or URL."""
    return click.option(
        "-i",
        "--instance",
        metavar="NAME_OR_URL",
        default=None,
        help="Archive instance: a name (dandi, a configured one) or a URL "
        "(default: $NEUROPIL_URL or the configured default).",
    )(f)


def json_option(f: F) -> F:
    """``--json``: JSON events on stdout instead of progress bars."""
    return click.option(
        "--json",
        "json_lines",
        is_flag=True,
        help="Print one JSON event per line (file_started, progress, file_done, summary) "
        "instead of progress bars.",
    )(f)


def yes_option(f: F) -> F:
    """``-y/--yes``: delete without asking."""
    return click.option(
        "-y", "--yes", is_flag=True, help="Do not ask for confirmation before deleting."
    )(f)


def resolve_instance(registry: Registry, name_or_url: str | None) -> Instance:
    """The instance ``-i`` names, or the configured default."""
    return registry.resolve(name_or_url) if name_or_url else registry.default()


def authenticated_archive(
    name_or_url: str | None,
    token: str | None,
    registry: Registry | None = None,
    *,
    writing: str | None = None,
) -> Archive:
    """An :class:`Archive` with a token; asks for one only on a terminal.

    ``writing`` (what the command does: "uploading") refuses to write to the public DANDI
    Archive merely because no default instance is set: that takes ``-i dandi``."""
    registry = registry or Registry()
    instance = resolve_instance(registry, name_or_url)
    if writing and name_or_url is None and registry.default_spec() is None:
        raise UsageError(public_by_default(writing, instance))
    key = require_token(instance, token)
    return Archive(instance.api_url, key, registry=registry)


def public_by_default(writing: str, instance: Instance) -> str:
    """Why a write to the fallback default (the public archive) is refused, and what to do."""
    return (
        f"{writing} would go to {instance.name} ({instance.web_url or instance.api_url}), the "
        "public DANDI Archive, only because no default instance is set. If that is what you "
        f"want, say so: add `-i {instance.name}`. For your own archive, give `-i URL` (e.g. "
        "-i http://127.0.0.1:8000), or make it the default once: `neuropil login URL` or "
        "`neuropil instances default NAME`."
    )
