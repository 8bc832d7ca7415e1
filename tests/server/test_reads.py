"""Where a handler marked ``short_read`` runs: on the event loop when the data is in the
process, on a worker thread otherwise, and on a thread again when it would have waited."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
import sqlalchemy as sa

from neuropil.config import Settings
from neuropil.server import reads
from neuropil.services.context import Context, make_context


@pytest.fixture(params=["local", "memory"])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Context]:
    made = make_context(Settings(data_dir=tmp_path / "data", storage=request.param))
    yield made
    made.db.dispose()


def _run(ctx: Context, *, write: bool = False, install: bool = True) -> tuple[bool, int]:
    """Whether the handler ran on the event loop's thread, and what it read."""

    @reads.short_read
    def handler(n: int) -> tuple[int, int]:
        if write:
            with ctx.db.write() as s:
                s.execute(sa.select(1))
        with ctx.db.read() as s:
            return threading.get_ident(), int(s.scalar(sa.select(sa.literal(n))) or 0)

    async def main() -> tuple[bool, int]:
        if install:
            reads.install(ctx)
        thread, value = await handler(7)
        return thread == threading.get_ident(), value

    return anyio.run(main)


def test_on_the_loop_only_when_the_data_is_in_the_process(ctx: Context) -> None:
    # SQLite and local files: no thread; an in-memory store stands for one across a network.
    assert reads.on_loop(ctx) is ctx.store.capabilities.local_files
    assert _run(ctx) == (reads.on_loop(ctx), 7)


def test_a_read_that_would_wait_runs_again_on_a_thread(ctx: Context) -> None:
    assert _run(ctx, write=True) == (False, 7)


def test_without_the_apps_start_up_on_a_thread(ctx: Context) -> None:
    assert _run(ctx, install=False) == (False, 7)


def test_short_reads_on_threads_run_a_few_at_a_time(tmp_path: Path) -> None:
    # A store across a network (in memory here): marked reads run on threads, but never more
    # than SHORT_READ_THREADS at once, however many requests wait.
    made = make_context(Settings(data_dir=tmp_path / "data", storage="memory"))
    running = peak = 0
    lock = threading.Lock()

    @reads.short_read
    def handler() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        threading.Event().wait(0.02)
        with lock:
            running -= 1

    async def main() -> None:
        reads.install(made)
        async with anyio.create_task_group() as tg:
            for _ in range(4 * reads.SHORT_READ_THREADS):
                tg.start_soon(handler)

    try:
        anyio.run(main)
    finally:
        made.db.dispose()
    assert peak == reads.SHORT_READ_THREADS
