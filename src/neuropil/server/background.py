"""What runs beside the requests: the job runner of a process that runs jobs (a server
process with the built-in engine, or ``neuropil worker``), and that process's periodic
duties: the validation safety net (:func:`neuropil.services.validity.reconcile`),
scheduling garbage collection (:func:`neuropil.services.gc.schedule`), the check for
embargoes that reached their end date (:func:`neuropil.services.unembargo.schedule`) and the
search tables' statistics (:func:`neuropil.services.search.maintenance.refresh_statistics`).

Nothing here touches another process's jobs: a job whose worker died runs again when its
lease runs out (``docs/design/jobs.md``), so any number of processes can start and stop on
one database.
"""

from __future__ import annotations

import logging
import threading

from neuropil.jobs.protocol import JobRunner
from neuropil.services import gc, mail, schema, unembargo, validity
from neuropil.services.context import Context
from neuropil.services.handlers import job_handlers
from neuropil.services.search import maintenance as search_maintenance
from neuropil.services.zarr import ingest as zarr_ingest

log = logging.getLogger(__name__)

#: Seconds between passes of the periodic duties (safety net, GC scheduling).
DUTY_INTERVAL = 60.0


class Background:
    """The background work of one process; :meth:`start` and :meth:`stop` bracket its life.

    ``concurrency`` is how many jobs this process runs at once. By default (a server
    process) that is ``NEUROPIL_JOB_WORKERS`` if the engine runs jobs beside requests, else
    none: with procrastinate, jobs run only in ``neuropil worker`` processes.
    """

    def __init__(self, ctx: Context, *, concurrency: int | None = None) -> None:
        self.ctx = ctx
        if concurrency is None:
            concurrency = ctx.settings.job_workers if ctx.jobs.runs_beside_requests else 0
        self.concurrency = concurrency
        self.runner: JobRunner | None = (
            ctx.jobs.runner(job_handlers(ctx), concurrency=concurrency) if concurrency > 0 else None
        )
        self._stop = threading.Event()
        self._duties: threading.Thread | None = None

    def start(self) -> None:
        if self.runner is None:
            if not self.ctx.jobs.runs_beside_requests:
                log.info(
                    "background jobs (NEUROPIL_JOBS=%s) run in `neuropil worker` processes",
                    self.ctx.jobs.engine,
                )
            return
        log.info("%s", mail.describe(self.ctx.settings))  # this process sends the mail
        self.runner.start()
        self._duties = threading.Thread(target=self._duty_loop, name="neuropil-duties", daemon=True)
        self._duties.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self.runner is not None:
            self.runner.stop(timeout)

    def _duty_loop(self) -> None:
        schema.warm_up()  # the first validation would otherwise pay ~0.2 s
        while True:
            self.run_duties()
            if self._stop.wait(DUTY_INTERVAL):
                return

    def run_duties(self) -> None:
        """One pass: requeue validation nothing has queued; make sure a collection is
        scheduled. Each process that runs jobs does this; dedup keys make it idempotent."""
        try:
            queued = validity.reconcile(self.ctx)
            if queued:
                log.info("queued %d validation job(s) nothing had queued", queued)
        except Exception:
            log.exception("validation safety net failed")
        try:
            queued = zarr_ingest.reconcile(self.ctx)
            if queued:
                log.info("queued %d Zarr ingest(s) nothing had queued", queued)
        except Exception:
            log.exception("Zarr ingest safety net failed")
        if self.ctx.settings.gc_interval > 0:
            try:
                gc.schedule(self.ctx, self.ctx.settings.gc_interval)
            except Exception:
                log.exception("could not schedule garbage collection")
        if self.ctx.settings.embargo_check_interval > 0:
            try:
                unembargo.schedule(self.ctx, self.ctx.settings.embargo_check_interval)
            except Exception:
                log.exception("could not schedule the embargo check")
        try:  # cheap unless a large ingest moved the counters: then ANALYZE/VACUUM
            search_maintenance.refresh_statistics(self.ctx.db)
        except Exception:
            log.exception("could not refresh the search statistics")
