"""Job workers as real processes: ``neuropil worker`` with the sha256 job held on demand
(:mod:`tests.jobs.slow_worker`), and what the job engines' tables say about the jobs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from neuropil.db.engine import Database
from tests.support.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]


class Worker:
    """``neuropil worker`` (through :mod:`tests.jobs.slow_worker`) as a real process."""

    def __init__(self, server: ServerProcess, log: Path, hold: Path) -> None:
        env = server.env()
        env.update(SLOW_WORKER_LOG=str(log), SLOW_WORKER_HOLD=str(hold))
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        out = (server.data_dir.parent / "workers.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.jobs.slow_worker", "worker", "--concurrency", "1"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def job_rows(url: str, engine: str) -> list[tuple[str, str | None, str, int]]:
    """(kind, dedup key, state, attempts) of every job, read from the engine's table."""
    query = (
        "SELECT kind, dedup_key, state, attempts FROM jobs ORDER BY id"
        if engine == "inprocess"
        else "SELECT task_name, queueing_lock, status::text, attempts FROM procrastinate_jobs "
        "ORDER BY id"
    )
    db = Database(url)
    try:
        with db.read() as s:
            return [(r[0], r[1], str(r[2]), int(r[3])) for r in s.execute(sa.text(query))]
    finally:
        db.dispose()


def starts(log: Path) -> list[tuple[str, str, int]]:
    """(``start`` or ``done``, blob id, worker pid) of each held sha256 job, in order."""
    if not log.exists():
        return []
    lines = [line.split() for line in log.read_text().splitlines()]
    return [(what, blob, int(pid)) for what, blob, pid in lines]
