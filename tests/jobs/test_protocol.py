"""The :class:`~neuropil.jobs.protocol.JobQueue` contract, on every engine: what services
rely on (enqueue in their transaction, dedup, debounce, status questions) and what runners
do (run, retry, give up, prefer the short jobs)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from neuropil.jobs.protocol import Handler, PermanentJobError
from tests.jobs.conftest import Engine


def enqueue(engine: Engine, kind: str, payload: dict[str, Any], **options: Any) -> None:
    with engine.db.write() as s:
        engine.queue.enqueue(s, kind, payload, **options)


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


class Recorder:
    """Handlers that record what they ran, when, in which order."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, dict[str, Any], float]] = []
        self._lock = threading.Lock()

    def handler(self, kind: str, action: Callable[[dict[str, Any]], None] | None = None) -> Handler:
        def run(payload: dict[str, Any]) -> None:
            with self._lock:
                self.runs.append((kind, payload, time.monotonic()))
            if action is not None:
                action(payload)

        return run

    def payloads(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [p for k, p, _ in self.runs if kind is None or k == kind]


@contextmanager
def running(engine: Engine, handlers: dict[str, Handler], concurrency: int = 1) -> Iterator[None]:
    runner = engine.queue.runner(handlers, concurrency=concurrency)
    runner.start()
    try:
        yield
    finally:
        runner.stop(timeout=10)


def active(engine: Engine, key: str) -> bool:
    with engine.db.read() as s:
        return engine.queue.is_queued(s, key)


# -- what services rely on ------------------------------------------------------------------
def test_a_job_exists_once_its_transaction_commits(engine: Engine) -> None:
    with engine.db.write() as s:
        engine.queue.enqueue(s, "k", {"n": 1}, dedup_key="k:1")
        assert engine.queue.is_queued(s, "k:1")  # the caller's transaction sees it
        assert engine.queue.pending() == 0  # nobody else does yet
    assert engine.queue.pending() == 1
    assert active(engine, "k:1")


def test_a_job_rolls_back_with_its_transaction(engine: Engine) -> None:
    with pytest.raises(RuntimeError), engine.db.write() as s:
        engine.queue.enqueue(s, "k", {"n": 1}, dedup_key="k:1")
        raise RuntimeError("the write that caused the job failed")
    assert engine.queue.pending() == 0
    assert not active(engine, "k:1")


def test_dedup_key_keeps_one_waiting_job(engine: Engine) -> None:
    enqueue(engine, "k", {"n": 1}, dedup_key="k:a")
    enqueue(engine, "k", {"n": 1}, dedup_key="k:a")
    with engine.db.write() as s:  # twice in one transaction, too
        engine.queue.enqueue(s, "k", {"n": 2}, dedup_key="k:b")
        engine.queue.enqueue(s, "k", {"n": 2}, dedup_key="k:b")
    enqueue(engine, "k", {"n": 3})
    enqueue(engine, "k", {"n": 3})  # no key: no dedup
    assert engine.queue.pending() == 4
    with engine.db.read() as s:
        assert engine.queue.active_keys(s) == {"k:a", "k:b"}
    recorder = Recorder()
    with running(engine, {"k": recorder.handler("k")}):
        wait_until(lambda: engine.queue.pending() == 0)
    assert sorted(p["n"] for p in recorder.payloads()) == [1, 2, 3, 3]
    with engine.db.read() as s:
        assert engine.queue.active_keys(s) == set()
        assert engine.queue.gave_up(s, "k:a") is None


def test_a_running_job_may_queue_the_next_try_under_its_own_key(engine: Engine) -> None:
    """What mail's own retry schedule relies on (``services/mail.py``): the waiting job is
    a new one, not swallowed by the dedup of the one that runs."""
    recorder = Recorder()

    def again(payload: dict[str, Any]) -> None:
        if payload["n"] == 1:
            enqueue(engine, "k", {"n": 2}, dedup_key="k:self", delay=0.2)

    with running(engine, {"k": recorder.handler("k", again)}):
        enqueue(engine, "k", {"n": 1}, dedup_key="k:self")
        wait_until(lambda: len(recorder.runs) == 2 and engine.queue.pending() == 0)
    assert [p["n"] for p in recorder.payloads()] == [1, 2]


def test_delay_and_debounce(engine: Engine) -> None:
    """Enqueued again and again every 0.2 s with a 0.6 s delay, a job still runs within
    ``max_delay`` (1.5 s) of the first enqueue; a lone delayed job waits its delay."""
    recorder = Recorder()
    with running(engine, {"k": recorder.handler("k")}):
        began = time.monotonic()
        enqueue(engine, "k", {"n": 1}, dedup_key="lone", delay=1.0)
        while time.monotonic() - began < 3.0:
            enqueue(engine, "k", {"n": 2}, dedup_key="busy", delay=0.6, max_delay=1.5)
            time.sleep(0.2)
        wait_until(lambda: len(recorder.runs) >= 3)
    first = {p["n"]: t - began for _, p, t in reversed(recorder.runs)}
    assert 1.0 <= first[1] < 3.0  # waited its delay, then ran (procrastinate polls 0.5 s)
    # Pushed back, but no further than max_delay: it ran while still being pushed back
    # (without the bound it would have run 0.6 s after the last enqueue, at 3.6 s).
    assert 1.5 <= first[2] < 3.0
    assert [p["n"] for p in recorder.payloads()].count(1) == 1


# -- what runners do ------------------------------------------------------------------------
def test_failures_are_retried_then_succeed(engine: Engine) -> None:
    tries: list[int] = []

    def flaky(payload: dict[str, Any]) -> None:
        tries.append(1)
        if len(tries) == 1:
            raise OSError("the store blinked")

    with running(engine, {"k": flaky}):
        enqueue(engine, "k", {}, dedup_key="flaky")
        wait_until(lambda: engine.queue.pending() == 0, timeout=30)  # backoff: 2 s
    assert len(tries) == 2
    with engine.db.read() as s:
        assert engine.queue.gave_up(s, "flaky") is None


def test_permanent_error_gives_up_at_once(engine: Engine) -> None:
    def gone(payload: dict[str, Any]) -> None:
        raise PermanentJobError("blob b9 no longer exists")

    recorder = Recorder()
    with running(engine, {"k": recorder.handler("k", gone)}):
        enqueue(engine, "k", {}, dedup_key="gone")
        wait_until(lambda: engine.queue.pending() == 0)
        time.sleep(2.5)  # a retry would have come by now
    assert len(recorder.runs) == 1
    with engine.db.read() as s:
        assert not engine.queue.is_queued(s, "gone")
        reason = engine.queue.gave_up(s, "gone")
    assert reason
    if engine.name.startswith("inprocess"):
        assert reason == "blob b9 no longer exists"


def test_unknown_kind_fails(engine: Engine) -> None:
    with running(engine, {}):
        enqueue(engine, "mystery", {}, dedup_key="mystery")
        wait_until(lambda: engine.queue.pending() == 0)
    with engine.db.read() as s:
        assert engine.queue.gave_up(s, "mystery")


def test_low_priority_kinds_wait_while_others_are_runnable(engine: Engine) -> None:
    enqueue(engine, "slow", {"n": 1})
    enqueue(engine, "quick", {"n": 2})
    enqueue(engine, "slow", {"n": 3})
    recorder = Recorder()
    handlers = {"slow": recorder.handler("slow"), "quick": recorder.handler("quick")}
    with running(engine, handlers, concurrency=1):
        wait_until(lambda: len(recorder.runs) == 3)
    assert [p["n"] for p in recorder.payloads()] == [2, 1, 3]


def test_concurrent_runners_run_each_job_once(engine: Engine) -> None:
    for n in range(30):
        enqueue(engine, "k", {"n": n})
    recorder = Recorder()
    handler = recorder.handler("k", lambda p: time.sleep(0.01))
    with running(engine, {"k": handler}, concurrency=3), running(engine, {"k": handler}, 3):
        wait_until(lambda: len(recorder.runs) >= 30 and engine.queue.pending() == 0)
    assert sorted(p["n"] for p in recorder.payloads()) == list(range(30))


def test_purge_finished(engine: Engine) -> None:
    recorder = Recorder()
    with running(engine, {"k": recorder.handler("k")}):
        enqueue(engine, "k", {"n": 1})
        wait_until(lambda: len(recorder.runs) == 1 and engine.queue.pending() == 0)
    assert engine.queue.purge_finished(timedelta(days=7)) == 0  # too recent
    time.sleep(1.1)
    assert engine.queue.purge_finished(timedelta(seconds=1)) == 1
