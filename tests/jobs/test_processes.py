"""Scale-out with real processes: ``serve --workers 2`` on PostgreSQL (two API processes,
one session secret), ``neuropil worker`` running the jobs an API process enqueued, and a
worker SIGKILLed in the middle of a job, whose job then runs again elsewhere, once."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from neuropil.db.engine import sqlite_url
from tests.api.helpers import SHA256, client, create_dandiset, sha256_hex, upload_asset, wait_for
from tests.support import postgres
from tests.support.processes import Connection, children
from tests.support.server import NEUROPIL, ServerProcess
from tests.support.workers import Worker, job_rows, starts
from tests.web.helpers import WebClient, csrf_token

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    postgres.require()
    with postgres.fresh_database() as url:
        yield url


# -- several API processes ------------------------------------------------------------------
def test_sqlite_refuses_several_api_processes(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data")
    out = subprocess.run(
        [*NEUROPIL, "serve", "--port", str(server.port), "--workers", "2"],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert "--workers 2 needs PostgreSQL" in out.stderr
    assert "neuropil worker" in out.stderr


def test_two_api_processes_share_sessions_and_csrf(pg_url: str, tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", database_url=pg_url, serve_args=["--workers", "2"])
    key = server.add_user("alice")
    with server:
        assert server.proc is not None
        # Sign in (wherever that lands); the cookie is all a browser brings along.
        with WebClient(server.url) as web:
            web.set_password(key)
            cookie = f"np_session={web.http.cookies['np_session']}"
        api_pids = children(server.proc.pid)
        seen: dict[int, Connection] = {}
        for _ in range(200):  # the kernel hands connections to either process
            conn = Connection(server, api_pids)
            status, page = conn.request("GET", "/account", cookie=cookie)
            assert status == 200 and "alice" in page  # signed in, whichever process answers
            assert conn.pid is not None
            seen.setdefault(conn.pid, conn)
            if len(seen) == 2:
                break
        assert len(seen) == 2, f"one process served every request: {sorted(seen)}"
        assert server.proc.pid not in seen  # the supervisor serves nothing itself
        (pid_a, conn_a), (pid_b, conn_b) = sorted(seen.items())
        # A form from one process, posted to the other: its CSRF token is accepted there.
        _, page = conn_a.request("GET", "/account", cookie=cookie)
        assert conn_a.pid == pid_a
        status, result = conn_b.request(
            "POST", "/account/api-key", cookie=cookie, body=f"csrf_token={csrf_token(page)}"
        )
        assert conn_b.pid == pid_b
        assert status == 200, result[:500]
        assert 'id="api-key"' in result
        # A forged token is refused by either.
        status, _ = conn_a.request(
            "POST", "/account/api-key", cookie=cookie, body="csrf_token=forged"
        )
        assert status == 403
        for conn in seen.values():
            conn.close()


# -- workers --------------------------------------------------------------------------------
SETUPS = [
    pytest.param("sqlite", "inprocess", id="inprocess-sqlite"),
    pytest.param("postgres", "inprocess", id="inprocess-postgres"),
    pytest.param("postgres", "procrastinate", id="procrastinate-postgres"),
]


@pytest.mark.parametrize(("database", "engine"), SETUPS)
def test_worker_killed_mid_job_its_job_runs_again_once(
    database: str, engine: str, tmp_path: Path
) -> None:
    if database == "sqlite":
        _run_kill_scenario(None, engine, tmp_path)
        return
    postgres.require()
    with postgres.fresh_database() as url:  # its own: the job tables start empty
        _run_kill_scenario(url, engine, tmp_path)


def _run_kill_scenario(url: str | None, engine: str, tmp_path: Path) -> None:
    env = {"NEUROPIL_JOBS": engine, "NEUROPIL_JOB_WORKERS": "0", "NEUROPIL_JOB_LEASE": "3"}
    workers = ["--workers", "2"] if url else []
    server = ServerProcess(tmp_path / "data", database_url=url, env=env, serve_args=workers)
    token = server.add_user("owner")
    db_url = url or sqlite_url(server.data_dir / "neuropil.db")
    log, hold = tmp_path / "starts.log", tmp_path / "hold"
    data = os.urandom(300_000)
    running: list[Worker] = []
    with server, client(server.api_url, token) as c:
        # An API process enqueues the sha256 job; no API process runs it.
        ident = create_dandiset(c, "workers")
        asset = upload_asset(c, ident, "f.bin", data)
        blob_id = asset["blob"]
        time.sleep(1.0)
        assert SHA256 not in c.get(f"assets/{asset['asset_id']}/").json()["digest"]
        assert [(k, s) for k, _, s, _ in job_rows(db_url, engine) if k == "blob.sha256"] == [
            ("blob.sha256", "queued" if engine == "inprocess" else "todo")
        ]
        hold.touch()
        try:
            first = Worker(server, log, hold)
            running.append(first)
            wait_for(lambda: starts(log) or None, timeout=60, every=0.05)
            assert starts(log) == [("start", blob_id, first.pid)]
            second = Worker(server, log, hold)  # idle: the job is leased to the first
            running.append(second)
            time.sleep(2.0)
            assert starts(log) == [("start", blob_id, first.pid)]
            first.kill()  # SIGKILL in the middle of the job
            hold.unlink()
            sha = wait_for(
                lambda: c.get(f"assets/{asset['asset_id']}/").json()["digest"].get(SHA256),
                timeout=60,
            )
            assert sha == sha256_hex(data)
            wait_for(lambda: _all_done(db_url, engine), timeout=60)
        finally:
            for w in running:
                w.stop()
    # The job ran twice (killed, then again in the other worker) and took effect once.
    assert starts(log) == [
        ("start", blob_id, first.pid),
        ("start", blob_id, second.pid),
        ("done", blob_id, second.pid),
    ]
    rows = job_rows(db_url, engine)
    done = "done" if engine == "inprocess" else "succeeded"
    sha_jobs = [(s, a) for k, key, s, a in rows if k == "blob.sha256"]
    assert sha_jobs == [(done, 2)]  # one job, two runs
    # What the sha256 job enqueues in its transaction was enqueued once.
    index_jobs = [r for r in rows if r[0] == "blob.index"]
    assert [(key, s) for _, key, s, _ in index_jobs] == [(f"blob.index:{blob_id}", done)]


def _all_done(url: str, engine: str) -> bool:
    active = ("queued", "running") if engine == "inprocess" else ("todo", "doing")
    rows: list[tuple[Any, ...]] = job_rows(url, engine)
    # Periodic duties (gc, the hourly embargo check) are always queued: only the rest count.
    periodic = {"gc.collect", "embargo.check"}
    return not [r for r in rows if r[2] in active and r[0] not in periodic]
