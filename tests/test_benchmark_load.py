"""The load benchmark's parts that need no server: wrk's output parsed, the report's rows.

(The whole benchmark needs ``wrk``, minutes of load and optionally dandi-archive; these
checks keep a wrk format change or a report bug from surfacing only after a long run.)
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from benchmarks import load, wrk

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:41234/api/dandisets/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.31ms    4.02ms  61.50ms   80.00%
    Req/Sec   650.12     40.33   730.00     70.00%
  Latency Distribution
     50%   11.90ms
     75%   14.02ms
     90%   17.35ms
     99%    1.02s
  12990 requests in 10.01s, 8.51MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   1297.70
Transfer/sec:    870.55KB
NP-ERRORS non2xx=5 connect=0 read=1 write=0 timeout=2
"""


def test_wrk_output_is_parsed() -> None:
    r = wrk.parse(WRK_OUTPUT)
    assert (r.requests, r.rps, r.seconds) == (12990, 1297.70, 10.01)
    assert (r.p50_ms, r.p90_ms, r.p99_ms) == (11.90, 17.35, 1020.0)
    assert (r.non2xx, r.socket_errors, r.errors) == (5, 3, 8)


def test_unexpected_wrk_output_is_an_error() -> None:
    with pytest.raises(ValueError, match="unexpected wrk output"):
        wrk.parse("Running 10s test @ http://127.0.0.1:1/\n")


def test_load_targets_only_loopback(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="loopback"):
        wrk.run_wrk("http://192.0.2.1/", script_dir=tmp_path, seconds=1)


def _sample(target: str, request: str, rnd: int, rps: float, p99: float = 20.0) -> dict[str, Any]:
    return {
        "round": rnd,
        "request": request,
        "target": target,
        "rps": rps,
        "p50_ms": 5.0,
        "p99_ms": p99,
        "errors": 0,
        "cpu_ms_per_request": 1.0,
    }


def test_rows_give_ratios_per_round_and_verdicts() -> None:
    np_, peer = "neuropil SQLite x1", "dandi-archive x1"
    samples = [
        _sample(np_, "version info", 0, 1000.0),
        _sample(peer, "version info", 0, 50.0),
        _sample(np_, "version info", 1, 900.0, p99=80.0),
        _sample(peer, "version info", 1, 100.0),
        _sample(np_, load.BLOB_REQUEST, 0, 300.0),
    ]
    phase = {
        "processes": 1,
        "targets": [
            {"name": np_, "kind": "neuropil", "urls": {}},
            {"name": peer, "kind": "dandi-archive", "urls": {}},
        ],
        "samples": samples,
    }
    rows = load.rows({"phases": [phase]})
    info = next(r for r in rows if r[1] == "wrk" and r[2] == np_ and "version info" in r[0])
    assert info[3] == "950/s" and info[4] == "900-1000"
    assert info[6] == "14.5x (9.0-20.0)"  # the median of 20x and 9x, per round
    assert info[8] == "MISS (p99)"  # median p99 of 20 and 80 ms is 50 ms: not under 50
    blob = next(r for r in rows if r[2] == np_ and load.BLOB_REQUEST in r[0])
    assert blob[6] == "" and blob[8] == "ok"
    assert any(r[2] == peer for r in rows)


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command: state, parent, ..."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def _becomes(pid: int, stopped: bool) -> bool:
    """Whether ``pid`` is (or within 5 s becomes) stopped, or not stopped."""
    for _ in range(100):
        fields = _stat(pid)
        if fields is not None and (fields[0] == "T") == stopped:
            return True
        time.sleep(0.05)
    return False


SLEEPER = "import time; time.sleep(60)"
PARENT = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {SLEEPER!r}]); {SLEEPER}"


def test_targets_not_measured_are_paused_with_their_children() -> None:
    """A target waits stopped (its whole process tree) while another one is measured, and
    runs again afterwards."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT])
    try:
        children: list[int] = []
        for _ in range(200):
            children = [
                int(p)
                for p in os.listdir("/proc")
                if p.isdigit() and (_stat(int(p)) or ["", ""])[1] == str(parent.pid)
            ]
            if children:
                break
            time.sleep(0.05)
        (child,) = children
        idle = load.Target("idle", "bare", 1, parent.pid, roots=[parent.pid])
        with load.paused([idle]):
            assert _becomes(parent.pid, stopped=True)
            assert _becomes(child, stopped=True)
        assert _becomes(parent.pid, stopped=False)
        assert _becomes(child, stopped=False)
    finally:
        parent.kill()
        parent.wait()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_steal_is_read_from_proc_stat_as_a_share_of_all_cpu_time() -> None:
    from benchmarks import common

    before = common.cpu_ticks()
    if not Path("/proc/stat").exists():
        assert before is None
        return
    assert before is not None and before[1] > 0
    burn = time.process_time() + 0.05
    while time.process_time() < burn:  # some CPU time passes between the readings
        pass
    after = common.cpu_ticks()
    share = common.steal_percent(before, after)
    assert share is not None and 0.0 <= share <= 100.0
    # 30 of 200 ticks stolen between two readings: 15 %; no time between them: no figure.
    assert common.steal_percent((10, 1000), (40, 1200)) == 15.0
    assert common.steal_percent((10, 1000), (10, 1000)) is None
    assert common.steal_percent(None, after) is None


def test_the_steal_note_names_the_run_where_it_was_highest() -> None:
    samples = [
        {
            "target": "neuropil SQLite x1",
            "request": "assets page",
            "round": 0,
            "p99_ms": 21.0,
            "steal_percent": 0.5,
        },
        {
            "target": "neuropil SQLite x1",
            "request": "assets page",
            "round": 2,
            "p99_ms": 53.2,
            "steal_percent": 12.25,
        },
        {
            "target": "dandi-archive x1",
            "request": "assets page",
            "round": 1,
            "p99_ms": 400.0,
            "steal_percent": 1.0,
        },
    ]
    note = load.steal_note("x1 phase", samples)
    assert "median 1.0 %" in note
    assert "highest 12.2 % (neuropil SQLite x1, assets page, round 3, p99 53.2 ms)" in note
    assert load.steal_note("x1 phase", [{"steal_percent": None}]) == (
        "x1 phase: CPU steal not available (no /proc/stat)"
    )


def test_rounds_that_missed_are_listed_with_the_machine_speed_before_them() -> None:
    np_, peer = "neuropil SQLite x1", "dandi-archive x1"
    samples = [
        {**_sample(np_, "assets page", 0, 1000.0), "machine_speed_ms": 25.0},
        {**_sample(peer, "assets page", 0, 50.0), "machine_speed_ms": 25.5},
        {**_sample(np_, "assets page", 1, 800.0, p99=53.2), "machine_speed_ms": 34.0},
        {**_sample(peer, "assets page", 1, 100.0), "machine_speed_ms": 24.0},
        {**_sample(np_, load.BLOB_REQUEST, 0, 300.0), "machine_speed_ms": 26.0},
    ]
    targets = [
        load.Target(np_, "neuropil", 1, None),
        load.Target(peer, "dandi-archive", 1, None),
    ]
    lines = load.round_misses(1, targets, samples)
    # Round 2 missed twice: its p99 and its ratio (800 / 100 = 8x); round 1 held both.
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith("x1 round 2 assets page, neuropil SQLite x1: p99 53.2 ms, 8.0x;")
    assert "machine speed before it 34.0 ms (phase median 25.5)" in line
