"""Shared pieces: a real ``neuropil serve`` process, a temporary workspace, statistics."""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
NEUROPIL = [sys.executable, "-m", "neuropil"]


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(
    url: str,
    ok: Sequence[int],
    timeout: float,
    proc: subprocess.Popen[bytes],
    what: str,
    log_path: Path,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"{what} exited with {proc.returncode}; see {log_path}:\n" + tail(log_path)
            )
        try:
            if httpx.get(url, timeout=1).status_code in ok:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not start within {timeout:.0f}s; see {log_path}")


def tail(path: Path, n: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def stop_process(
    proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 15.0
) -> None:
    """Stop one child we started (by its own pid, never by name)."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Workspace:
    """A temporary directory for one run, removed at the end (with any 1 GiB files in it)."""

    def __init__(self, parent: Path | None = None, keep: bool = False) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="neuropil-bench-", dir=parent))
        # nginx workers may run as an unprivileged user: let them traverse to the blob file.
        os.chmod(self.root, 0o755)
        self.keep = keep

    def path(self, name: str) -> Path:
        return self.root / name

    def cleanup(self) -> None:
        if self.keep:
            log(f"keeping {self.root} (--keep)")
            return
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def exit_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit``, so that the servers are stopped and the workspace
    removed on the way out."""

    def _term(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _term)


def standalone_parser(name: str, doc: str | None) -> argparse.ArgumentParser:
    """The argument parser of ``python -m benchmarks.<name>``; ``doc`` is its help text."""
    return argparse.ArgumentParser(
        prog=f"python -m benchmarks.{name}",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_workspace_arguments(p: argparse.ArgumentParser) -> None:
    """``--tmp-dir`` and ``--keep``: where :func:`run_standalone`'s workspace goes, and
    whether it stays."""
    p.add_argument("--tmp-dir", type=Path, default=None)
    p.add_argument("--keep", action="store_true")


def run_standalone(
    run: Callable[[Workspace], dict[str, Any]],
    args: argparse.Namespace,
    *,
    legend: str,
    report: Callable[[dict[str, Any]], str],
) -> int:
    """One benchmark run on its own in a fresh workspace (``args`` from
    :func:`add_workspace_arguments`): print its legend, its report and every failed check."""
    exit_on_sigterm()
    with Workspace(args.tmp_dir, keep=args.keep) as ws:
        res = run(ws)
    print()
    print(legend)
    print()
    print(report(res))
    for problems in res["checks"].values():
        for problem in problems:
            print(f"CHECK FAILED: {problem}")
    return 0


class NeuropilServer:
    """``neuropil serve`` on a free loopback port with its own data directory (SQLite)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        extra_env: dict[str, str] | None = None,
        serve_args: Sequence[str] = (),
    ) -> None:
        self.data_dir = data_dir
        self.serve_args = list(serve_args)  # e.g. ["--workers", "2"]
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"
        self.extra_env = extra_env or {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["NEUROPIL_DATA"] = str(self.data_dir)
        env.pop("NEUROPIL_DATABASE_URL", None)  # always the embedded SQLite database
        env.pop("NEUROPIL_PUBLIC_URL", None)
        env["NEUROPIL_STORAGE"] = "local"
        # `serve` records its data directory for the admin commands: not in the user's own.
        env.setdefault("NEUROPIL_STATE_DIR", str(self.data_dir.parent / "neuropil-state"))
        # No periodic garbage collection in the middle of a measurement.
        env["NEUROPIL_GC_INTERVAL"] = "0"
        env.update(self.extra_env)
        return env

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [*NEUROPIL, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        return out.stdout

    def add_user(self, name: str, *, admin: bool = True) -> str:
        token = self.cli("users", "add", name, *(["--admin"] if admin else [])).strip()
        token = token.splitlines()[-1]
        if len(token) != 40:
            raise RuntimeError(f"unexpected token output {token!r}")
        return token

    def start(self, timeout: float = 120.0) -> NeuropilServer:
        args = [*NEUROPIL, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        args += self.serve_args
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(args, env=self.env(), stdout=out, stderr=subprocess.STDOUT)
        wait_http(
            f"{self.api_url}/info/", (200,), timeout, self.proc, "neuropil serve", self.log_path
        )
        return self

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def __enter__(self) -> NeuropilServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- statistics ------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100), like numpy's default."""
    if not values:
        return math.nan
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def summary(values: Sequence[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "median": median(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "min": min(values) if values else math.nan,
        "max": max(values) if values else math.nan,
        "samples": list(values),
    }


# -- environment -----------------------------------------------------------------------------


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


#: Iterations of :func:`machine_speed_ms`'s loop (about 30-60 ms on the machines seen here).
SPEED_LOOP = 400_000


def machine_speed_ms(repeats: int = 5) -> float:
    """Milliseconds a fixed pure-Python loop takes here now (median of ``repeats``): the
    same work every time, so two runs' figures say whether the machine itself was faster
    in one of them (another tenant, the clock), which the load average does not show."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        acc = 0
        for i in range(SPEED_LOOP):
            acc = (acc + i * i) % 1_000_003
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 1)


def cpu_ticks() -> tuple[int, int] | None:
    """(steal, all) clock ticks of every CPU since boot, from ``/proc/stat`` (``None``
    elsewhere). Steal is time a virtual machine's CPUs were ready but the hypervisor ran
    something else: a slower spell that no process here can cause or see in its own CPU."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        return None
    ticks = [int(x) for x in fields[1:]]
    # user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is
    # counted in user already.
    return ticks[7], sum(ticks[:8])


def steal_percent(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """Steal as a share of all CPU time between two :func:`cpu_ticks` readings."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return round(100.0 * (after[0] - before[0]) / (after[1] - before[1]), 2)


def speed_note(label: str, speeds: list[float]) -> str:
    """A report line of :func:`machine_speed_ms` figures taken before and after measuring."""
    shown = " / ".join(f"{x:.1f}" for x in speeds)
    return (
        f"{label}: machine speed, a fixed Python loop before / after measuring: {shown} ms "
        "(the same work each run: compare runs by it; lower is faster)"
    )


def git_revision() -> dict[str, Any]:
    def run(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "commit": run("rev-parse", "HEAD"),
        "dirty_files": [ln[3:] for ln in run("status", "--porcelain").splitlines()],
    }


def environment() -> dict[str, Any]:
    import sqlite3

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_start": loadavg(),
        "sqlite": sqlite3.sqlite_version,
        "git": git_revision(),
    }


# -- output ----------------------------------------------------------------------------------


#: The columns of ``benchmarks.run``'s table: what each benchmark's ``rows()`` fills.
HEADERS = (
    "benchmark",
    "client",
    "subject",
    "median",
    "spread",
    "detail",
    "ratio",
    "target",
    "verdict",
)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str = "") -> str:
    """A plain-text table; ``align`` holds one ``l``/``r`` per column (default ``l``)."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    align = align.ljust(len(headers), "l")

    def line(r: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(r, widths, align, strict=True)
        ).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)
