"""Pieces shared by the client commands: errors, tokens, confirmations."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from neuropil.client.archive import Archive
from neuropil.client.instances import Instance, Registry
from neuropil.client.tokens import require_token
from neuropil.errors import NeuropilError

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
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


def token_option(f: F) -> F:
    return click.option(
        "--token",
        metavar="TOKEN",
        default=None,
        help="API key (default: $NEUROPIL_API_KEY, the instance's variable such as "
        "$DANDI_API_KEY, or the key stored by `neuropil login`).",
    )(f)


def instance_option(f: F) -> F:
    return click.option(
        "-i",
        "--instance",
        metavar="NAME_OR_URL",
        default=None,
        help="Archive instance: a name (dandi, a configured one) or a URL "
        "(default: $NEUROPIL_URL or the configured default).",
    )(f)


def json_option(f: F) -> F:
    return click.option(
        "--json",
        "json_lines",
        is_flag=True,
        help="Print one JSON event per line (file_started, progress, file_done, summary) "
        "instead of progress bars.",
    )(f)


def yes_option(f: F) -> F:
    return click.option(
        "-y", "--yes", is_flag=True, help="Do not ask for confirmation before deleting."
    )(f)


def stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def resolve_instance(registry: Registry, name_or_url: str | None) -> Instance:
    return registry.resolve(name_or_url) if name_or_url else registry.default()


def authenticated_archive(
    name_or_url: str | None, token: str | None, registry: Registry | None = None
) -> Archive:
    """An :class:`Archive` with a token; asks for one only on a terminal."""
    registry = registry or Registry()
    instance = resolve_instance(registry, name_or_url)
    key = require_token(instance, token)
    return Archive(instance.api_url, key, registry=registry)


class Confirmer:
    """Asks before deleting: always yes with ``--yes``; on a terminal, asks; otherwise
    refuses and remembers what it refused, so the command can exit non-zero."""

    def __init__(self, yes: bool, what: str, before_asking: Callable[[], None] | None = None):
        self.yes = yes
        self.what = what
        self.before_asking = before_asking
        self.refused: list[str] = []

    def __call__(self, items: Sequence[object]) -> bool:
        if self.yes or not items:
            return True
        if self.before_asking is not None:
            self.before_asking()
        names = [str(i) for i in items]
        if not stdin_is_tty():
            self.refused.extend(names)
            click.echo(
                f"Not deleting {len(names)} {self.what} without --yes (stdin is not a "
                "terminal, so neuropil will not ask):",
                err=True,
            )
            _list(names)
            return False
        click.echo(f"{len(names)} {self.what} would be deleted:", err=True)
        _list(names)
        return click.confirm("Delete them?", default=False, err=True)


def _list(names: Sequence[str], limit: int = 20) -> None:
    for name in names[:limit]:
        click.echo(f"  {name}", err=True)
    if len(names) > limit:
        click.echo(f"  … and {len(names) - limit} more", err=True)
