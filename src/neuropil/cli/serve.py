"""``neuropil serve``."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import click
import uvicorn

from neuropil.api.app import create_app
from neuropil.cli._common import data_option, open_context

log = logging.getLogger("neuropil")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@data_option
@click.option("--demo", is_flag=True, help="Seed a demo dandiset if the archive is empty.")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def serve(host: str, port: int, data_dir: Path, demo: bool, log_level: str) -> None:
    """Run the archive (API at /api/, docs at /api/docs/swagger/)."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request at INFO, including signed upload URLs (demo seeding).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    ctx = open_context(data_dir)
    app = create_app(ctx)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        proxy_headers=False,
        access_log=log_level == "debug",
    )
    server = uvicorn.Server(config)
    if demo:
        threading.Thread(
            target=_seed_when_up, args=(server, ctx, host, port), name="neuropil-demo", daemon=True
        ).start()
    shown = host if ":" not in host else f"[{host}]"
    click.echo(f"neuropil archive at http://{shown}:{port}/ (data: {data_dir})", err=True)
    server.run()


def _seed_when_up(server: uvicorn.Server, ctx: object, host: str, port: int) -> None:
    from neuropil.demo import seed_demo

    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.05)
    target = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
    shown = target if ":" not in target else f"[{target}]"
    try:
        seed_demo(ctx, f"http://{shown}:{port}")  # type: ignore[arg-type]
    except Exception:
        log.exception("seeding the demo dandiset failed")
