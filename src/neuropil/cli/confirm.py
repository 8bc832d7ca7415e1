"""Asking before a command deletes anything (``download --sync``, ``upload --sync``,
``delete``): yes with ``--yes``, a question on a terminal, and otherwise a refusal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import click


def stdin_is_tty() -> bool:
    """Whether a question can be asked (a closed or redirected stdin cannot answer)."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError, OSError):
        return False


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
