"""Benchmark 4: streaming an NWB file, neuropil's index and RemoteFile vs remfile, fsspec, LINDI.

Set-up (not timed):

* :mod:`benchmarks.streaming_data` writes a ~200 MB NWB file (a 360,000 x 384 int16
  ``ElectricalSeries``, gzip, chunks 65536 x 64; units; position);
* it goes into a real ``neuropil serve`` (SQLite, local store) through neuropil's upload
  client, and every reader uses the resulting blob URL (``/store/<key>``), through
  :class:`~benchmarks.latency_proxy.LatencyProxy` (in a process of its own), which adds
  0 ms or 20 ms to every request and counts requests and body bytes;
* both indexes are built from the local file, timed (``neuropil.index.build_index`` +
  ``write_index`` vs ``lindi.LindiH5pyFile.from_hdf5_file(...).write_lindi_file(...)``,
  alternating), point their chunk refs at the proxied blob URL, and are uploaded like any
  file so that they are served by the archive and through the proxy too.

Readers (rows), each opening the file and giving ``pynwb.NWBHDF5IO(file=..., mode="r")``:

* ``neuropil index``: ``neuropil.open(blob_url, index=index_url)``; ``neuropil index 64M``
  the same with a 64 MiB chunk cache instead of the default 256 MiB (too small for every chunk
  of (3): what a tighter bound costs);
* ``neuropil via download URL``: ``neuropil.open_nwb(download_url)``, the asset's API
  download URL (``/api/assets/{id}/download/``) through the proxy: the URL a user holds; the
  reader asks for the index the server built (``/api/assets/{id}/index/``) directly;
* ``neuropil via blob URL``: ``neuropil.open_nwb(blob_url)``, the signed URL that download
  redirects to: its first ranged GET asks for the index (``Accept``), and the blob URL
  answers with the server's index instead of the bytes;
* ``neuropil RemoteFile``: ``h5py.File(neuropil.stream.RemoteFile(blob_url))``;
* ``remfile``: ``h5py.File(remfile.File(blob_url))``;
* ``fsspec``: ``h5py.File(HTTPFileSystem().open(blob_url))`` (default ``bytes`` cache, 5 MiB
  blocks) and ``fsspec blockcache`` (``cache_type="blockcache"``, same block size);
* ``lindi HDF5``: ``lindi.LindiH5pyFile.from_hdf5_file(blob_url)``;
* ``lindi json``: ``lindi.LindiH5pyFile.from_lindi_file(lindi_json_url)``;
* ``local h5py``: ``h5py.File(path)``: no network, the CPU floor of pynwb itself.

Measurements: (1) open + ``read()``; (2) ``data[0:30000, :]`` (one second, all channels);
(3) 100 seeded random ``data[t:t+1500, c:c+32]`` windows, one after the other. Every
measured run starts cold: new objects (a new HTTP session or filesystem instance, fsspec's
instance cache skipped), no disk cache. (2) and (3) each follow a fresh open, whose time
counts as an open sample too. Each latency runs ``reps`` rounds; in every round each reader
does (2) then (3), the order of the readers rotating from round to round; one unmeasured
warm-up per reader comes first (imports). Reported: medians of seconds, requests and bytes
(counted by the proxy: the bytes the client's socket accepted). Every slice read is
checked against h5py on the local file, and the units and position against the file.

Floors (from ``get_chunk_info``, see :mod:`benchmarks.streaming_data`): the compressed
bytes of the chunks a selection needs, and the number of contiguous byte runs they form.
For (3) the floor assumes a perfect cache (each chunk fetched once); without any reuse it
would be several times larger (both are in the JSON).

Targets (issue 5): open through the index in 1 request; open without the index in no more
requests than remfile and under 0.5 MB; slice bytes <= 1.1x the chunks needed and requests
<= the contiguous runs; at 20 ms neuropil's index >= 3x faster than remfile and both LINDI
readers to open and >= 2x on the slice; building the index <= 1/3 of LINDI's time. Under
the targets the report lists, from the run's own numbers, what limits the missed ones.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib.metadata
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

if __package__ in (None, ""):  # ``python benchmarks/streaming.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import numpy as np

from benchmarks.common import (
    REPO,
    NeuropilServer,
    Workspace,
    add_workspace_arguments,
    exit_on_sigterm,
    loadavg,
    log,
    median,
    standalone_parser,
)
from benchmarks.download import wait_for_sha256
from benchmarks.latency_proxy import ProxyProcess
from benchmarks.streaming_data import (
    DATA_PATH,
    SERIES,
    FileSpec,
    Floor,
    Layout,
    chunk_layout,
    describe_slices,
    floor,
    floor_without_reuse,
    full_slice,
    make_nwb,
    random_slices,
)
from benchmarks.streaming_report import (  # noqa: F401 (names used by run.py and tests)
    BIG_CACHE_BYTES,
    BLOB_URL,
    BLOCKCACHE,
    BUILD_FRACTION,
    DEFAULT_INDEX_CACHE,
    DOWNLOAD_URL,
    FSSPEC,
    INDEX,
    INDEX_BIG_CACHE,
    LEGEND,
    LINDI_H5,
    LINDI_JSON,
    LOCAL,
    MB,
    METHODS,
    OPEN_BYTES_NO_INDEX,
    OPEN_REQUESTS,
    OPEN_SPEEDUP,
    REMFILE,
    REMOTEFILE,
    SLICE_BYTES_FACTOR,
    SLICE_SPEEDUP,
    SPEED_LATENCY_MS,
    SPEED_PEERS,
    SPLIT_MIN,
    SPLIT_SIZE,
    TABLE_HEADERS,
    TASKS,
    URL_READERS,
    Target,
    latency_table,
    limits,
    report,
    rows,
    targets,
    targets_table,
)

RESULTS = REPO / "benchmarks" / "results"


@dataclass(frozen=True)
class Settings:
    spec: FileSpec = field(default_factory=FileSpec)
    slice_rows: int = 30_000
    random_count: int = 100
    random_rows: int = 1500
    random_cols: int = 32
    reps: int = 3
    #: Index builds take well under a second here: more rounds to steady the median.
    build_reps: int = 9
    latencies_ms: tuple[float, ...] = (0.0, 20.0)
    methods: tuple[str, ...] = METHODS

    @classmethod
    def quick(cls) -> Settings:
        """Two rows of chunks (131,072 samples, ~70 MB), one round."""
        return cls(spec=FileSpec(samples=131_072), reps=1, build_reps=5)

    @classmethod
    def tiny(cls) -> Settings:
        """A few MB, a few slices, one round: the smoke test's size."""
        return cls(
            spec=FileSpec(samples=24_000, channels=64, chunk_rows=8192, chunk_cols=16, units=5),
            slice_rows=10_000,
            random_count=5,
            random_rows=300,
            random_cols=8,
            reps=1,
            build_reps=1,
        )


def default_settings(quick: bool) -> Settings:
    return Settings.quick() if quick else Settings()


# -- the readers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Urls:
    blob: str
    index: str
    lindi: str
    local: Path
    #: The asset's API download URL (the server's own index is found from it).
    download: str = ""


@dataclass
class Opened:
    """A file read by pynwb: its ``NWBFile`` and what to close, innermost first."""

    nwbfile: Any
    closers: list[Callable[[], Any]]

    @property
    def data(self) -> Any:
        return self.nwbfile.acquisition[SERIES].data

    def close(self) -> None:
        for close in self.closers:
            try:
                close()
            except Exception as exc:  # a reader that fails to close must not stop the run
                log(f"closing: {exc!r}")


def _read(h5file: Any, closers: list[Callable[[], Any]]) -> Opened:
    """pynwb's ``read()``; closing its IO object closes ``h5file`` too, then ``closers``
    release what the file was opened over."""
    from pynwb import NWBHDF5IO

    io = NWBHDF5IO(file=h5file, mode="r")
    return Opened(io.read(), [io.close, *closers])


def open_with(method: str, urls: Urls) -> Opened:
    """Open the benchmark file with one reader, from nothing, and read it with pynwb."""
    import h5py

    if method == INDEX:
        import neuropil

        f = neuropil.open(urls.blob, index=urls.index)
        return _read(f, [])
    if method in (DOWNLOAD_URL, BLOB_URL):
        import neuropil

        nwbfile = neuropil.open_nwb(urls.download if method == DOWNLOAD_URL else urls.blob)
        return Opened(nwbfile, [nwbfile.read_io.close])
    if method == INDEX_BIG_CACHE:
        import neuropil
        from neuropil.stream import MemoryCache

        f = neuropil.open(urls.blob, index=urls.index, cache=MemoryCache(BIG_CACHE_BYTES))
        return _read(f, [])
    if method == REMOTEFILE:
        from neuropil.stream import RemoteFile

        rf = RemoteFile(urls.blob)
        f = h5py.File(rf, "r")
        return _read(f, [rf.close])
    if method == REMFILE:
        import remfile

        rem = remfile.File(urls.blob)
        f = h5py.File(rem, "r")
        return _read(f, [rem.close])
    if method in (FSSPEC, BLOCKCACHE):
        import fsspec

        fs = fsspec.filesystem("http", skip_instance_cache=True)
        kind = "blockcache" if method == BLOCKCACHE else "bytes"
        fobj = fs.open(urls.blob, "rb", cache_type=kind)
        f = h5py.File(fobj, "r")
        return _read(f, [fobj.close])
    if method == LINDI_H5:
        import lindi

        lf = lindi.LindiH5pyFile.from_hdf5_file(urls.blob)
        return _read(lf, [])
    if method == LINDI_JSON:
        import lindi

        lf = lindi.LindiH5pyFile.from_lindi_file(urls.lindi)
        return _read(lf, [])
    if method == LOCAL:
        return _read(h5py.File(urls.local, "r"), [])
    raise ValueError(f"unknown reader {method!r}; choose from {', '.join(METHODS)}")


# -- measuring ----------------------------------------------------------------------------------


@dataclass
class Sample:
    """One measured phase: wall seconds, what the proxy saw, and how many contiguous runs
    of the file the requested ranges form (a run cut into parallel pieces counts once)."""

    seconds: float
    requests: int
    bytes: int
    runs: int
    log: list[list[Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Expected:
    """What the reads must return (h5py on the local file) and what they must cost at least."""

    slice_sel: tuple[slice, slice]
    slice_data: np.ndarray
    random_sels: list[tuple[slice, slice]]
    random_data: list[np.ndarray]
    units: int
    position_shape: tuple[int, ...]
    floors: dict[str, Floor]
    floor_no_reuse: Floor


class Bench:
    def __init__(self, proxy: ProxyProcess, urls: Urls, expected: Expected) -> None:
        self.proxy = proxy
        self.urls = urls
        self.expected = expected
        self.problems: list[str] = []

    def phase(self, fn: Callable[[], Any]) -> tuple[Any, Sample]:
        """Run ``fn`` once, after the proxy is idle, counting its requests and bytes."""
        if not self.proxy.wait_idle(30):
            log("warning: requests still in flight before a measurement")
        before = self.proxy.counts()
        t0 = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - t0
        # Bytes still streaming to a client that stopped reading (an aborted GET) are its
        # cost too: let them land before reading the counters.
        self.proxy.wait_idle(30)
        delta = self.proxy.counts() - before
        seen = self.proxy.since(before)
        log_ = [[s.method, s.range, s.status, s.body_bytes] for s in seen]
        runs = requested_runs([s.range for s in seen if s.method == "GET"])
        return out, Sample(seconds, delta.requests, delta.bytes, runs, log_)

    def run(self, method: str, task: str) -> dict[str, Sample]:
        """One cold run: open (+ read) and then the slice (``slice``) or the random slices."""
        opened, open_sample = self.phase(lambda: open_with(method, self.urls))
        try:
            exp = self.expected
            if task == "slice":
                got, sample = self.phase(lambda: opened.data[exp.slice_sel])
                self.check(method, "slice", [got], [exp.slice_data])
            else:
                got, sample = self.phase(lambda: [opened.data[sel] for sel in exp.random_sels])
                self.check(method, "random slices", got, exp.random_data)
            self.check_objects(method, opened.nwbfile)
        finally:
            opened.close()
            # Collect this run's garbage here, between reads: h5py holds a global lock while
            # it calls a Python file object, and a collection that runs on a reader's own
            # thread then (fsspec's event loop, neuropil's fetch pool) and finalizes an old
            # h5py object would wait for that lock forever.
            gc.collect()
        return {"open": open_sample, task: sample}

    def check(self, method: str, what: str, got: list[Any], want: list[np.ndarray]) -> None:
        bad = sum(not np.array_equal(np.asarray(g), w) for g, w in zip(got, want, strict=True))
        if bad:
            self.problems.append(f"{method}: {bad} of {len(want)} {what} differ from h5py")

    def check_objects(self, method: str, nwb: Any) -> None:
        exp = self.expected
        units = len(nwb.units.id[:]) if nwb.units is not None else 0
        position = nwb.processing["behavior"]["Position"]["position"].data[:]
        if units != exp.units or tuple(position.shape) != exp.position_shape:
            self.problems.append(
                f"{method}: {units} units, position {position.shape} (expected {exp.units}, "
                f"{exp.position_shape})"
            )


def requested_runs(ranges: Sequence[str | None]) -> int:
    """Contiguous runs formed by the ``Range`` headers of some GETs (``bytes=a-b``; a GET
    without one, or with another form, counts as a run of its own)."""
    spans, other = [], 0
    for r in ranges:
        m = re.fullmatch(r"bytes=(\d+)-(\d+)", r or "")
        if m:
            spans.append((int(m[1]), int(m[2]) + 1))
        else:
            other += 1
    runs, end = 0, -1
    for start, stop in sorted(spans):
        if start > end:
            runs += 1
        end = max(end, stop)
    return runs + other


def _expected(path: Path, settings: Settings, layout: Layout) -> Expected:
    import h5py

    spec = settings.spec
    sel = full_slice(spec, settings.slice_rows)
    sels = random_slices(
        spec, settings.random_count, rows=settings.random_rows, cols=settings.random_cols
    )
    with h5py.File(path, "r") as f:
        data = f[DATA_PATH]
        slice_data = data[sel]
        random_data = [data[s] for s in sels]
        units = len(f["units/id"])
        position_shape = tuple(f["processing/behavior/Position/position/data"].shape)
    return Expected(
        sel,
        slice_data,
        sels,
        random_data,
        units,
        position_shape,
        {"slice": floor(layout, [sel]), "random": floor(layout, sels)},
        floor_without_reuse(layout, sels),
    )


# -- set-up -------------------------------------------------------------------------------------


def _upload(transport: Any, dandiset: str, path: Path, asset_path: str) -> dict[str, Any]:
    from neuropil.client.upload_files import upload_file

    return upload_file(transport, dandiset_id=dandiset, path=path, asset_path=asset_path)


def _blob_url(server: NeuropilServer, proxy: ProxyProcess, asset_id: str) -> str:
    """The asset's blob URL (``/store/<key>...``, where the API redirects) on the proxy."""
    r = httpx.get(f"{server.api_url}/assets/{asset_id}/download/")
    if r.status_code != 302:
        raise RuntimeError(f"asset {asset_id}: download answered {r.status_code}, not 302")
    loc = urlsplit(r.headers["location"])
    return f"{proxy.url}{loc.path}" + (f"?{loc.query}" if loc.query else "")


def _wait_for_index(server: NeuropilServer, asset_id: str, timeout: float = 600.0) -> None:
    """The server builds the asset's index in the background: wait until it is served."""
    url = f"{server.api_url}/assets/{asset_id}/index/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = httpx.get(url, timeout=60).status_code
        if status == 200:
            return
        if status != 503:
            raise RuntimeError(f"the server's index of asset {asset_id}: HTTP {status}")
        time.sleep(0.5)
    raise RuntimeError(f"the server's index of asset {asset_id} was not built in {timeout:g} s")


def build_indexes(
    path: Path, blob_url: str, out_dir: Path, reps: int
) -> tuple[dict[str, Any], Path, Path]:
    """Time both index builders on the local file (after one unmeasured build each,
    alternating the order); keep the last outputs."""
    import lindi

    from neuropil.index import build_index, write_index

    ours, theirs = out_dir / "neuropil.lindi.json", out_dir / "lindi.lindi.json"
    times: dict[str, list[float]] = {"neuropil": [], "lindi": []}

    def neuropil_build() -> None:
        write_index(build_index(path, url=blob_url), ours)

    def lindi_build() -> None:
        f = lindi.LindiH5pyFile.from_hdf5_file(str(path), url=blob_url)
        try:
            f.write_lindi_file(str(theirs))
        finally:
            f.close()

    builders = {"neuropil": neuropil_build, "lindi": lindi_build}
    for build in builders.values():  # unmeasured: lazy imports, first-call caches
        build()
    for rep in range(reps):
        order = ["neuropil", "lindi"] if rep % 2 == 0 else ["lindi", "neuropil"]
        for name in order:
            t0 = time.perf_counter()
            builders[name]()
            times[name].append(time.perf_counter() - t0)
            log(f"index build {rep + 1}/{reps} {name}: {times[name][-1]:.2f} s")
    result = {
        "seconds": times,
        "neuropil_bytes": ours.stat().st_size,
        "lindi_bytes": theirs.stat().st_size,
    }
    return result, ours, theirs


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("neuropil", "h5py", "pynwb", "hdmf", "remfile", "fsspec", "aiohttp", "lindi"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


# -- the benchmark ------------------------------------------------------------------------------


def run(ws: Workspace, *, settings: Settings | None = None) -> dict[str, Any]:
    from neuropil.http.transport import Transport

    st = settings or Settings()
    unknown = set(st.methods) - set(METHODS)
    if unknown:
        raise ValueError(f"unknown readers {sorted(unknown)}; choose from {', '.join(METHODS)}")
    base = ws.path("streaming")
    base.mkdir()
    nwb_path = base / "bench_ecephys.nwb"
    log(f"writing the NWB file: {st.spec.describe()}")
    t0 = time.perf_counter()
    make_nwb(nwb_path, st.spec)
    layout = chunk_layout(nwb_path)
    expected = _expected(nwb_path, st, layout)
    result: dict[str, Any] = {
        "settings": {
            **{k: v for k, v in dataclasses.asdict(st).items() if k != "spec"},
            "spec": dataclasses.asdict(st.spec),
            "file": st.spec.describe(),
        },
        "versions": _versions(),
        "file": {
            "bytes": nwb_path.stat().st_size,
            "raw_data_bytes": st.spec.raw_bytes,
            "stored_chunk_bytes": layout.stored_bytes,
            "chunks": len(layout.by_origin),
            "generate_seconds": round(time.perf_counter() - t0, 1),
        },
        "floors": {k: v.as_dict() for k, v in expected.floors.items()},
        "floor_random_without_reuse": expected.floor_no_reuse.as_dict(),
        "random_slices": describe_slices(expected.random_sels),
        "notes": [],
        "loadavg": {"start": loadavg()},
    }
    log(f"file: {nwb_path.stat().st_size / MB:.1f} MB, {len(layout.by_origin)} chunks")

    server = NeuropilServer(base / "data")
    token = server.add_user("bench")
    proxy: ProxyProcess | None = None
    try:
        server.start()
        proxy = ProxyProcess(server.url).start()
        with Transport(server.api_url, token, timeout=httpx.Timeout(600.0, connect=10.0)) as t:
            ds = t.post_json("dandisets/", {"name": "streaming benchmark", "metadata": {}})
            dandiset = str(ds["identifier"])
            log("uploading the NWB file through neuropil's client")
            asset = _upload(t, dandiset, nwb_path, "sub-bench/sub-bench_ses-01_ecephys.nwb")
            blob_url = _blob_url(server, proxy, asset["asset_id"])
            build, ours, theirs = build_indexes(nwb_path, blob_url, base, st.build_reps)
            result["index_build"] = build
            log("uploading both indexes")
            index_asset = _upload(t, dandiset, ours, "indexes/neuropil.lindi.json")
            lindi_asset = _upload(t, dandiset, theirs, "indexes/lindi.lindi.json")
        db = server.data_dir / "neuropil.db"
        for a in (asset, index_asset, lindi_asset):
            wait_for_sha256(db, a["blob"])
        _wait_for_index(server, asset["asset_id"])
        urls = Urls(
            blob=blob_url,
            index=_blob_url(server, proxy, index_asset["asset_id"]),
            lindi=_blob_url(server, proxy, lindi_asset["asset_id"]),
            local=nwb_path,
            download=f"{proxy.url}/api/assets/{asset['asset_id']}/download/",
        )
        result["urls"] = {
            "blob": urls.blob,
            "index": urls.index,
            "lindi": urls.lindi,
            "download": urls.download,
        }
        bench = Bench(proxy, urls, expected)
        result["latencies"] = _measure(bench, st)
        result["checks"] = {"streaming": bench.problems}
    finally:
        if proxy is not None:
            proxy.stop()
        server.stop()
    result["loadavg"]["end"] = loadavg()
    result["notes"].insert(0, report(result))
    return result


def _measure(bench: Bench, st: Settings) -> dict[str, Any]:
    methods = list(st.methods)
    bench.proxy.latency = 0.0
    log("warm-up: one unmeasured open of each reader (imports, first connections)")
    for m in methods:
        open_with(m, bench.urls).close()
        gc.collect()  # see Bench.run
    out: dict[str, Any] = {}
    for latency in st.latencies_ms:
        bench.proxy.latency = latency / 1000
        samples: dict[str, dict[str, list[Sample]]] = {m: {t: [] for t in TASKS} for m in methods}
        for rep in range(st.reps):
            order = methods[rep % len(methods) :] + methods[: rep % len(methods)]
            for m in order:
                for task in ("slice", "random"):
                    got = bench.run(m, task)
                    for name, sample in got.items():
                        samples[m][name].append(sample)
                s, o = samples[m]["slice"][-1], samples[m]["open"][-1]
                r = samples[m]["random"][-1]
                log(
                    f"{latency:g} ms round {rep + 1}/{st.reps} {m:20s} open {o.seconds:6.2f} s "
                    f"{o.requests:4d} req | slice {s.seconds:6.2f} s {s.requests:4d} req | "
                    f"{st.random_count} slices {r.seconds:6.2f} s {r.requests:4d} req"
                )
        out[f"{latency:g}"] = {
            m: {task: _summarize(samples[m][task]) for task in TASKS} for m in methods
        }
    bench.proxy.latency = 0.0
    return out


def _summarize(samples: list[Sample]) -> dict[str, Any]:
    return {
        "seconds": median([s.seconds for s in samples]),
        "requests": median([s.requests for s in samples]),
        "bytes": median([s.bytes for s in samples]),
        "runs": median([s.runs for s in samples]),
        "samples": [s.as_dict() for s in samples],
    }


def parse_settings(args: argparse.Namespace) -> Settings:
    st = default_settings(args.quick)
    spec = st.spec
    if args.samples:
        spec = dataclasses.replace(spec, samples=args.samples)
    changes: dict[str, Any] = {"spec": spec}
    if args.reps:
        changes["reps"] = args.reps
    if args.latency_ms:
        changes["latencies_ms"] = tuple(args.latency_ms)
    if args.random_slices:
        changes["random_count"] = args.random_slices
    if args.reader:
        changes["methods"] = tuple(args.reader)
    return dataclasses.replace(st, **changes)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--samples", type=int, help="samples of the ElectricalSeries (360000)")
    p.add_argument("--reps", type=int, help="measured rounds per latency (3; quick 1)")
    p.add_argument(
        "--latency-ms", type=float, action="append", help="added per request (repeatable; 0, 20)"
    )
    p.add_argument("--random-slices", type=int, help="random small slices (100)")
    p.add_argument("--reader", choices=METHODS, action="append", help="only these (repeatable)")


def main(argv: Sequence[str] | None = None) -> int:
    p = standalone_parser("streaming", __doc__)
    p.add_argument("--quick", action="store_true", help="131,072 samples (~70 MB), one round")
    add_arguments(p)
    add_workspace_arguments(p)
    p.add_argument("--output", type=Path, default=None, help="JSON file to write")
    args = p.parse_args(argv)
    settings = parse_settings(args)
    exit_on_sigterm()
    with Workspace(args.tmp_dir, keep=args.keep) as ws:
        res = run(ws, settings=settings)
    print()
    print(res["notes"][0])
    for problem in res["checks"]["streaming"]:
        print(f"CHECK FAILED: {problem}")
    out = args.output or RESULTS / f"streaming-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2, default=str) + "\n")
    print(f"\nJSON: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
