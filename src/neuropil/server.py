"""What runs beside the API in a server process: job workers, periodic GC and the
validation safety net (:func:`neuropil.services.validate.reconcile`)."""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa

from neuropil.db.models import Job, JobState
from neuropil.db.types import utcnow
from neuropil.jobs.worker import Workers
from neuropil.services import gc, schema, validate
from neuropil.services.context import Context
from neuropil.services.handlers import job_handlers

log = logging.getLogger(__name__)

#: Seconds between safety-net passes that requeue validation nothing has queued.
RECONCILE_INTERVAL = 60.0


class Background:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.workers = Workers(ctx.jobs, job_handlers(ctx), threads=ctx.settings.job_workers)
        self._stop = threading.Event()
        self._gc_thread: threading.Thread | None = None
        self._reconcile_thread: threading.Thread | None = None

    def start(self) -> None:
        if self.ctx.settings.job_workers > 0:
            orphans = release_orphaned_jobs(self.ctx)
            if orphans:
                log.info("retrying %d job(s) left running by a previous process", orphans)
            self.workers.start()
            self._reconcile_thread = threading.Thread(
                target=self._reconcile_loop, name="neuropil-reconcile", daemon=True
            )
            self._reconcile_thread.start()
        if self.ctx.settings.gc_interval > 0:
            self._gc_thread = threading.Thread(
                target=self._gc_loop, name="neuropil-gc", daemon=True
            )
            self._gc_thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.workers.stop()

    def _reconcile_loop(self) -> None:
        schema.warm_up()  # the first validation would otherwise pay ~0.2 s
        while True:
            try:
                queued = validate.reconcile(self.ctx)
                if queued:
                    log.info("queued %d validation job(s) nothing had queued", queued)
            except Exception:
                log.exception("validation safety net failed")
            if self._stop.wait(RECONCILE_INTERVAL):
                return

    def _gc_loop(self) -> None:
        while not self._stop.wait(self.ctx.settings.gc_interval):
            try:
                report = gc.collect(self.ctx)
                if report.total():
                    log.info("garbage collection: %s", report)
            except Exception:
                log.exception("garbage collection failed")


def release_orphaned_jobs(ctx: Context) -> int:
    """End the leases of jobs a killed process left running (SIGKILL, power cut).

    Without this they would wait out their lease (a minute) before any worker
    retried them, e.g. a blob's sha256. On SQLite the server process is the only one that
    runs jobs on its database, so everything still running at start-up is an orphan; the
    expired lease makes the next claim retry it (attempts are counted as for any expired
    lease). On PostgreSQL several servers may share the database, so there the lease, which
    live workers keep renewing, runs out instead.
    """
    if not ctx.db.is_sqlite:
        return 0
    with ctx.db.write() as s:
        res = s.execute(
            sa.update(Job).where(Job.state == JobState.RUNNING).values(locked_until=utcnow())
        )
        return int(getattr(res, "rowcount", 0) or 0)
