"""The real DANDI Archive as a benchmark peer, through the scripts in ``shared/peers``.

``start.sh`` starts dandi-archive (gunicorn with ``GUNICORN_WORKERS`` workers on
127.0.0.1:8300, PostgreSQL, Celery, moto as its S3) on a fresh database and writes the admin
token to ``$DANDI_ROOT/run/api.env``; ``stop.sh`` stops exactly what it started. Nothing
here installs it: ``install.sh`` does, once (see the scripts' README).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from benchmarks.common import REPO, log

API_URL = "http://127.0.0.1:8300/api"


class PeerUnavailable(RuntimeError):
    """The peer's scripts or its installation are missing, or it did not start."""


def scripts_dir() -> Path:
    """``$DANDI_PEER_DIR``, else ``shared/peers/dandi-archive`` beside the repository."""
    env = os.environ.get("DANDI_PEER_DIR")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared" / "peers" / "dandi-archive"]
    candidates += [Path("/work/shared/peers/dandi-archive")]
    for c in candidates:
        if (c / "start.sh").is_file() and (c / "stop.sh").is_file():
            return c
    raise PeerUnavailable("no dandi-archive peer scripts (set DANDI_PEER_DIR)")


def root() -> Path:
    """``$DANDI_ROOT`` as the scripts compute it."""
    env = os.environ.get("DANDI_ROOT")
    return Path(env) if env else Path(tempfile.gettempdir()) / "dandi-archive-peer"


def running() -> bool:
    for name in ("django", "celery", "moto"):
        pid_file = root() / "run" / f"{name}.pid"
        try:
            os.kill(int(pid_file.read_text().strip()), 0)
            return True
        except (OSError, ValueError):
            continue
    return False


class DandiPeer:
    """dandi-archive with ``workers`` gunicorn workers, started afresh and stopped at exit."""

    def __init__(self, workers: int, log_path: Path) -> None:
        self.workers = workers
        self.log_path = log_path
        self.scripts = scripts_dir()
        if not (root() / "venv" / "bin" / "gunicorn").exists():
            raise PeerUnavailable(f"dandi-archive is not installed under {root()} (install.sh)")
        if running():
            raise PeerUnavailable("a dandi-archive peer is running already (someone else's?)")
        self.token = ""

    def start(self) -> DandiPeer:
        env = dict(os.environ, GUNICORN_WORKERS=str(self.workers))
        log(f"load: starting dandi-archive with {self.workers} gunicorn worker(s) (~90 s)")
        with self.log_path.open("ab") as out:
            done = subprocess.run(
                ["bash", str(self.scripts / "start.sh")],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=600,
            )
        if done.returncode != 0:
            self.stop()
            raise PeerUnavailable(f"start.sh failed ({done.returncode}); see {self.log_path}")
        values = dict(
            line.split("=", 1)
            for line in (root() / "run" / "api.env").read_text().splitlines()
            if "=" in line
        )
        self.token = values["DANDI_API_TOKEN"]
        return self

    def stop(self) -> None:
        with self.log_path.open("ab") as out:
            subprocess.run(
                ["bash", str(self.scripts / "stop.sh")],
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=120,
                check=False,
            )

    @property
    def api_url(self) -> str:
        return API_URL

    def __enter__(self) -> DandiPeer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def gunicorn_pid() -> int | None:
    """The gunicorn master (its workers are its children)."""
    try:
        return int((root() / "run" / "django.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def process_pids() -> list[int]:
    """The peer's own processes (gunicorn, Celery, its S3 server), each the root of a tree."""
    pids = []
    for name in ("django", "celery", "moto"):
        try:
            pids.append(int((root() / "run" / f"{name}.pid").read_text().strip()))
        except (OSError, ValueError):
            continue
    return pids


__all__ = ["API_URL", "DandiPeer", "PeerUnavailable", "gunicorn_pid", "process_pids", "running"]
