"""Benchmark: throughput under load (issue 14), neuropil against the real DANDI Archive.

The data shape: one dandiset of 20 assets (NWB paths, DANDI asset metadata, 1.06 MiB of
random bytes each), created through the DANDI REST API with the same code on every server
(blobs through neuropil's implementation of the upload protocol, then ``POST .../assets/``);
each server is then left until its draft is validated, so no background work runs during the
measurement.

The requests, anonymous like most readers of a public archive:

* ``dandisets list``: ``GET /api/dandisets/``;
* ``version info``: ``GET /api/dandisets/{id}/versions/draft/info/``;
* ``assets page``: ``GET .../draft/assets/?metadata=1&page_size=100`` (all 20, with metadata);
* ``path lookup``: ``GET .../draft/assets/?path=<one asset's exact path>``;
* ``blob 1 MiB range``: ``GET`` of the blob URL an asset's ``contentUrl`` gives, with
  ``Range: bytes=0-1048575`` (206). dandi-archive hands out its S3 URL, here moto's Python
  server: that row is not dandi-archive's code and gets no ratio;
* ``framework ceiling``: a trivial Starlette JSON endpoint under uvicorn
  (:mod:`benchmarks.bare_app`), what any Python server on this stack can at most serve.

Each (server, request) is loaded by ``wrk`` (:mod:`benchmarks.wrk`) for a fixed time at a
fixed concurrency on loopback. The phases: 1 process each (neuropil on SQLite and on
PostgreSQL, dandi-archive with 1 gunicorn worker, the bare app), then 2 processes each
(``neuropil serve --workers 2``, which needs PostgreSQL; dandi-archive's 2 workers; the bare
app under ``uvicorn --workers 2``). Within a phase the servers run side by side and are
measured in interleaved rounds (the order rotates each round), so the ratio neuropil /
dandi-archive of one round compares two measurements taken seconds apart under the same
machine load; reported are the median and the range of those ratios over the rounds.
While one server is measured, the others are paused (:func:`paused`).

Server CPU per request comes from ``/proc`` (utime + stime of the server process and its
children, around each run): it is far less sensitive to the machine's load than requests/s.
The PostgreSQL backends' own CPU is not in it (for neuropil on PostgreSQL and for
dandi-archive alike); SQLite's is, since it runs inside neuropil's process.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from tests.support.dandisets import publishable_metadata

from benchmarks import dandi_peer
from benchmarks.common import (
    REPO,
    NeuropilServer,
    Workspace,
    cpu_ticks,
    free_port,
    loadavg,
    log,
    machine_speed_ms,
    median,
    speed_note,
    steal_percent,
    stop_process,
    wait_http,
)
from benchmarks.wrk import WrkResult, run_wrk, wrk_binary

ASSETS = 20
BLOB_SIZE = (1 << 20) + (64 << 10)
RANGE = (0, (1 << 20) - 1)
API_REQUESTS = ("dandisets list", "version info", "assets page", "path lookup")
BLOB_REQUEST = "blob 1 MiB range"
CEILING = "framework ceiling"
REQUESTS = (CEILING, *API_REQUESTS, BLOB_REQUEST)
TARGET_RATIO = 10.0
#: Seconds a server runs alone, just continued, before its load starts (see ``phase``).
SETTLE_S = 1.0
TARGET_P99_MS = 50.0
PG_URL = os.environ.get("NEUROPIL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
METADATA = publishable_metadata("The load benchmark's dandiset.")


@dataclass
class Target:
    """A running server and the URL (and headers) of each request it answers."""

    name: str
    kind: str  # "neuropil", "dandi-archive" or "bare"
    processes: int
    pid: int | None
    urls: dict[str, str] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    #: The roots of its process trees: paused while another target is measured.
    roots: list[int] = field(default_factory=list)


# -- the data shape, through the DANDI API ----------------------------------------------------


def asset_path(i: int) -> str:
    sub = f"sub-{i // 4:02d}"
    return f"{sub}/{sub}_ses-{i % 4:02d}_ecephys.nwb"


def asset_metadata(i: int) -> dict[str, Any]:
    return {
        "path": asset_path(i),
        "schemaKey": "Asset",
        "encodingFormat": "application/x-nwb",
        "wasAttributedTo": [
            {
                "schemaKey": "Participant",
                "identifier": f"{i // 4:02d}",
                "species": {"schemaKey": "SpeciesType", "name": "Mus musculus - House mouse"},
                "sex": {"schemaKey": "SexType", "name": "Male"},
            }
        ],
        "variableMeasured": [{"schemaKey": "PropertyValue", "value": "ElectricalSeries"}],
        "measurementTechnique": [
            {
                "schemaKey": "MeasurementTechniqueType",
                "name": "multi electrode extracellular electrophysiology recording technique",
            }
        ],
    }


def _settle(c: httpx.Client, ident: str, timeout: float) -> str:
    """Wait until the draft is validated (no background work left); returns its status."""
    deadline = time.monotonic() + timeout
    status = "?"
    while time.monotonic() < deadline:
        info = c.get(f"dandisets/{ident}/versions/draft/info/").json()
        status = str(info["status"])
        if status in ("Valid", "Invalid") and not info["asset_validation_errors"]:
            return status
        time.sleep(0.5)
    return status


def seed(api_url: str, token: str, workdir: Path, *, settle_s: float) -> dict[str, Any]:
    """The dandiset of :data:`ASSETS` assets; returns its id, a path and a blob URL."""
    from neuropil.client.upload_protocol import upload_blob
    from neuropil.http.transport import Transport

    rng = random.Random(14)
    workdir.mkdir(parents=True, exist_ok=True)
    auth = {"Authorization": f"token {token}"}
    with httpx.Client(base_url=api_url + "/", headers=auth, timeout=120) as c:
        r = c.post("dandisets/", json={"name": "load benchmark", "metadata": METADATA})
        r.raise_for_status()
        ident = r.json()["identifier"]
        with Transport(api_url, token) as t:
            for i in range(ASSETS):
                blob = workdir / f"blob-{i}"
                blob.write_bytes(rng.randbytes(BLOB_SIZE))
                blob_id = upload_blob(t, dandiset_id=ident, path=blob).blob_id
                blob.unlink()
                c.post(
                    f"dandisets/{ident}/versions/draft/assets/",
                    json={"metadata": asset_metadata(i), "blob_id": blob_id},
                ).raise_for_status()
        status = _settle(c, ident, settle_s)
        first = c.get(f"dandisets/{ident}/versions/draft/assets/", params={"metadata": 1})
        urls = first.json()["results"][0]["metadata"]["contentUrl"]
    blob_url = next(u for u in urls if "/api/" not in u)
    return {"identifier": ident, "path": asset_path(7), "blob_url": blob_url, "status": status}


def request_urls(api_url: str, seeded: dict[str, Any]) -> dict[str, str]:
    version = f"{api_url}/dandisets/{seeded['identifier']}/versions/draft"
    return {
        "dandisets list": f"{api_url}/dandisets/",
        "version info": f"{version}/info/",
        "assets page": f"{version}/assets/?metadata=1&page_size=100",
        "path lookup": f"{version}/assets/?path={seeded['path']}",
        BLOB_REQUEST: seeded["blob_url"],
    }


RANGE_HEADERS = {"Range": f"bytes={RANGE[0]}-{RANGE[1]}"}


def check(target: Target, seeded: dict[str, Any]) -> list[str]:
    """One request of each kind, unmeasured: the answers must be what the load expects."""
    problems = []
    with httpx.Client(timeout=30) as c:
        for name, url in target.urls.items():
            r = c.get(url, headers=target.headers.get(name, {}))
            wanted = 206 if name == BLOB_REQUEST else 200
            if r.status_code != wanted:
                problems.append(f"{target.name} {name}: {r.status_code}, not {wanted}")
                continue
            body: Any = r.json() if name != BLOB_REQUEST else None
            if name == "assets page" and len(body["results"]) != ASSETS:
                problems.append(f"{target.name} {name}: {len(body['results'])} assets")
            if name == "assets page" and "metadata" not in body["results"][0]:
                problems.append(f"{target.name} {name}: no metadata")
            if name == "path lookup" and [a["path"] for a in body["results"]] != [seeded["path"]]:
                problems.append(f"{target.name} {name}: {body['results']}")
            if name == "version info" and body["asset_count"] != ASSETS:
                problems.append(f"{target.name} {name}: asset_count {body['asset_count']}")
            if name == BLOB_REQUEST and len(r.content) != RANGE[1] + 1:
                problems.append(f"{target.name} {name}: {len(r.content)} bytes")
    return problems


# -- servers ---------------------------------------------------------------------------------


def _process_table() -> tuple[dict[int, int], dict[int, float]]:
    """Every live process's parent and CPU seconds (utime + stime), from ``/proc``."""
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parent[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    return parent, cpu


def _tree(roots: list[int], parent: dict[int, int]) -> list[int]:
    """``roots`` and all their live descendants, parents before children."""
    out, todo = [], [r for r in roots if r in parent]
    while todo:
        p = todo.pop(0)
        out.append(p)
        todo += [c for c, pp in parent.items() if pp == p]
    return out


def tree_cpu_seconds(pid: int | None) -> float:
    """utime + stime of ``pid`` and all its descendants (live ones), from ``/proc``."""
    if pid is None:
        return float("nan")
    parent, cpu = _process_table()
    return sum(cpu.get(p, 0.0) for p in _tree([pid], parent))


@contextlib.contextmanager
def paused(targets: list[Target]) -> Iterator[None]:
    """The process trees of ``targets`` stopped (SIGSTOP) meanwhile, then continued: their
    own background work (dandi-archive's Celery beat and worker, neuropil's job polling)
    does not take the CPU from the server being measured. Each target is measured with
    the others paused in turn, so neither side gains."""
    parent, _ = _process_table()
    pids = _tree([r for t in targets for r in t.roots], parent)
    stopped = []
    try:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
        yield
    finally:
        for pid in reversed(stopped):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


@contextlib.contextmanager
def bare_app(ws: Workspace, processes: int) -> Iterator[Target]:
    port = free_port()
    log_path = ws.path(f"bare-{processes}.log")
    args = [sys.executable, "-m", "uvicorn", "benchmarks.bare_app:app", "--host", "127.0.0.1"]
    args += ["--port", str(port), "--workers", str(processes), "--no-access-log"]
    with log_path.open("ab") as out:
        proc = subprocess.Popen(args, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/api/info/"
        wait_http(url, (200,), 60, proc, "bare app", log_path)
        target = Target(f"bare Starlette x{processes}", "bare", processes, proc.pid, {CEILING: url})
        target.roots = [proc.pid]
        yield target
    finally:
        stop_process(proc)


@contextlib.contextmanager
def postgres_database(label: str) -> Iterator[str]:
    """A fresh PostgreSQL database, dropped at the end; its URL."""
    name = f"neuropil_load_{label}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(f"{PG_URL}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_URL}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_available() -> str | None:
    """``None`` if the PostgreSQL server answers, else why not."""
    try:
        engine = sa.create_engine(f"{PG_URL}/postgres")
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any driver or connection failure: skip those servers
        return f"PostgreSQL at {PG_URL} is not usable: {exc.__class__.__name__}"


@contextlib.contextmanager
def neuropil(
    ws: Workspace, name: str, processes: int, database_url: str | None, settle_s: float
) -> Iterator[tuple[Target, dict[str, Any]]]:
    env = {"NEUROPIL_DATABASE_URL": database_url} if database_url else {}
    data = ws.path(f"load-{name.replace(' ', '-')}")
    server = NeuropilServer(
        data, extra_env=env, serve_args=["--workers", str(processes)] if processes > 1 else []
    )
    token = server.add_user("load")
    with server:
        seeded = seed(server.api_url, token, ws.path("load-blobs"), settle_s=settle_s)
        target = Target(name, "neuropil", processes, server.proc.pid if server.proc else None)
        target.roots = [server.proc.pid] if server.proc else []
        target.urls = request_urls(server.api_url, seeded)
        target.headers = {BLOB_REQUEST: RANGE_HEADERS}
        yield target, seeded


@contextlib.contextmanager
def dandi_archive(
    ws: Workspace, processes: int, settle_s: float
) -> Iterator[tuple[Target, dict[str, Any]]]:
    with dandi_peer.DandiPeer(processes, ws.path("dandi-peer.log")) as peer:
        seeded = seed(peer.api_url, peer.token, ws.path("load-blobs"), settle_s=settle_s)
        target = Target(
            f"dandi-archive x{processes}", "dandi-archive", processes, dandi_peer.gunicorn_pid()
        )
        target.urls = request_urls(peer.api_url, seeded)
        target.headers = {BLOB_REQUEST: RANGE_HEADERS}
        target.roots = dandi_peer.process_pids()
        yield target, seeded


# -- measurement -----------------------------------------------------------------------------


def measure(
    ws: Workspace, target: Target, request: str, seconds: int, conns: int
) -> dict[str, Any]:
    load_before = loadavg()
    # dandi-archive hands out moto's URL for the blob: its CPU is not gunicorn's.
    pid = None if target.kind == "dandi-archive" and request == BLOB_REQUEST else target.pid
    cpu0 = tree_cpu_seconds(pid)
    ticks0 = cpu_ticks()
    res: WrkResult = run_wrk(
        target.urls[request],
        script_dir=ws.root,
        connections=conns,
        seconds=seconds,
        headers=target.headers.get(request),
    )
    cpu = tree_cpu_seconds(pid) - cpu0
    steal = steal_percent(ticks0, cpu_ticks())
    out = res.as_dict()
    out["steal_percent"] = steal
    out["cpu_ms_per_request"] = 1e3 * cpu / res.requests if res.requests else float("nan")
    out["loadavg_before"] = load_before
    return out


def phase(
    ws: Workspace, processes: int, targets: list[Target], reps: int, seconds: int, conns: int
) -> list[dict[str, Any]]:
    samples = []
    for rep in range(reps):
        for request in REQUESTS:
            serving = [t for t in targets if request in t.urls]
            shift = rep % len(serving) if serving else 0
            for t in serving[shift:] + serving[:shift]:
                with paused([o for o in targets if o is not t]):
                    # ``t`` was paused during the last measurement, if it was not ``t``'s:
                    # what its background work deferred (a Celery beat's due tasks) runs now,
                    # before its load, not inside it.
                    time.sleep(SETTLE_S)
                    # The machine's speed right before the run (the servers idle): a run's
                    # CPU per request rises with it, which tells a slow moment of the machine
                    # from a slow request.
                    speed = machine_speed_ms(repeats=3)
                    s = measure(ws, t, request, seconds, conns)
                    s["machine_speed_ms"] = speed
                log(
                    f"load x{processes} round {rep + 1}/{reps} {request} {t.name}: "
                    f"{s['rps']:.0f} req/s, p99 {s['p99_ms']:.1f} ms, {s['errors']} errors"
                )
                samples.append({"round": rep, "request": request, "target": t.name, **s})
    return samples


def run(
    ws: Workspace,
    *,
    reps: int = 3,
    seconds: int = 10,
    connections: int = 16,
    processes: tuple[int, ...] = (1, 2),
    peer: bool = True,
) -> dict[str, Any]:
    wrk_binary()  # fail early, with the install hint
    settle_s = 120.0
    result: dict[str, Any] = {
        "settings": {"reps": reps, "seconds": seconds, "connections": connections},
        "phases": [],
        "notes": [],
        "checks": {},
    }
    pg_problem = postgres_available()
    if pg_problem:
        result["notes"].append(pg_problem + "; neuropil runs on SQLite only (1 process)")
    for n in processes:
        with contextlib.ExitStack() as stack:
            targets = [stack.enter_context(bare_app(ws, n))]
            if n == 1:
                t, seeded = stack.enter_context(neuropil(ws, "neuropil SQLite x1", 1, None, 60))
                targets.append(t)
                result["checks"][t.name] = check(t, seeded)
            if pg_problem is None:
                url = stack.enter_context(postgres_database(f"x{n}"))
                t, seeded = stack.enter_context(
                    neuropil(ws, f"neuropil PostgreSQL x{n}", n, url, 60)
                )
                targets.append(t)
                result["checks"][t.name] = check(t, seeded)
            if peer:
                try:
                    t, seeded = stack.enter_context(dandi_archive(ws, n, settle_s))
                    targets.append(t)
                    result["checks"][t.name] = check(t, seeded)
                    result["notes"].append(
                        f"dandi-archive x{n}: draft {seeded['status']} before the load; "
                        "development settings (DEBUG=True, debug toolbar off for 127.0.0.1)"
                    )
                except dandi_peer.PeerUnavailable as exc:
                    result["notes"].append(f"dandi-archive x{n} skipped: {exc}")
            speed = [machine_speed_ms()]  # every server started and idle
            samples = phase(ws, n, targets, reps, seconds, connections)
            speed.append(machine_speed_ms())
            result["notes"].append(speed_note(f"x{n} phase", speed))
            result["notes"].append(steal_note(f"x{n} phase", samples))
            result["notes"].extend(round_misses(n, targets, samples))
            result["phases"].append(
                {
                    "processes": n,
                    "targets": [{"name": t.name, "kind": t.kind, "urls": t.urls} for t in targets],
                    "samples": samples,
                    "machine_speed_ms": speed,
                }
            )
    return result


# -- report ----------------------------------------------------------------------------------


def round_misses(processes: int, targets: list[Target], samples: list[dict[str, Any]]) -> list[str]:
    """One line per round in which a neuropil server missed a target (p99, errors, or a
    ratio below the target in that round), with the machine's speed measured right before
    that run and the run's CPU per request, each beside the phase's median: whether the
    request or the machine was slow then."""
    speeds = [s["machine_speed_ms"] for s in samples if s.get("machine_speed_ms")]
    usual_speed = median(speeds) if speeds else None
    peers = [t.name for t in targets if t.kind == "dandi-archive"]
    out = []
    for t in (t for t in targets if t.kind == "neuropil"):
        for request in REQUESTS:
            got = _of(samples, t.name, request)
            usual_cpu = median([s["cpu_ms_per_request"] for s in got]) if got else 0.0
            ratios = _round_ratios(samples, t.name, peers[0], request) if peers else {}
            for s in got:
                missed = []
                if s["p99_ms"] >= TARGET_P99_MS:
                    missed.append(f"p99 {s['p99_ms']:.1f} ms")
                if s["errors"]:
                    missed.append(f"{s['errors']} errors")
                ratio = ratios.get(s["round"])
                if request in API_REQUESTS and ratio is not None and ratio < TARGET_RATIO:
                    missed.append(f"{ratio:.1f}x")
                if not missed:
                    continue
                line = (
                    f"x{processes} round {s['round'] + 1} {request}, {t.name}: "
                    f"{', '.join(missed)}; CPU/req {s['cpu_ms_per_request']:.2f} ms "
                    f"(median of its rounds {usual_cpu:.2f})"
                )
                if s.get("machine_speed_ms") and usual_speed:
                    line += (
                        f"; machine speed before it {s['machine_speed_ms']:.1f} ms "
                        f"(phase median {usual_speed:.1f})"
                    )
                out.append(line)
    return out


def steal_note(label: str, samples: list[dict[str, Any]]) -> str:
    """The CPU steal during the phase's ``wrk`` runs (see :func:`~benchmarks.common.
    cpu_ticks`): median and highest, and the run it was highest in."""
    seen = [s for s in samples if s.get("steal_percent") is not None]
    if not seen:
        return f"{label}: CPU steal not available (no /proc/stat)"
    top = max(seen, key=lambda s: s["steal_percent"])
    return (
        f"{label}: CPU steal (time the hypervisor gave this machine's CPUs to others) "
        f"during the wrk runs: median {median([s['steal_percent'] for s in seen]):.1f} %, "
        f"highest {top['steal_percent']:.1f} % ({top['target']}, {top['request']}, "
        f"round {top['round'] + 1}, p99 {top['p99_ms']:.1f} ms)"
    )


def _of(samples: list[dict[str, Any]], target: str, request: str) -> list[dict[str, Any]]:
    return [s for s in samples if s["target"] == target and s["request"] == request]


def _round_ratios(
    samples: list[dict[str, Any]], target: str, peer: str, request: str
) -> dict[int, float]:
    """neuropil's requests/s over the peer's, per round both were measured in."""
    mine = {s["round"]: s["rps"] for s in _of(samples, target, request)}
    theirs = {s["round"]: s["rps"] for s in _of(samples, peer, request)}
    return {r: mine[r] / theirs[r] for r in sorted(mine) if theirs.get(r)}


def _ratios(samples: list[dict[str, Any]], target: str, peer: str, request: str) -> list[float]:
    return list(_round_ratios(samples, target, peer, request).values())


def _verdict(request: str, ratio: float | None, p99: float, errors: int) -> str:
    missed = []
    if request in API_REQUESTS and (ratio is None or ratio < TARGET_RATIO):
        missed.append("ratio" if ratio is not None else "no peer")
    if p99 >= TARGET_P99_MS:
        missed.append("p99")
    if errors:
        missed.append("errors")
    return "ok" if not missed else "MISS (" + ", ".join(missed) + ")"


def _row(ph: dict[str, Any], target: dict[str, Any], request: str) -> list[Any] | None:
    got = _of(ph["samples"], target["name"], request)
    if not got:
        return None
    rps = [s["rps"] for s in got]
    p50, p99 = median([s["p50_ms"] for s in got]), median([s["p99_ms"] for s in got])
    errors = sum(s["errors"] for s in got)
    cpu = median([s["cpu_ms_per_request"] for s in got])
    cpu_text = "n/a" if math.isnan(cpu) else f"{cpu:.2f} ms"
    detail = f"p50 {p50:.1f} / p99 {p99:.1f} ms, {errors} err, {cpu_text} CPU/req"
    ratio_text, target_text, verdict = "", "", ""
    if target["kind"] == "neuropil":
        peers = [t["name"] for t in ph["targets"] if t["kind"] == "dandi-archive"]
        ratios = _ratios(ph["samples"], target["name"], peers[0], request) if peers else []
        ratio = median(ratios) if ratios else None
        if ratio is not None and request in API_REQUESTS:
            ratio_text = f"{ratio:.1f}x ({min(ratios):.1f}-{max(ratios):.1f})"
        target_text = (
            f">={TARGET_RATIO:g}x, p99<{TARGET_P99_MS:g}ms, 0 err"
            if request in API_REQUESTS
            else f"p99<{TARGET_P99_MS:g}ms, 0 err"
        )
        verdict = _verdict(request, ratio, p99, errors)
    return [
        f"load x{ph['processes']} {request}",
        "wrk",
        target["name"],
        f"{median(rps):.0f}/s",
        f"{min(rps):.0f}-{max(rps):.0f}",
        detail,
        ratio_text,
        target_text,
        verdict,
    ]


def rows(result: dict[str, Any]) -> list[list[Any]]:
    out = []
    for ph in result["phases"]:
        for request in REQUESTS:
            for target in ph["targets"]:
                row = _row(ph, target, request)
                if row is not None:
                    out.append(row)
    return out


LEGEND = (
    "Load: wrk, 16 connections, fixed time per run, loopback; requests/s median of "
    "interleaved rounds (spread min-max);\n  ratio = median over rounds of neuropil / "
    "dandi-archive requests/s at the same process count, same round; detail = median\n  "
    "p50/p99 latency, errors (non-2xx + socket) summed over rounds, server CPU per request "
    "(process tree, /proc;\n  PostgreSQL backends not included). dandi-archive runs its "
    "development settings; its blob row is moto's S3\n  server (no ratio). 'framework "
    "ceiling' = a bare Starlette JSON endpoint under uvicorn."
)
