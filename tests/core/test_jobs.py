"""The built-in job queue (``neuropil.jobs.queue``) and its workers, on a real SQLite database
file. ``tests/jobs/`` runs the engine-neutral protocol tests on every engine."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from neuropil.db.engine import Database, sqlite_url
from neuropil.db.migrate import upgrade
from neuropil.db.models import Job, JobState
from neuropil.db.types import utcnow
from neuropil.jobs.protocol import DEFAULT_LEASE, MAX_ATTEMPTS, PermanentJobError
from neuropil.jobs.queue import TableQueue as JobQueue
from neuropil.jobs.worker import JOB_NICE, Workers


@pytest.fixture
def queue(db: Database) -> JobQueue:
    return JobQueue(db)


def enqueue(queue: JobQueue, kind: str, payload: dict[str, Any], dedup: str | None = None) -> None:
    with queue.db.write() as s:
        queue.enqueue(s, kind, payload, dedup_key=dedup)


def jobs(db: Database) -> list[Job]:
    with db.read() as s:
        return list(s.scalars(sa.select(Job).order_by(Job.id)))


def only_job(db: Database) -> Job:
    (job,) = jobs(db)
    return job


def make_due(db: Database) -> None:
    """Let the retry delays pass: what the clock does, without waiting for it."""
    with db.write() as s:
        s.execute(sa.update(Job).values(run_after=utcnow() - timedelta(seconds=1)))


def wait_until(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def close_to(when: datetime | None, expected: datetime, slack: float = 1.0) -> bool:
    return when is not None and abs((when - expected).total_seconds()) < slack


# -- enqueueing ------------------------------------------------------------------------------
def test_enqueued_job_is_visible_only_after_commit(db: Database, queue: JobQueue) -> None:
    with db.write() as s:
        queue.enqueue(s, "sha256", {"blob": "b1"})
        s.flush()
        with db.read() as other:  # another connection does not see it yet
            assert other.scalar(sa.select(sa.func.count(Job.id))) == 0
        assert not queue.wakeup.is_set()
    assert queue.wakeup.is_set()  # workers wake once the job is committed
    job = only_job(db)
    assert (job.kind, job.payload, job.state, job.attempts) == (
        "sha256",
        {"blob": "b1"},
        "queued",
        0,
    )
    assert queue.pending() == 1


def test_enqueue_rolls_back_with_its_transaction(db: Database, queue: JobQueue) -> None:
    with pytest.raises(RuntimeError), db.write() as s:
        queue.enqueue(s, "sha256", {"blob": "b1"})
        raise RuntimeError("the write that caused the job failed")
    assert jobs(db) == []
    assert not queue.wakeup.is_set()
    assert queue.claim() is None


def test_dedup_key(db: Database, queue: JobQueue) -> None:
    enqueue(queue, "sha256", {"blob": "b1"}, dedup="sha256:b1")
    enqueue(queue, "sha256", {"blob": "b1"}, dedup="sha256:b1")
    with db.write() as s:  # twice within one transaction, too
        queue.enqueue(s, "sha256", {"blob": "b2"}, dedup_key="sha256:b2")
        queue.enqueue(s, "sha256", {"blob": "b2"}, dedup_key="sha256:b2")
    enqueue(queue, "sha256", {"blob": "b3"})
    enqueue(queue, "sha256", {"blob": "b3"})  # no key: no dedup
    assert [j.dedup_key for j in jobs(db)] == ["sha256:b1", "sha256:b2", None, None]


def test_dedup_only_against_queued_jobs(db: Database, queue: JobQueue) -> None:
    # Once a job runs, new work for the same key is queued again: the running job may have
    # read the old state already.
    enqueue(queue, "sha256", {}, dedup="k")
    claimed = queue.claim()
    assert claimed is not None
    enqueue(queue, "sha256", {}, dedup="k")
    enqueue(queue, "sha256", {}, dedup="k")
    assert [j.state for j in jobs(db)] == [JobState.RUNNING, JobState.QUEUED]


# -- claiming and running --------------------------------------------------------------------
def test_success(db: Database, queue: JobQueue) -> None:
    seen: list[dict[str, Any]] = []
    workers = Workers(queue, {"k": seen.append})
    enqueue(queue, "k", {"n": 1})
    enqueue(queue, "k", {"n": 2})
    assert workers.run_pending() == 2
    assert seen == [{"n": 1}, {"n": 2}]  # oldest first
    for job in jobs(db):
        assert job.state == JobState.DONE
        assert job.attempts == 1
        assert job.locked_until is None
        assert close_to(job.finished, utcnow())
    assert queue.pending() == 0
    assert not workers.run_one()


def test_claim_takes_a_lease(db: Database, queue: JobQueue) -> None:
    enqueue(queue, "k", {})
    job = queue.claim()
    assert job is not None
    assert (job.state, job.attempts) == (JobState.RUNNING, 1)
    assert close_to(job.locked_until, utcnow() + DEFAULT_LEASE)
    assert queue.claim() is None  # leased: nobody else gets it
    assert queue.pending() == 1


def test_failing_job_is_retried_with_backoff_then_failed(db: Database, queue: JobQueue) -> None:
    calls = 0

    def broken(payload: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError(f"disk on fire (try {calls})")

    workers = Workers(queue, {"k": broken})
    enqueue(queue, "k", {})
    for attempt in range(1, MAX_ATTEMPTS):
        assert workers.run_one()
        job = only_job(db)
        assert (job.state, job.attempts) == (JobState.QUEUED, attempt)
        assert close_to(job.run_after, utcnow() + timedelta(seconds=2**attempt))
        assert job.last_error is not None
        assert f"RuntimeError: disk on fire (try {attempt})" in job.last_error
        assert job.locked_until is None
        assert not workers.run_one()  # not due yet
        make_due(db)
    assert workers.run_one()
    job = only_job(db)
    assert (job.state, job.attempts) == (JobState.FAILED, MAX_ATTEMPTS)
    assert job.last_error is not None and f"(try {MAX_ATTEMPTS})" in job.last_error
    assert close_to(job.finished, utcnow())
    make_due(db)
    assert not workers.run_one()  # failed for good
    assert calls == MAX_ATTEMPTS
    assert queue.pending() == 0


def test_flaky_job_succeeds_on_retry(db: Database, queue: JobQueue) -> None:
    tries: list[int] = []

    def flaky(payload: dict[str, Any]) -> None:
        tries.append(1)
        if len(tries) == 1:
            raise OSError("temporarily unavailable")

    workers = Workers(queue, {"k": flaky})
    enqueue(queue, "k", {})
    workers.run_one()
    make_due(db)
    workers.run_one()
    job = only_job(db)
    assert (job.state, job.attempts) == (JobState.DONE, 2)


def test_permanent_error_fails_at_once(db: Database, queue: JobQueue) -> None:
    def gone(payload: dict[str, Any]) -> None:
        raise PermanentJobError(f"blob {payload['blob']} no longer exists")

    workers = Workers(queue, {"k": gone})
    enqueue(queue, "k", {"blob": "b9"})
    assert workers.run_one()
    job = only_job(db)
    assert (job.state, job.attempts) == (JobState.FAILED, 1)
    assert job.last_error == "blob b9 no longer exists"
    make_due(db)
    assert not workers.run_one()


def test_unknown_kind_fails_at_once(db: Database, queue: JobQueue) -> None:
    enqueue(queue, "mystery", {})
    assert Workers(queue, {}).run_one()
    job = only_job(db)
    assert job.state == JobState.FAILED
    assert job.last_error == "no handler for job kind 'mystery'"


def test_expired_lease_is_claimed_again(db: Database, queue: JobQueue) -> None:
    # A worker claims the job and its process dies: the job stays RUNNING until its lease ends.
    enqueue(queue, "k", {"n": 1})
    crashed = queue.claim()
    assert crashed is not None
    assert queue.claim() is None
    with db.write() as s:  # the lease runs out
        s.execute(sa.update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))
    seen: list[dict[str, Any]] = []
    assert Workers(queue, {"k": seen.append}).run_pending() == 1
    assert seen == [{"n": 1}]
    job = only_job(db)
    assert (job.id, job.state, job.attempts) == (crashed.id, JobState.DONE, 2)


def test_jobs_survive_reopening_the_database(tmp_path: Path) -> None:
    path = tmp_path / "restart.sqlite"
    first = Database(sqlite_url(path))
    upgrade(first)
    enqueue(JobQueue(first), "k", {"n": 7})
    first.dispose()

    second = Database(sqlite_url(path))
    try:
        seen: list[dict[str, Any]] = []
        assert Workers(JobQueue(second), {"k": seen.append}).run_pending() == 1
        assert seen == [{"n": 7}]
    finally:
        second.dispose()


def test_purge_finished(db: Database, queue: JobQueue) -> None:
    for n in range(3):
        enqueue(queue, "ok" if n < 2 else "bad", {"n": n})
    Workers(queue, {"ok": lambda p: None}).run_pending()  # two done, one failed
    with db.write() as s:
        s.execute(
            sa.update(Job)
            .where(Job.payload["n"].as_integer() == 0)
            .values(finished=utcnow() - timedelta(days=8))
        )
    assert queue.purge_finished(timedelta(days=7)) == 1
    assert [j.payload["n"] for j in jobs(db)] == [1, 2]


# -- concurrency -----------------------------------------------------------------------------
def test_threads_never_run_the_same_job(db: Database, queue: JobQueue) -> None:
    n_jobs = 60
    for n in range(n_jobs):
        enqueue(queue, "k", {"n": n})
    runs: Counter[int] = Counter()
    lock = threading.Lock()

    def record(payload: dict[str, Any]) -> None:
        with lock:
            runs[payload["n"]] += 1
        time.sleep(0.001)

    workers = Workers(queue, {"k": record})
    drainers = [threading.Thread(target=workers.run_pending) for _ in range(6)]
    for t in drainers:
        t.start()
    for t in drainers:
        t.join(30)
    assert runs == Counter(range(n_jobs))  # every job exactly once
    assert {j.state for j in jobs(db)} == {JobState.DONE}
    assert {j.attempts for j in jobs(db)} == {1}


def test_worker_threads_wake_on_commit(db: Database, queue: JobQueue) -> None:
    done = threading.Event()
    seen: list[int] = []

    def handler(payload: dict[str, Any]) -> None:
        seen.append(payload["n"])
        if len(seen) == 20:
            done.set()

    # A long poll interval: only the wake-up on commit can make the jobs run quickly.
    workers = Workers(queue, {"k": handler}, threads=3, poll_interval=30)
    workers.start()
    try:
        time.sleep(0.05)  # the threads found nothing and went to sleep
        for n in range(20):
            enqueue(queue, "k", {"n": n})
        # Well before the 30 s poll: only the wake-up on commit can have run them. (A bound
        # on behaviour, not speed: a third of the poll interval, however loaded the machine.)
        assert done.wait(10)
        wait_until(lambda: queue.pending() == 0)
    finally:
        workers.stop(timeout=10)
    assert sorted(seen) == list(range(20))
    assert all(not t.is_alive() for t in workers._threads)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="nice is per thread on Linux")
def test_worker_threads_run_below_the_request_threads(db: Database, queue: JobQueue) -> None:
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: list[int] = []
    done = threading.Event()

    def handler(payload: dict[str, Any]) -> None:
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        done.set()

    workers = Workers(queue, {"k": handler}, poll_interval=30)
    workers.start()
    try:
        enqueue(queue, "k", {})
        assert done.wait(10)
    finally:
        workers.stop(timeout=10)
    assert seen == [min(19, mine + JOB_NICE)]
    # Only the worker threads: the caller's own priority is untouched.
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine


def test_low_priority_kinds_wait_while_others_are_runnable(db: Database) -> None:
    queue = JobQueue(db, low_priority=frozenset({"slow"}))
    enqueue(queue, "slow", {"n": 1})
    enqueue(queue, "quick", {"n": 2})
    enqueue(queue, "slow", {"n": 3})
    order = []
    while (job := queue.claim()) is not None:
        order.append(job.payload["n"])
    assert order == [2, 1, 3]  # the quick job first, then the slow ones in queue order


def test_index_builds_are_low_priority() -> None:
    from neuropil.services import indexes
    from neuropil.services.context import LOW_PRIORITY_JOBS

    assert indexes.JOB in LOW_PRIORITY_JOBS


# -- leases across processes ----------------------------------------------------------------
def test_a_worker_that_lost_its_lease_cannot_touch_the_job(db: Database, queue: JobQueue) -> None:
    enqueue(queue, "k", {})
    stale = queue.claim()
    assert stale is not None
    with db.write() as s:  # its lease runs out; another worker claims the job
        s.execute(sa.update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))
    current = queue.claim()
    assert current is not None and current.attempts == 2
    assert not queue.renew(stale)
    queue.finish(stale)  # too late: changes nothing
    queue.fail(stale, "late", retry_in=None)
    job = only_job(db)
    assert (job.state, job.attempts, job.last_error) == (JobState.RUNNING, 2, None)
    assert queue.renew(current)
    queue.finish(current)
    assert only_job(db).state == JobState.DONE


def test_starting_a_process_leaves_running_jobs_alone(tmp_path: Path) -> None:
    """A second server or worker on the same database must not take over the first one's
    running jobs: they stay leased until their lease runs out."""
    from neuropil.config import Settings
    from neuropil.server.background import Background
    from neuropil.services.context import make_context

    ctx = make_context(Settings(data_dir=tmp_path / "data", job_workers=2))
    upgrade(ctx.db)
    with ctx.db.write() as s:
        ctx.jobs.enqueue(s, "blob.sha256", {"blob_id": "b1"})
    assert isinstance(ctx.jobs, JobQueue)
    claimed = ctx.jobs.claim()  # "the first process" runs it
    assert claimed is not None
    background = Background(ctx)  # a second process starts on the same data
    background.start()
    try:
        time.sleep(1.0)
        # The new process may enqueue its periodic jobs (embargo check, search upkeep): the
        # first process's job is the one that must stay as it was.
        (job,) = [j for j in jobs(ctx.db) if j.kind == "blob.sha256"]
        assert (job.state, job.attempts) == (JobState.RUNNING, 1)
        assert job.locked_until == claimed.locked_until
    finally:
        background.stop()
        ctx.db.dispose()
