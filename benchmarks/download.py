"""Benchmark 1: downloading one large blob, neuropil vs nginx, with curl and httpx.

The blob goes in through neuropil's real upload path (``upload_file``: multipart upload,
complete, validate, create asset); the file neuropil stores is then served by both servers:

* ``neuropil (API)``: ``GET /api/assets/{id}/download/`` -> 302 -> ``/store/<key>`` (the
  URL clients use; the redirect round trip is included in the time),
* ``neuropil (/store)``: the blob URL directly (the byte streaming alone),
* ``nginx``: the same file on disk, ``sendfile on``, started by this benchmark.

Repetitions are interleaved (server order rotates each round) so slow phases of a noisy
machine hit every server alike; the median is reported. The server's CPU time per GiB is
measured from ``/proc`` as a second, less noise-sensitive, figure.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from benchmarks.common import REPO, NeuropilServer, Workspace, log, summary
from benchmarks.nginx import Nginx, find_nginx, nginx_version

MB = 1_000_000
TARGET_RATIO = 0.8
ASSET_PATH = "sub-bench/sub-bench_ses-01_ecephys.nwb"


# -- set-up ----------------------------------------------------------------------------------


def make_random_file(path: Path, size: int) -> str:
    """Write ``size`` random bytes; returns their sha256."""
    h = hashlib.sha256()
    block = 16 << 20
    with path.open("wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(block, left))
            h.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return h.hexdigest()


def upload(server: NeuropilServer, token: str, src: Path) -> dict[str, Any]:
    from neuropil.client.upload_files import upload_file
    from neuropil.http.transport import Transport

    with Transport(server.api_url, token, timeout=httpx.Timeout(600.0, connect=10.0)) as t:
        ds = t.post_json("dandisets/", {"name": "download benchmark", "metadata": {}})
        return upload_file(t, dandiset_id=ds["identifier"], path=src, asset_path=ASSET_PATH)


def wait_for_sha256(db_path: Path, blob_id: str, timeout: float = 600.0) -> bool:
    """The server hashes a new blob in the background: let it finish before measuring."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
        try:
            row = con.execute(
                "SELECT sha256 FROM asset_blobs WHERE blob_id = ?", (blob_id,)
            ).fetchone()
            # Jobs due now: a periodic job queued for later (embargo.check) is not work
            # that competes with the measurement.
            busy = con.execute(
                "SELECT count(*) FROM jobs WHERE state = 'running' OR "
                "(state = 'queued' AND run_after <= strftime('%Y-%m-%d %H:%M:%f', 'now'))"
            ).fetchone()[0]
        finally:
            con.close()
        if row and row[0] and not busy:
            return True
        time.sleep(0.5)
    return False


# -- CPU accounting --------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{tid}/children").read_text()
            out += [int(x) for x in text.split()]
    except OSError:
        pass
    return out


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its live children (nginx workers)."""
    return _proc_cpu(pid) + sum(_proc_cpu(c) for c in _children(pid))


# -- clients ---------------------------------------------------------------------------------


class Measurement:
    def __init__(self, seconds: float, nbytes: int, cpu: float, extra: dict[str, Any]) -> None:
        self.seconds = seconds
        self.nbytes = nbytes
        self.cpu = cpu
        self.extra = extra

    @property
    def mbps(self) -> float:
        return self.nbytes / self.seconds / MB


def curl_get(url: str, size: int) -> tuple[float, int, dict[str, Any]]:
    fmt = "%{http_code} %{size_download} %{time_total} %{speed_download} %{num_redirects}"
    out = subprocess.run(
        ["curl", "-s", "-L", "-o", "/dev/null", "-w", fmt, url],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout.split()
    code, nbytes, total, speed, redirects = (
        int(out[0]),
        int(out[1]),
        float(out[2]),
        float(out[3]),
        int(out[4]),
    )
    if code != 200 or nbytes != size:
        raise RuntimeError(f"curl {url}: HTTP {code}, {nbytes} bytes (expected {size})")
    # speed_download is bytes / total time of the whole operation, redirects included.
    return (
        nbytes / speed,
        nbytes,
        {"time_total": total, "speed_download": speed, "redirects": redirects},
    )


def httpx_get(client: httpx.Client, url: str, size: int) -> tuple[float, int, dict[str, Any]]:
    n = 0
    t0 = time.perf_counter()
    with client.stream("GET", url) as r:
        if r.status_code != 200:
            raise RuntimeError(f"httpx {url}: HTTP {r.status_code}")
        for chunk in r.iter_raw():
            n += len(chunk)
    dt = time.perf_counter() - t0
    if n != size:
        raise RuntimeError(f"httpx {url}: {n} bytes (expected {size})")
    return dt, n, {"redirects": len(r.history)}


# -- correctness (not timed) -----------------------------------------------------------------


def check_server(client: httpx.Client, url: str, blob: Path, size: int, sha256: str) -> list[str]:
    """Full body digest, HEAD and a few Range requests; returns problems found."""
    problems = []
    h = hashlib.sha256()
    with client.stream("GET", url) as r:
        for chunk in r.iter_raw():
            h.update(chunk)
    if h.hexdigest() != sha256:
        problems.append("full GET: body differs from the uploaded file")
    head = client.head(url)
    if head.status_code != 200 or head.headers.get("content-length") != str(size):
        problems.append(f"HEAD: {head.status_code} length {head.headers.get('content-length')}")
    with blob.open("rb") as f:

        def expect(start: int, stop: int) -> bytes:
            return os.pread(f.fileno(), stop - start, start)

        mid = size // 2
        cases = [
            ("bytes=0-99", 0, 100),
            (f"bytes={mid}-{mid + (1 << 20) - 1}", mid, mid + (1 << 20)),
            ("bytes=-1000", size - 1000, size),
            (f"bytes={size - 10}-", size - 10, size),
        ]
        for spec, start, stop in cases:
            r = client.get(url, headers={"Range": spec})
            want_cr = f"bytes {start}-{stop - 1}/{size}"
            if (
                r.status_code != 206
                or r.headers.get("content-range") != want_cr
                or r.content != expect(start, stop)
            ):
                problems.append(f"Range {spec}: {r.status_code} {r.headers.get('content-range')}")
    r = client.get(url, headers={"Range": f"bytes={size}-"})
    if r.status_code != 416:
        problems.append(f"Range bytes={size}-: {r.status_code}, expected 416")
    return problems


# -- the benchmark ---------------------------------------------------------------------------


def baseline_overlay(ws: Workspace, ref: str) -> Path:
    """A copy of the installed ``neuropil`` package with ``api/streaming.py`` as it is at
    git ``ref``: the rest of the server is the same, so only the streaming code differs."""
    import neuropil

    old = subprocess.run(
        ["git", "show", f"{ref}:src/neuropil/api/streaming.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    root = ws.path("baseline-src")
    dest = root / "neuropil"
    shutil.copytree(
        Path(neuropil.__file__).parent, dest, ignore=shutil.ignore_patterns("__pycache__")
    )
    (dest / "api" / "streaming.py").write_text(old)
    return root


def run(
    ws: Workspace,
    *,
    size_mib: int,
    reps: int,
    nginx_directives: list[str] | None = None,
    baseline_ref: str | None = None,
) -> dict[str, Any]:
    size = size_mib << 20
    result: dict[str, Any] = {"size_bytes": size, "reps": reps, "target_ratio": TARGET_RATIO}
    clients = ["curl", "httpx"]
    if shutil.which("curl") is None:
        log("curl not found: skipping the curl client")
        result["curl_skipped"] = "curl not found on PATH"
        clients.remove("curl")
    src = ws.path("blob.bin")
    log(f"writing {size_mib} MiB of random bytes")
    sha256 = make_random_file(src, size)

    server = NeuropilServer(ws.path("download-data"))
    token = server.add_user("bench")
    nginx: Nginx | None = None
    baseline: NeuropilServer | None = None
    try:
        server.start()
        log("uploading through the API (multipart upload, validate, create asset)")
        t0 = time.perf_counter()
        asset = upload(server, token, src)
        result["upload_seconds"] = round(time.perf_counter() - t0, 2)
        src.unlink()  # neuropil has its own copy now; do not keep 2 GiB around
        if not wait_for_sha256(server.data_dir / "neuropil.db", asset["blob"]):
            log("warning: the background sha256 job did not finish; measuring anyway")
        api_url = f"{server.api_url}/assets/{asset['asset_id']}/download/"
        location = httpx.get(api_url).headers["location"]
        store_url = location  # the signed-free /store/<key>?response-content-disposition=...
        key = urlsplit(location).path.removeprefix("/store/")
        blob_path = server.data_dir / "store" / "objects" / key
        assert blob_path.stat().st_size == size, blob_path

        targets: dict[str, str] = {"neuropil (API)": api_url, "neuropil (/store)": store_url}
        assert server.proc is not None
        pids = {"neuropil (API)": server.proc.pid, "neuropil (/store)": server.proc.pid}
        if baseline_ref:
            try:
                overlay = baseline_overlay(ws, baseline_ref)
            except (subprocess.CalledProcessError, OSError) as exc:
                log(f"cannot build the baseline from git {baseline_ref!r}: {exc}; skipping it")
                result["baseline_skipped"] = f"git show {baseline_ref}: failed"
            else:
                path = os.pathsep.join(filter(None, [str(overlay), os.environ.get("PYTHONPATH")]))
                baseline = NeuropilServer(server.data_dir, extra_env={"PYTHONPATH": path})
                baseline.log_path = ws.path("baseline-server.log")
                baseline.start()
                assert baseline.proc is not None
                name = f"neuropil@{baseline_ref} (/store)"
                parts = urlsplit(location)
                targets[name] = f"{baseline.url}{parts.path}?{parts.query}"
                pids[name] = baseline.proc.pid
                result["baseline"] = {"ref": baseline_ref, "streaming_py_from": baseline_ref}
        binary = find_nginx()
        if binary is None:
            log(
                "nginx not found (set NGINX=/path/to/nginx): skipping the nginx peer; "
                "no ratios will be reported"
            )
            result["nginx_skipped"] = (
                "nginx not found (set NGINX=/path/to/nginx); no ratios are reported"
            )
        else:
            result["nginx_version"] = nginx_version(binary)
            directives = "".join(f"    {d.rstrip(';')};\n" for d in nginx_directives or [])
            result["nginx_directives"] = nginx_directives or []
            nginx = Nginx(
                binary, ws.path("nginx"), server.data_dir / "store" / "objects", directives
            )
            nginx.start()
            targets["nginx"] = f"{nginx.url}/{key}"
            assert nginx.proc is not None
            pids["nginx"] = nginx.proc.pid

        http = httpx.Client(follow_redirects=True, timeout=httpx.Timeout(600.0, connect=10.0))
        try:
            log("checking bodies, HEAD and Range answers (also warms the page cache)")
            checks = {
                name: check_server(http, url, blob_path, size, sha256)
                for name, url in targets.items()
            }
            result["checks"] = checks
            for name, problems in checks.items():
                for p in problems:
                    log(f"CHECK FAILED {name}: {p}")

            runners: dict[str, Callable[[str], tuple[float, int, dict[str, Any]]]] = {
                "curl": lambda url: curl_get(url, size),
                "httpx": lambda url: httpx_get(http, url, size),
            }
            # One unmeasured warm-up per client and server.
            for c in clients:
                for url in targets.values():
                    runners[c](url)
            samples: dict[str, dict[str, list[Measurement]]] = {
                c: {t: [] for t in targets} for c in clients
            }
            names = list(targets)
            for rep in range(reps):
                order = names[rep % len(names) :] + names[: rep % len(names)]
                for c in clients:
                    for name in order:
                        cpu0 = tree_cpu(pids[name])
                        secs, nbytes, extra = runners[c](targets[name])
                        cpu = tree_cpu(pids[name]) - cpu0
                        m = Measurement(secs, nbytes, cpu, extra)
                        samples[c][name].append(m)
                        log(
                            f"round {rep + 1}/{reps} {c:5s} {name:18s} {m.mbps:8.0f} MB/s "
                            f"server CPU {cpu / (nbytes / (1 << 30)):.2f} s/GiB"
                        )
        finally:
            http.close()

        out: dict[str, Any] = {}
        for c in clients:
            out[c] = {}
            peer = samples[c].get("nginx")
            for name, ms in samples[c].items():
                entry: dict[str, Any] = {
                    "mbps": summary([m.mbps for m in ms]),
                    "server_cpu_s_per_gib": summary([m.cpu / (m.nbytes / (1 << 30)) for m in ms]),
                    "extra": [m.extra for m in ms],
                }
                if peer and name != "nginx":
                    # Each round measures every server back to back: the per-round ratio
                    # cancels most of the drift in the machine's load.
                    entry["ratio_paired"] = summary(
                        [m.mbps / p.mbps for m, p in zip(ms, peer, strict=True)]
                    )
                    entry["ratio_of_medians"] = (
                        entry["mbps"]["median"] / summary([p.mbps for p in peer])["median"]
                    )
                out[c][name] = entry
        result["results"] = out
        result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        return result
    finally:
        if nginx is not None:
            nginx.stop()
        if baseline is not None:
            baseline.stop()
        server.stop()
        src.unlink(missing_ok=True)


def rows(result: dict[str, Any]) -> list[list[Any]]:
    """Table rows: client, server, median MB/s, min-max, server CPU s/GiB, ratio vs nginx."""
    out = []
    target = result["target_ratio"]
    for client, per in result.get("results", {}).items():
        for name, r in per.items():
            ratio = verdict = ""
            if name == "nginx":
                goal = "(peer)"
            else:
                goal = f">={target}x nginx"
                if "ratio_paired" in r:
                    paired = r["ratio_paired"]["median"]
                    ratio = f"{paired:.2f}x"
                    verdict = "ok" if paired >= target else "MISS"
                else:
                    ratio = "n/a (no nginx)"
            out.append(
                [
                    f"download {result['size_bytes'] >> 20} MiB",
                    client,
                    name,
                    f"{r['mbps']['median']:.0f} MB/s",
                    f"{r['mbps']['min']:.0f}-{r['mbps']['max']:.0f}",
                    f"CPU {r['server_cpu_s_per_gib']['median']:.2f} s/GiB",
                    ratio,
                    goal,
                    verdict,
                ]
            )
    return out
