"""Benchmark: search and page renders on 10,000 dandisets and 1,000,000 assets.

The archive is generated straight into the database of each backend (SQLite file, and a
fresh PostgreSQL database at 127.0.0.1:5432): users through the service layer, then
dandisets, drafts (name, description, keywords, contributors, ``assetsSummary``), blobs,
assets with realistic metadata (species, approach, technique, variable measured, encoding
format), version membership and the folder tree by bulk inserts (``executemany`` on SQLite,
``COPY`` on PostgreSQL; ``search_data.py``). The search index is *not* loaded separately:
the triggers of migrations 0004 and 0009 build it as the rows go in, so the load time
includes keeping the index.

Then a real ``neuropil serve`` answers over HTTP: ``/api/search/`` (a mix of free text,
phrases, operators and facet filters), DANDI's ``/api/dandisets/?search=``, and — when the
web app is present — the dandiset page, the file browser and the search page. p95 against
the targets: search < 100 ms, page render < 50 ms.

After the load, the archive's own statistics upkeep runs (``services/search/maintenance.py``,
as its background duty would), and again before measuring. Each row also reports the CPU the
server and its PostgreSQL backends spent per request (``cpu/req``, hardly affected by the load
of the machine) and a hash of the shape of its plans, taken before and after measuring (``!``:
changed during the run); the notes say when statistics were gathered, how cold the first
requests were and the load average (``search_diagnostics.py``). A last phase sends the mix
from several client processes at once. Targets: every query p95 < 100 ms, the pooled API rows
p95 < 50 ms.

Generating takes minutes at full size: with ``NEUROPIL_BENCH_SEARCH_DATA=dir`` the archives
are kept in ``dir`` (and a PostgreSQL database named after the size) and reused by the next
run — remove them after changing the generator or the schema.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from benchmarks import search_diagnostics as diag
from benchmarks.common import (
    NeuropilServer,
    Workspace,
    cpu_ticks,
    loadavg,
    log,
    machine_speed_ms,
    speed_note,
    steal_percent,
    summary,
)
from benchmarks.search_data import Plan, generate

SEARCH_TARGET_MS = 100.0
PAGE_TARGET_MS = 50.0
#: The pooled rows (every query of the mix together) of the API searches: p95 < 50 ms.
POOLED_TARGET_MS = 50.0
POOLED = ("api/search", "api/dandisets?search")
#: Pages that are searches: measured against the search target, not the page render one.
SEARCH_PAGES = ("search page",)
SIZES = {"full": (10_000, 1_000_000), "quick": (1_000, 50_000)}
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


# -- measurement -----------------------------------------------------------------------------
SEARCHES = [
    ("word", "hippocampus"),
    ("two words", "place cells"),
    ("phrase", '"visual cortex"'),
    ("prefix", "optogen"),
    ("path words", "sub-042"),
    ("word in every file", "nwb"),
    ("rare word", "zebra"),
    ("person", "Nakamura"),
    ("identifier", "000123"),
    ("species", "species:mouse"),
    ("facet value", 'species:"Rattus norvegicus - Norway rat"'),
    ("text + facets", 'hippocampus species:mouse approach:"electrophysiological approach"'),
    ("technique", 'technique:"two-photon"'),
    ("file type", "file_type:image"),
    ("owner", "owner:bench theta"),
    ("dates", "created_after:2023-01-01 modified_before:2025-06-01 memory"),
    ("text + file type", "running wheel file_type:video"),
    ("no results", "xylophone"),
]


def _time(http: httpx.Client, url: str, params: dict[str, Any] | None = None) -> float:
    t = time.perf_counter()
    r = http.get(url, params=params)
    ms = (time.perf_counter() - t) * 1000
    if r.status_code != 200:
        raise RuntimeError(f"GET {url} {params}: HTTP {r.status_code} {r.text[:300]}")
    return ms


def _web_present(http: httpx.Client, ident: str) -> bool:
    return http.get(f"/dandiset/{ident}").status_code == 200


#: Rows measured through DANDI's listing too (the first of :data:`SEARCHES`).
DANDI_ROWS = 6
#: Client processes of the concurrent phase (``--quick``: 2 rounds each, else 4).
CLIENTS = 3


class _Timer:
    """Times requests and charges each one the CPU the server and the database used for it
    (read before and after, outside the timed interval)."""

    def __init__(self, http: httpx.Client, probe: diag.CpuProbe) -> None:
        self.http = http
        self.probe = probe
        self.cpu: dict[str, list[float]] = {}

    def __call__(self, row: str, url: str, params: dict[str, Any] | None = None) -> float:
        server0, db0 = self.probe.read()
        ms = _time(self.http, url, params)
        server1, db1 = self.probe.read()
        self.cpu.setdefault(row, []).append(1000 * (server1 - server0 + db1 - db0))
        return ms


def first_pass(server: NeuropilServer) -> dict[str, Any]:
    """Each query once, on a server that has not answered one yet: the cold times, and a
    look at the answers."""
    out: dict[str, Any] = {"counts": {}, "cold_ms": {}}
    with httpx.Client(base_url=server.url, timeout=120) as http:
        for name, q in SEARCHES:
            t = time.perf_counter()
            body = http.get("/api/search/", params={"q": q}).json()
            out["cold_ms"][name] = round((time.perf_counter() - t) * 1000, 1)
            out["counts"][name] = body.get("count")
    return out


def measure(
    server: NeuropilServer, gen: dict[str, Any], reps: int, url: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"search": {}, "dandi_search": {}, "pages": {}}
    rng = random.Random(7)
    probe = diag.CpuProbe(server.proc.pid if server.proc else 0, url)
    buffers = diag.BufferProbe(url)
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            timer = _Timer(http, probe)
            before = buffers.read()
            samples: dict[str, list[float]] = {n: [] for n, _ in SEARCHES}
            dandi: dict[str, list[float]] = {n: [] for n, _ in SEARCHES[:DANDI_ROWS]}
            for _ in range(reps):
                for name, q in SEARCHES:
                    samples[name].append(timer(f"api/search: {name}", "/api/search/", {"q": q}))
                for name, q in SEARCHES[:DANDI_ROWS]:
                    row = f"api/dandisets?search: {name}"
                    dandi[name].append(timer(row, "/api/dandisets/", {"search": q}))
            after = buffers.read()
            out["search"] = {n: summary(v) for n, v in samples.items()}
            out["dandi_search"] = {n: summary(v) for n, v in dandi.items()}
            out["cpu_ms"] = {row: round(sum(v) / len(v), 1) for row, v in timer.cpu.items()}
            if before and after:
                hits, reads = after[0] - before[0], after[1] - before[1]
                out["buffers"] = {"hits": hits, "reads": reads}
            if not _web_present(http, gen["sample"][0]):
                out["pages"] = None
                return out
            out["pages"] = _pages(http, gen, reps, rng)
    finally:
        probe.close()
    return out


def _pages(
    http: httpx.Client, gen: dict[str, Any], reps: int, rng: random.Random
) -> dict[str, Any]:
    largest, _ = gen["largest"]
    pages: dict[str, list[float]] = {
        "dandiset page": [],
        "file browser (root)": [],
        "file browser (folder)": [],
        "file browser (largest, root)": [],
        "search page": [],
    }
    for _ in range(reps):
        ident = rng.choice(gen["sample"])
        pages["dandiset page"].append(_time(http, f"/dandiset/{ident}"))
        pages["file browser (root)"].append(_time(http, f"/dandiset/{ident}/draft/files"))
        pages["file browser (folder)"].append(
            _time(http, f"/dandiset/{ident}/draft/files", {"location": "sub-000/"})
        )
        pages["file browser (largest, root)"].append(
            _time(http, f"/dandiset/{largest}/draft/files")
        )
        pages["search page"].append(_time(http, "/search", {"q": rng.choice(SEARCHES)[1]}))
    return {n: summary(v) for n, v in pages.items()}


def _client(args: tuple[str, int, int]) -> list[float]:
    """One client process of the concurrent phase: the mix, shuffled, ``rounds`` times."""
    base, rounds, seed = args
    rng = random.Random(seed)
    out = []
    with httpx.Client(base_url=base, timeout=120) as http:
        for _ in range(rounds):
            mix = list(SEARCHES)
            rng.shuffle(mix)
            out += [_time(http, "/api/search/", {"q": q}) for _, q in mix]
    return out


def _default_sigterm() -> None:
    """In a client process: SIGTERM ends it. The forked process inherits the benchmark's
    handler (SIGTERM raises ``SystemExit``, so that the benchmark cleans up); the pool ends
    its workers with SIGTERM, and one that unwound through that handler instead hung in its
    exit, the pool waiting for it for good."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def concurrent(server: NeuropilServer, rounds: int) -> dict[str, Any]:
    """:data:`CLIENTS` processes send the mix at once: latency when requests overlap."""
    import multiprocessing

    t = time.perf_counter()
    pool = multiprocessing.get_context("fork").Pool(CLIENTS, initializer=_default_sigterm)
    with pool:
        per_client = pool.map(_client, [(server.url, rounds, i) for i in range(CLIENTS)])
    seconds = time.perf_counter() - t
    every = [ms for client in per_client for ms in client]
    return {
        "clients": CLIENTS,
        "rounds": rounds,
        "requests_per_s": round(len(every) / seconds, 1),
        **summary(every),
    }


#: A directory in which to keep the generated archives and reuse them on the next run
#: (generation takes minutes at full size; the data only changes with the generator or the
#: schema: remove the directory after changing either). Unset: a fresh archive every run.
KEEP_ENV = "NEUROPIL_BENCH_SEARCH_DATA"


def _keep_dir() -> Path | None:
    value = os.environ.get(KEEP_ENV, "").strip()
    return Path(value).resolve() if value else None


@contextmanager
def _postgres_database(plan: Plan) -> Iterator[str | None]:
    """A fresh database, dropped afterwards; with :data:`KEEP_ENV` a named one, kept."""
    keep = _keep_dir() is not None
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            if keep:
                name = f"neuropil_bench_keep_{plan.n_dandisets}_{plan.n_assets}"
                exists = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
                ).fetchone()
                if not exists:
                    conn.execute(f'CREATE DATABASE "{name}"')
            else:
                name = f"neuropil_bench_{uuid.uuid4().hex[:10]}"
                conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        log(f"PostgreSQL not available ({exc!r}); skipping it")
        yield None
        return
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        if not keep:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _reset_postgres(url: str) -> None:
    """Empty a kept database whose generation did not finish (no ``generated.json``)."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def _generated(backend: str, url: str | None, plan: Plan, ws: Workspace) -> tuple[Path, Any]:
    """The data directory of ``backend`` and what :func:`generate` returned, reusing a kept
    archive when :data:`KEEP_ENV` names a directory that holds one."""
    from neuropil.config import Settings

    keep = _keep_dir()
    if keep is None:
        data_dir = ws.path(f"search-{backend}")
    else:
        data_dir = keep / f"search-{backend}-{plan.n_dandisets}-{plan.n_assets}"
    marker = data_dir / "generated.json"
    if keep is not None and marker.exists():
        log(f"{backend}: reusing the archive kept in {data_dir}")
        return data_dir, json.loads(marker.read_text())
    if keep is not None:
        shutil.rmtree(data_dir, ignore_errors=True)
        if url:
            _reset_postgres(url)
    settings = Settings(data_dir=data_dir, database_url=url, storage="local")
    log(f"{backend}: generating {plan.n_dandisets:,} dandisets / {plan.n_assets:,} assets")
    gen = generate(settings, plan)
    log(f"{backend}: generated in {gen['seconds']} s")
    if keep is not None:  # written last: a half-generated archive is never reused
        marker.write_text(json.dumps(gen))
    return data_dir, gen


def _run_backend(
    ws: Workspace, backend: str, url: str | None, plan: Plan, reps: int
) -> dict[str, Any]:
    data_dir, gen = _generated(backend, url, plan, ws)
    env = {"NEUROPIL_DATABASE_URL": url} if url else {}
    plain_url = url.replace("postgresql+psycopg://", "postgresql://") if url else None
    with diag.context(data_dir, url) as ctx:
        state = diag.archive_state(ctx)  # the archive's own upkeep first, as a server's would
        load = [loadavg()]
        speed = [machine_speed_ms()]
        with NeuropilServer(data_dir, extra_env=env) as server:
            cold = first_pass(server)
            plans = diag.plan_hashes(ctx, SEARCHES, DANDI_ROWS)
            ticks = cpu_ticks()
            result = measure(server, gen, reps, plain_url)
            steal = steal_percent(ticks, cpu_ticks())
            load.append(loadavg())
            speed.append(machine_speed_ms())
            plans_after = diag.plan_hashes(ctx, SEARCHES, DANDI_ROWS)
            result["concurrent"] = concurrent(server, 2 if reps <= 10 else 4)
            load.append(loadavg())
    changed = [r for r, p in plans.items() if plans_after.get(r, {}).get("hash") != p["hash"]]
    return {
        "generated": gen,
        "state": state,
        "first_pass": cold,
        "counts": cold["counts"],
        "plans": plans,
        "plans_changed_during_run": changed,
        "load": load,
        "machine_speed_ms": speed,
        "steal_percent": steal,
        **result,
    }


def run(ws: Workspace, *, quick: bool, reps: int | None = None) -> dict[str, Any]:
    n_dandisets, n_assets = SIZES["quick" if quick else "full"]
    plan = Plan(n_dandisets, n_assets)
    reps = reps or (10 if quick else 20)
    result: dict[str, Any] = {
        "dandisets": n_dandisets,
        "assets": n_assets,
        "reps": reps,
        "backends": {},
        "notes": [],
    }
    if _keep_dir() is not None:
        result["notes"].append(
            f"{KEEP_ENV} set: generated archives are kept and reused (generation time is "
            "the one of the run that made them)"
        )
    result["backends"]["sqlite"] = _run_backend(ws, "sqlite", None, plan, reps)
    with _postgres_database(plan) as url:
        if url:
            result["backends"]["postgresql"] = _run_backend(ws, "postgresql", url, plan, reps)
        else:
            result["notes"].append("PostgreSQL at 127.0.0.1:5432 was not reachable: skipped")
    for backend, res in result["backends"].items():
        result["notes"] += notes(backend, res)
        if res.get("pages") is None:
            result["notes"].append(f"{backend}: the web pages are not there: not measured")
    return result


def _verdict(p95: float, target: float) -> str:
    return "ok" if p95 < target else "MISSED"


def _plan(res: dict[str, Any], row: str) -> str:
    plan = res.get("plans", {}).get(row)
    if plan is None:
        return ""
    changed = "!" if row in res.get("plans_changed_during_run", []) else ""
    return f"plan {plan['hash']}{changed}"


def _cpu(res: dict[str, Any], row: str) -> str:
    ms = res.get("cpu_ms", {}).get(row)
    return "" if ms is None else f"cpu {ms:.0f} ms"


def rows(result: dict[str, Any]) -> list[list[Any]]:
    out: list[list[Any]] = []
    size = f"{result['dandisets']:,} ds / {result['assets']:,} assets"
    for backend, res in result["backends"].items():
        gen = res["generated"]
        out.append(
            [f"search {size}", backend, "generate (incl. index triggers)",
             f"{gen['seconds']} s", "", "", "", "", ""]
        )  # fmt: skip
        groups = [("api/search", res["search"], SEARCH_TARGET_MS)]
        groups.append(("api/dandisets?search", res["dandi_search"], SEARCH_TARGET_MS))
        if res.get("pages"):
            # The targets: search < 100 ms, dandiset and file-browser pages < 50 ms.
            # The search page is a search (the same engine call, rendered as HTML).
            pages = {n: v for n, v in res["pages"].items() if n not in SEARCH_PAGES}
            searches = {n: v for n, v in res["pages"].items() if n in SEARCH_PAGES}
            groups.append(("page", pages, PAGE_TARGET_MS))
            if searches:
                groups.append(("web", searches, SEARCH_TARGET_MS))
        for label, samples, target in groups:
            every: list[float] = []
            for name, s in samples.items():
                every += s["samples"]
                row = f"{label}: {name}"
                out.append(
                    [f"search {size}", backend, row, f"{s['p50']:.1f} ms",
                     f"p95 {s['p95']:.1f} ms", _cpu(res, row), _plan(res, row),
                     f"< {target:.0f} ms", _verdict(s["p95"], target)]
                )  # fmt: skip
            overall = summary(every)
            pooled = POOLED_TARGET_MS if label in POOLED else target
            out.append(
                [f"search {size}", backend, f"{label}: ALL", f"{overall['p50']:.1f} ms",
                 f"p95 {overall['p95']:.1f} ms", "", "", f"< {pooled:.0f} ms",
                 _verdict(overall["p95"], pooled)]
            )  # fmt: skip
        if res.get("concurrent"):
            c = res["concurrent"]
            out.append(
                [f"search {size}", backend, f"api/search: ALL, {c['clients']} clients at once",
                 f"{c['p50']:.1f} ms", f"p95 {c['p95']:.1f} ms", f"{c['requests_per_s']} req/s",
                 "", f"< {SEARCH_TARGET_MS:.0f} ms", _verdict(c["p95"], SEARCH_TARGET_MS)]
            )  # fmt: skip
    return out


def notes(backend: str, res: dict[str, Any]) -> list[str]:
    """What differs between runs, per backend: statistics, caches, plans, load."""
    out = [f"{backend}: {diag.state_line(res['state'], res['generated'])}"]
    cold = res.get("first_pass", {}).get("cold_ms", {})
    if cold:
        warm = {n: s["p50"] for n, s in res["search"].items()}
        slow = max(cold, key=lambda n: cold[n] / max(warm.get(n, 1), 1))
        out.append(
            f"{backend}: first request of each query {sum(cold.values()):.0f} ms in all, "
            f"measured medians {sum(warm.values()):.0f} ms (coldest: {slow!r}, "
            f"{cold[slow]:.0f} ms vs {warm[slow]:.0f})"
        )
    if res.get("buffers"):
        b = res["buffers"]
        out.append(
            f"{backend}: shared buffers while measuring: {b['hits']:,} hits, {b['reads']:,} "
            "reads (reads > 0: a cold start)"
        )
    changed = res.get("plans_changed_during_run") or []
    out.append(f"{backend}: plans changed during the run: {', '.join(changed) or 'none'}")
    loads = ", ".join("/".join(f"{x:.1f}" for x in la[:1]) for la in res.get("load", []))
    out.append(
        f"{backend}: load average (1 min) before / after measuring / after concurrent: {loads}"
    )
    speeds = res.get("machine_speed_ms")
    if speeds:
        out.append(speed_note(backend, speeds))
    if res.get("steal_percent") is not None:
        out.append(
            f"{backend}: CPU steal while measuring (time the hypervisor gave this machine's "
            f"CPUs to others): {res['steal_percent']:.1f} %"
        )
    return out


LEGEND = (
    "Search: milliseconds per request over HTTP (p50 / p95) against a real neuropil serve;\n"
    "  api/search answers dandisets by relevance with their matching assets and facet counts;\n"
    "  ALL pools every query of the mix; targets: search p95 < 100 ms (the API and the web\n"
    "  search page), pooled API rows < 50 ms, dandiset and file-browser page render < 50 ms;\n"
    "  cpu/req: CPU of the server and its PostgreSQL backends per request; plan: hash of the\n"
    "  shape of the request's plans (! = changed during the run)."
)


def main() -> None:  # pragma: no cover - ``python -m benchmarks.search [--quick]``
    import sys

    with Workspace() as ws:
        res = run(ws, quick="--quick" in sys.argv)
    from benchmarks.common import table

    print(LEGEND)
    print(table(["benchmark", "backend", "subject", "p50", "p95", "cpu/req", "plan", "target",
                 "verdict"],
                rows(res), "lllrrrrll"))  # fmt: skip
    for note in res["notes"]:
        print(note)
    print(json.dumps({b: r.get("counts") for b, r in res["backends"].items()}))


if __name__ == "__main__":  # pragma: no cover
    main()
