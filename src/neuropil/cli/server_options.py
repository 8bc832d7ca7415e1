"""Options of the server-side commands (``serve``, ``users``, ``db``, ``gc``, ``worker``): the
data directory, and the service context opened on it.

Every one of them must open the same archive, from whatever folder it is run. ``--data DIR``
or ``$NEUROPIL_DATA`` names the data directory; without them ``serve`` uses
``./neuropil-data`` and records where it runs in a user-level state file
(:func:`record_server`: ``$NEUROPIL_STATE_DIR/server.json``, by default in
``platformdirs.user_state_dir("neuropil")``). The admin commands then use that record: the
data directory of the archive ``neuropil serve`` started last. They never create an archive
nobody asked for: with neither a record nor ``./neuropil-data`` they stop and say how to name
one.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
import platformdirs

from neuropil.config import Settings
from neuropil.db.migrate import upgrade
from neuropil.services.context import Context, make_context

F = TypeVar("F", bound=Callable[..., Any])

#: The data directory of an archive started without --data or $NEUROPIL_DATA.
DEFAULT_DATA = Path("neuropil-data")
STATE_ENV = "NEUROPIL_STATE_DIR"
RECORD_FILE = "server.json"


@dataclass(frozen=True)
class ServerRecord:
    """What ``neuropil serve`` records about the archive it runs."""

    data_dir: str  # absolute
    url: str
    pid: int
    started: str


def record_path(env: dict[str, str] | None = None) -> Path:
    """The state file ``serve`` writes and the admin commands read."""
    env = dict(os.environ) if env is None else env
    override = env.get(STATE_ENV)
    base = Path(override) if override else Path(platformdirs.user_state_dir("neuropil"))
    return base / RECORD_FILE


def record_server(data_dir: Path, url: str) -> Path | None:
    """Record that an archive on ``data_dir`` is served at ``url``; returns the file, or
    None when it cannot be written (the server runs all the same)."""
    path = record_path()
    record = ServerRecord(
        str(data_dir.resolve()), url, os.getpid(), time.strftime("%Y-%m-%d %H:%M:%S")
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError:
        return None
    return path


def read_record() -> ServerRecord | None:
    """The archive ``serve`` started last, if recorded (and readable)."""
    try:
        raw = json.loads(record_path().read_text(encoding="utf-8"))
        return ServerRecord(**{k: raw[k] for k in ServerRecord.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def archive_data_dir(given: Path | None) -> Path:
    """The data directory an admin command works on (see the module docstring)."""
    if given is not None:
        return given
    record = read_record()
    recorded = Path(record.data_dir) if record and Path(record.data_dir).is_dir() else None
    if DEFAULT_DATA.is_dir():
        if recorded is not None and recorded != DEFAULT_DATA.resolve():
            click.echo(
                f"Note: using ./{DEFAULT_DATA} here, not {recorded} (where `neuropil serve` "
                f"runs, {record.url if record else ''}); pass --data to choose.",
                err=True,
            )
        return DEFAULT_DATA
    if recorded is not None and record is not None:
        click.echo(
            f"Using the archive `neuropil serve` started last ({record.url}): data in "
            f"{recorded} (--data DIR or NEUROPIL_DATA chooses another).",
            err=True,
        )
        return recorded
    raise click.UsageError(
        f"No archive found: there is no ./{DEFAULT_DATA} here and `neuropil serve` has "
        f"recorded none ({record_path()}). Start one with `neuropil serve` (it creates "
        f"./{DEFAULT_DATA} and records it), or name its data directory with --data DIR or "
        "NEUROPIL_DATA, as the server was started with."
    )


def _resolve(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path:
    return archive_data_dir(value)


def data_option(f: F) -> F:
    """``--data DIR`` (``$NEUROPIL_DATA``) of an admin command: default, the archive that
    ``neuropil serve`` runs (see the module docstring)."""
    return click.option(
        "--data",
        "data_dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="NEUROPIL_DATA",
        default=None,
        callback=_resolve,
        help="Data directory (SQLite database and blobs). Default: the one `neuropil serve` "
        f"runs on (recorded in {RECORD_FILE} in the user's state directory), else "
        f"./{DEFAULT_DATA}.",
    )(f)


def serve_data_option(f: F) -> F:
    """``--data DIR`` (``$NEUROPIL_DATA``) of ``serve``: where the archive lives."""
    return click.option(
        "--data",
        "data_dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="NEUROPIL_DATA",
        default=str(DEFAULT_DATA),
        show_default=True,
        help="Data directory (SQLite database and blobs); created if missing. Admin "
        "commands run elsewhere find it through the record `serve` writes.",
    )(f)


def open_context(data_dir: Path, *, migrate: bool = True) -> Context:
    """The services' context on ``data_dir``, its database migrated (and the job engine's
    tables installed) unless told not to."""
    settings = Settings(data_dir=data_dir)
    ctx = make_context(settings)
    if migrate:
        upgrade(ctx.db)
        ctx.jobs.prepare()
    return ctx
