"""Options shared by the server-side commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from neuropil.config import Settings
from neuropil.db.migrate import upgrade
from neuropil.services.context import Context, make_context

F = TypeVar("F", bound=Callable[..., Any])


def data_option(f: F) -> F:
    return click.option(
        "--data",
        "data_dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="NEUROPIL_DATA",
        default="neuropil-data",
        show_default=True,
        help="Data directory (SQLite database and blobs).",
    )(f)


def open_context(data_dir: Path, *, migrate: bool = True) -> Context:
    settings = Settings(data_dir=data_dir)
    ctx = make_context(settings)
    if migrate:
        upgrade(ctx.db)
    return ctx
