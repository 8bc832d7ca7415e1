"""``neuropil worker``: a process that runs background jobs and nothing else."""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from types import FrameType

import click

from neuropil.cli.server_options import data_option, open_context
from neuropil.server.background import Background

LOG_FORMAT = "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"


@click.command()
@data_option
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    envvar="NEUROPIL_WORKER_CONCURRENCY",
    help="Jobs this process runs at once.",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def worker(data_dir: Path, concurrency: int, log_level: str) -> None:
    """Run background jobs (hashing, validation, indexes, Zarr ingest, garbage collection)
    until SIGTERM or Ctrl-C.

    Any number of workers, on any machines, may share one archive: they take jobs from its
    database (NEUROPIL_JOBS=inprocess: the archive's jobs table; procrastinate: its tables
    in the same PostgreSQL database). A worker that dies loses its running jobs to the
    others after NEUROPIL_JOB_LEASE seconds.
    """
    logging.basicConfig(level=log_level.upper(), format=LOG_FORMAT)
    ctx = open_context(data_dir)
    background = Background(ctx, concurrency=concurrency)
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    background.start()
    click.echo(
        f"neuropil worker {os.getpid()}: {ctx.jobs.engine} jobs, {concurrency} at a time "
        f"(data: {data_dir})",
        err=True,
    )
    while not stopping.wait(1.0):
        pass
    click.echo(f"neuropil worker {os.getpid()}: stopping", err=True)
    background.stop(timeout=ctx.settings.job_lease)
