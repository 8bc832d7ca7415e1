"""Worker threads that run the built-in queue's jobs (:mod:`neuropil.jobs.queue`) with
registered handlers, in a server process or in ``neuropil worker``."""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from datetime import timedelta
from typing import Protocol

from neuropil.db.models import Job
from neuropil.jobs.protocol import MAX_ATTEMPTS, Handler, PermanentJobError, retry_delay

__all__ = ["JOB_NICE", "Handler", "PermanentJobError", "Workers", "lower_thread_priority"]

log = logging.getLogger(__name__)

#: How much lower than the server's request threads the worker threads run (Linux ``nice``
#: steps). Jobs hash and index whole blobs; at equal priority they take CPU from the
#: uploads and page views that are happening meanwhile, which someone is waiting on.
JOB_NICE = 10


class ClaimingQueue(Protocol):
    """What :class:`Workers` needs of a queue: claim a job under a lease, renew the lease,
    record the outcome. A claimed :class:`Job`'s ``attempts`` is the fencing token: a
    worker whose lease ran out can no longer renew or finish the job another one took."""

    wakeup: threading.Event
    lease: timedelta

    def claim(self) -> Job | None: ...
    def renew(self, job: Job) -> bool: ...
    def finish(self, job: Job) -> None: ...
    def fail(self, job: Job, error: str, *, retry_in: timedelta | None) -> None: ...
    def next_due(self) -> float | None: ...


def lower_thread_priority(steps: int) -> bool:
    """Make the calling thread ``steps`` nice levels lower (Linux: ``nice`` is per thread).

    Returns whether it worked; elsewhere, or where the change is refused, threads keep the
    process's priority, which is only slower for requests, never wrong.
    """
    if steps <= 0 or not sys.platform.startswith("linux"):
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + steps))
    except OSError:
        return False
    return True


class Workers:
    """A small pool of threads draining a :class:`ClaimingQueue` (a :class:`JobRunner`)."""

    def __init__(
        self,
        queue: ClaimingQueue,
        handlers: dict[str, Handler],
        *,
        threads: int = 2,
        poll_interval: float = 2.0,
        nice: int = JOB_NICE,
    ) -> None:
        self.queue = queue
        self.handlers = handlers
        self.threads = threads
        self.poll_interval = poll_interval
        self.nice = nice
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for i in range(self.threads):
            t = threading.Thread(target=self._loop, name=f"neuropil-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.queue.wakeup.set()
        for t in self._threads:
            t.join(timeout)

    def run_pending(self) -> int:
        """Run jobs in the calling thread until none is runnable (CLI and tests)."""
        n = 0
        while self.run_one():
            n += 1
        return n

    def run_one(self) -> bool:
        job = self.queue.claim()
        if job is None:
            return False
        handler = self.handlers.get(job.kind)
        alive = threading.Event()
        renewer = threading.Thread(
            target=self._renew, args=(job, alive), name=f"neuropil-lease-{job.id}", daemon=True
        )
        renewer.start()
        try:
            if handler is None:
                raise PermanentJobError(f"no handler for job kind {job.kind!r}")
            handler(job.payload)
        except PermanentJobError as exc:
            log.warning("job %s (%s) failed for good: %s", job.id, job.kind, exc)
            self.queue.fail(job, str(exc), retry_in=None)
        except Exception:
            err = traceback.format_exc()
            log.exception("job %s (%s) failed (attempt %d)", job.id, job.kind, job.attempts)
            retry = None if job.attempts >= MAX_ATTEMPTS else retry_delay(job.attempts)
            self.queue.fail(job, err, retry_in=retry)
        else:
            self.queue.finish(job)
        finally:
            alive.set()
            renewer.join()
        return True

    def _renew(self, job: Job, done: threading.Event) -> None:
        while not done.wait(self.queue.lease.total_seconds() / 3):
            try:
                if not self.queue.renew(job):
                    log.warning("job %s lost its lease; another worker may run it too", job.id)
                    return
            except Exception:  # a missed renewal only risks a duplicate run
                log.exception("could not renew the lease of job %s", job.id)

    def _idle_timeout(self) -> float:
        """Sleep until the next delayed job is due (debounced validation runs a fraction
        of a second after the last change), or at most one poll interval."""
        try:
            due = self.queue.next_due()
        except Exception:  # the database may be briefly unavailable
            return self.poll_interval
        if due is None:
            return self.poll_interval
        return min(self.poll_interval, max(due, 0.005))

    def _loop(self) -> None:
        lower_thread_priority(self.nice)
        while not self._stop.is_set():
            try:
                worked = self.run_one()
            except Exception:  # the database may be briefly unavailable
                log.exception("job worker error")
                worked = False
            if not worked:
                self.queue.wakeup.wait(self._idle_timeout())
                self.queue.wakeup.clear()
                if self._stop.is_set():
                    # The wake-up stop() sent is shared: clearing it could leave another
                    # thread asleep for a whole poll interval. Pass it on.
                    self.queue.wakeup.set()
