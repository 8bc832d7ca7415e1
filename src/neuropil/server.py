"""What runs beside the API in a server process: job workers and periodic GC."""

from __future__ import annotations

import logging
import threading

from neuropil.jobs.worker import Workers
from neuropil.services import gc
from neuropil.services.context import Context
from neuropil.services.handlers import job_handlers

log = logging.getLogger(__name__)


class Background:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.workers = Workers(ctx.jobs, job_handlers(ctx), threads=ctx.settings.job_workers)
        self._stop = threading.Event()
        self._gc_thread: threading.Thread | None = None

    def start(self) -> None:
        if self.ctx.settings.job_workers > 0:
            self.workers.start()
        if self.ctx.settings.gc_interval > 0:
            self._gc_thread = threading.Thread(
                target=self._gc_loop, name="neuropil-gc", daemon=True
            )
            self._gc_thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.workers.stop()

    def _gc_loop(self) -> None:
        while not self._stop.wait(self.ctx.settings.gc_interval):
            try:
                report = gc.collect(self.ctx)
                if report.total():
                    log.info("garbage collection: %s", report)
            except Exception:
                log.exception("garbage collection failed")
