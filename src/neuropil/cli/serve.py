"""``neuropil serve``: one API process, or ``--workers N`` of them sharing one port."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import click
import httpx
import uvicorn

from neuropil.app import create_app
from neuropil.cli.server_options import open_context, record_server, serve_data_option
from neuropil.services.context import Context

log = logging.getLogger("neuropil")

#: How ``serve --workers N`` tells its API processes the log level (they start afresh).
LOG_LEVEL_ENV = "NEUROPIL_SERVE_LOG_LEVEL"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: With several processes, each line says which one wrote it.
MULTI_LOG_FORMAT = "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"

SQLITE_WORKERS = (
    "--workers {n} needs PostgreSQL (NEUROPIL_DATABASE_URL=postgresql://...): SQLite lets one "
    "process write at a time, so more API processes on it add lock waits, not capacity. On "
    "SQLite, run one `neuropil serve` and, to keep background jobs out of it, "
    "`neuropil worker` beside it (with NEUROPIL_JOB_WORKERS=0). See docs/deployment.md."
)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@serve_data_option
@click.option("--demo", is_flag=True, help="Seed a demo dandiset if the archive is empty.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    envvar="NEUROPIL_SERVER_WORKERS",
    help="API processes sharing the port (more than 1 needs PostgreSQL).",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def serve(host: str, port: int, data_dir: Path, demo: bool, workers: int, log_level: str) -> None:
    """Run the archive (API at /api/, docs at /api/docs/swagger/)."""
    logging.basicConfig(
        level=log_level.upper(), format=LOG_FORMAT if workers == 1 else MULTI_LOG_FORMAT
    )
    # httpx logs every request at INFO, including signed upload URLs (demo seeding).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Migrations, the job engine's tables and the signing secret (<data>/secret.key) are
    # settled here, once, before any API process starts: they all read the same ones.
    ctx = open_context(data_dir)
    if workers > 1 and ctx.db.is_sqlite:
        raise click.UsageError(SQLITE_WORKERS.format(n=workers))
    url = _target(host, port)
    click.echo(f"neuropil archive at {url}/ (data: {data_dir.resolve()})", err=True)
    # Admin commands run from any folder find this archive through the record.
    record_server(data_dir, url)
    if workers == 1:
        _serve_one(ctx, host, port, demo, log_level)
    else:
        ctx.db.dispose()
        _serve_many(data_dir, host, port, demo, workers, log_level)


def _serve_one(ctx: Context, host: str, port: int, demo: bool, log_level: str) -> None:
    config = uvicorn.Config(
        create_app(ctx),
        host=host,
        port=port,
        log_level=log_level,
        proxy_headers=False,
        access_log=log_level == "debug",
    )
    server = uvicorn.Server(config)
    if demo:
        _seed_in_background(ctx, host, port, lambda: bool(server.started), server)
    server.run()


def _serve_many(
    data_dir: Path, host: str, port: int, demo: bool, workers: int, log_level: str
) -> None:
    """uvicorn's supervisor: ``workers`` processes accept on one socket; one that dies is
    replaced. Each builds its app with :func:`api_process_app`."""
    os.environ["NEUROPIL_DATA"] = str(data_dir)
    os.environ[LOG_LEVEL_ENV] = log_level
    if demo:
        ctx = open_context(data_dir, migrate=False)
        _seed_in_background(ctx, host, port, lambda: _answers(host, port), None)
    uvicorn.run(
        f"{__name__}:api_process_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        proxy_headers=False,
        access_log=log_level == "debug",
    )


def api_process_app() -> object:
    """The app of one of ``serve --workers N``'s processes (uvicorn imports and calls it).
    The parent has migrated the database already."""
    level = os.environ.get(LOG_LEVEL_ENV, "info")
    logging.basicConfig(level=level.upper(), format=MULTI_LOG_FORMAT)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    ctx = open_context(Path(os.environ.get("NEUROPIL_DATA", "neuropil-data")), migrate=False)
    return create_app(ctx)


def _target(host: str, port: int) -> str:
    target = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
    shown = target if ":" not in target else f"[{target}]"
    return f"http://{shown}:{port}"


def _answers(host: str, port: int) -> bool:
    try:
        return httpx.get(f"{_target(host, port)}/api/info/", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _seed_in_background(
    ctx: Context, host: str, port: int, up: Callable[[], bool], server: uvicorn.Server | None
) -> None:
    threading.Thread(
        target=_seed_when_up, args=(ctx, host, port, up, server), name="neuropil-demo", daemon=True
    ).start()


def _seed_when_up(
    ctx: Context, host: str, port: int, up: Callable[[], bool], server: uvicorn.Server | None
) -> None:
    from neuropil.demo import seed_demo

    while not up():
        if server is not None and server.should_exit:
            return
        time.sleep(0.05)
    try:
        seed_demo(ctx, _target(host, port))
    except Exception:
        log.exception("seeding the demo dandiset failed")
