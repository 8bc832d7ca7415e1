"""A real ``neuropil serve`` process on a free loopback port, with its own data directory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

NEUROPIL = [sys.executable, "-m", "neuropil"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """Start, stop, kill and restart a neuropil server; run its admin CLI."""

    def __init__(
        self,
        data_dir: Path,
        *,
        database_url: str | None = None,
        env: dict[str, str] | None = None,
        demo: bool = False,
        serve_args: list[str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.extra_env = env or {}
        self.demo = demo
        #: More ``neuropil serve`` options, e.g. ``["--workers", "2"]``.
        self.serve_args = serve_args or []
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["NEUROPIL_DATA"] = str(self.data_dir)
        env.pop("NEUROPIL_DATABASE_URL", None)
        if self.database_url:
            env["NEUROPIL_DATABASE_URL"] = self.database_url
        env.setdefault("NEUROPIL_JOB_WORKERS", "2")
        # `serve` records its data directory for the admin commands: not in the user's own.
        env.setdefault("NEUROPIL_STATE_DIR", str(self.data_dir.parent / "neuropil-state"))
        env.update(self.extra_env)
        return env

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*NEUROPIL, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            check=check,
            timeout=300,
        )

    def add_user(self, name: str, *, admin: bool = False, approved: bool = True) -> str:
        args = ["users", "add", name] + (["--admin"] if admin else [])
        token = self.cli(*args).stdout.strip().splitlines()[-1]
        assert len(token) == 40, token
        return token

    def start(self, timeout: float = 60.0) -> ServerProcess:
        args = [*NEUROPIL, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.demo:
            args.append("--demo")
        args += self.serve_args
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(args, env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(f"server exited with {code}; see {self.log_path}")
            try:
                if httpx.get(f"{self.api_url}/info/", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"server did not start; see {self.log_path}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or power cut of the process."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def restart(self) -> ServerProcess:
        self.stop()
        return self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
