"""Benchmark 8: a Zarr of 10,000 keys with the ``neuropil`` CLI vs the official ``dandi`` CLI.

The Zarr (``data.zarr`` in a dandiset folder, about 200 MB): a zarr-python v2 group of five
uint8 arrays, uncompressed, chunked so that their chunks are 4, 8, 16, 32 and 64 KiB, with
nested chunk keys (``c16k/3/7``), group attributes and consolidated metadata: 10,000 keys
in all. Its bytes come from a seeded generator, so every run uploads the same Zarr.

Both command lines run as whole processes, as users run them (their console scripts, default
``--jobs``), against one ``neuropil serve`` (SQLite, local store) in the same run, interleaved
(the order of the clients alternates from round to round). Each round, for each client:

* **upload**: ``upload --validation skip`` of a fresh dandiset folder holding the Zarr (a hard
  link of the generated one), into a new dandiset, empty caches. Checked: the Zarr is
  ``Complete``, its listing has every key with its md5 and size, and its checksum is the one
  the ``zarr_checksum`` package computes from the local folder.
* **re-upload**: 1 % of the keys (100 chunks, spread over the arrays) rewritten with new bytes
  through zarr-python, then the same ``upload`` again, same dandiset, the caches of the first
  upload kept, both clients talking to the server through ``benchmarks/tcp_counter.py``, a
  loopback TCP relay. **Bytes sent** are every byte the client wrote to the server's
  sockets (requests, headers, bodies, the neuropil client's tar framing), which must be at
  most 1.1 x the bytes of the changed keys. The server's store tells what was written: the
  objects of the Zarr with a new inode (the local store renames each file into place).
  Checked as above.
* **download**: ``download -o <fresh dir> <dandiset URL>`` of the same dandiset for both
  clients (the one uploaded first that round), fresh home. Checked: every key with the
  local md5 and size, nothing else.

Then, with the API (no CLI): **finalize -> Complete**: one key PUT again (the Zarr goes back
to ``Pending``), ``POST /finalize/``, and ``GET /api/zarr/<id>/`` polled every 10 ms until it
says ``Complete``: the server's ingest of 10,000 keys (list the store, checksum the tree,
one transaction); the same two steps are also timed in this process on the server's store.
**open_zarr**: ``neuropil.open_zarr(<key URL>)`` through ``benchmarks/latency_proxy.py``
(no delay; it counts the requests that reach the server), then one chunk read: the requests
it takes after the open, and the time of each.

Targets (issue 15): upload and download >= 3x faster than dandi; re-upload bytes <= 1.1 x
the changed bytes; finalize -> Complete <= 5 s; reading one chunk after the open in <= 2
requests.

``python -m benchmarks --only zarr`` (or ``python -m benchmarks.zarr_assets --help``). The module
is not named ``zarr.py``: in ``benchmarks/`` (a source root for ruff) that name would shadow
zarr-python.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # ``python benchmarks/zarr_assets.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from benchmarks.common import (
    HEADERS,
    Workspace,
    add_workspace_arguments,
    log,
    median,
    run_standalone,
    standalone_parser,
    table,
)
from benchmarks.tcp_counter import TcpCounter
from benchmarks.transfer import CLIENTS, Bench
from benchmarks.transfer_data import wait_idle, write_dandiset_yaml

KIB = 1 << 10
ZARR_NAME = "data.zarr"
#: name, chunk shape (uint8: bytes = rows x columns), share of the chunk keys.
ARRAYS = (
    ("c04k", (64, 64), 2500),
    ("c08k", (64, 128), 2500),
    ("c16k", (128, 128), 2000),
    ("c32k", (128, 256), 1800),
    ("c64k", (256, 256), 1192),
)
#: Keys that are not chunks: .zgroup, .zattrs, .zmetadata and one .zarray per array.
META_KEYS = 3 + len(ARRAYS)
CHANGED_SHARE = 0.01
BYTES_SENT_LIMIT = 1.1
TARGETS = {"upload": 3.0, "download": 3.0, "ingest": 5.0, "chunk_requests": 2}
POLL = 0.01


@dataclass(frozen=True)
class Sizes:
    keys: int = 10_000
    reps: int = 3
    probes: int = 3  # finalize -> Complete, open_zarr

    @classmethod
    def quick(cls) -> Sizes:
        return cls(keys=2_000, reps=1, probes=2)


def default_sizes(quick: bool) -> Sizes:
    return Sizes.quick() if quick else Sizes()


# -- the Zarr -----------------------------------------------------------------------------------


def _grid(n: int) -> tuple[int, int]:
    """``n`` chunks as a grid of at most 50 rows (so that keys nest: ``<row>/<column>``)."""
    rows = max(d for d in range(1, min(n, 50) + 1) if n % d == 0)
    return rows, n // rows


def chunk_counts(keys: int) -> list[int]:
    """Chunks per array for a Zarr of ``keys`` keys in all, in ARRAYS' proportions."""
    chunks = keys - META_KEYS
    total = sum(share for *_, share in ARRAYS)
    counts = [chunks * share // total for *_, share in ARRAYS]
    counts[-1] += chunks - sum(counts)
    return counts


def make_zarr(path: Path, keys: int, seed: int = 0) -> None:
    """The benchmark's Zarr at ``path``, written by zarr-python from seeded random bytes."""
    import numpy as np
    import zarr

    rng = np.random.default_rng(seed)
    root = zarr.open_group(str(path), mode="w")
    root.attrs["description"] = "neuropil Zarr benchmark"
    for (name, chunk, _), count in zip(ARRAYS, chunk_counts(keys), strict=True):
        rows, cols = _grid(count)
        shape = (rows * chunk[0], cols * chunk[1])
        arr = root.create_dataset(
            name, shape=shape, chunks=chunk, dtype="u1", compressor=None, dimension_separator="/"
        )
        arr[:] = rng.integers(0, 256, size=shape, dtype=np.uint8)
    zarr.consolidate_metadata(str(path))


def change_keys(path: Path, share: float, seed: int = 1) -> tuple[list[str], int]:
    """Rewrite ``share`` of the Zarr's keys (chunks spread over every array) with new bytes
    through zarr-python; returns the keys and their bytes."""
    import numpy as np
    import zarr

    rng = np.random.default_rng(seed)
    root = zarr.open_group(str(path), mode="r+")
    chunks = sorted(k for k in manifest(path) if not k.rsplit("/", 1)[-1].startswith("."))
    n = max(1, round(share * (len(chunks) + META_KEYS)))
    picked = chunks[:: max(1, len(chunks) // n)][:n]
    size = 0
    for key in picked:
        name, row, col = key.split("/")
        arr = root[name]
        arr.blocks[int(row), int(col)] = rng.integers(0, 256, size=arr.chunks, dtype=np.uint8)
        size += (path / key).stat().st_size
    return picked, size


def manifest(path: Path) -> dict[str, tuple[int, str]]:
    """Key -> (size, md5) of every file of a local Zarr."""
    out = {}
    for p in path.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            out[p.relative_to(path).as_posix()] = (len(data), hashlib.md5(data).hexdigest())
    return out


def reference_checksum(files: dict[str, tuple[int, str]]) -> str:
    """The Zarr checksum of a :func:`manifest`, by the ``zarr_checksum`` package's tree
    (its folder walker would draw a progress bar)."""
    from pathlib import PurePosixPath

    from zarr_checksum.tree import ZarrChecksumTree

    tree = ZarrChecksumTree()
    for key, (size, md5) in files.items():
        tree.add_leaf(PurePosixPath(key), size, md5)  # type: ignore[arg-type]
    return str(tree.process())


def link_tree(src: Path, dst: Path) -> None:
    """A copy of ``src`` made of hard links (zarr-python replaces files it rewrites, so a
    change in the copy never reaches ``src``)."""
    shutil.copytree(src, dst, copy_function=os.link)


# -- the server's side --------------------------------------------------------------------------


def store_files(data_dir: Path, zarr_id: str) -> dict[str, tuple[int, int, int]]:
    """Key -> (inode, size, mtime) of the live Zarr's objects in the local store."""
    top = data_dir / "store" / "objects" / "zarr" / zarr_id
    out = {}
    for p in top.rglob("*"):
        if p.is_file():
            st = p.stat()
            out[p.relative_to(top).as_posix()] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return out


def written_bytes(
    before: dict[str, tuple[int, int, int]], after: dict[str, tuple[int, int, int]]
) -> tuple[int, int]:
    """(objects, bytes) written between two :func:`store_files`: new inodes or times."""
    changed = [v for k, v in after.items() if before.get(k) != v]
    return len(changed), sum(size for _, size, _ in changed)


def time_ingest_in_process(data_dir: Path, zarr_id: str) -> dict[str, float]:
    """The ingest's two steps timed here on the server's store: list, then checksum."""
    from neuropil.core.zarr_checksum import ZarrFile, zarr_checksum
    from neuropil.storage import LocalBlobStore

    store = LocalBlobStore(data_dir / "store")
    prefix = f"zarr/{zarr_id}/"
    t0 = time.perf_counter()
    files = [ZarrFile(i.key[len(prefix) :], i.etag, i.size) for i in store.list(prefix)]
    t1 = time.perf_counter()
    zarr_checksum(files)
    t2 = time.perf_counter()
    return {"list": t1 - t0, "checksum": t2 - t1, "files": len(files)}


# -- the benchmark ------------------------------------------------------------------------------


@dataclass
class Uploaded:
    client: str
    ident: str
    root: Path  # the dandiset folder
    home: Path
    zarr_id: str = ""


class ZarrBench(Bench):
    def __init__(self, ws: Workspace, sizes: Sizes) -> None:
        super().__init__(ws, sizes, name="zarr")
        self.keys = sizes.keys
        self.source = self.base / "source" / ZARR_NAME
        #: The port the clients talk to: the server's, or the counting relay's.
        self.via: int | None = None

    def env(self, home: Path) -> dict[str, str]:
        env = super().env(home)
        if self.via is not None:
            env[f"127.0.0.1:{self.via}_API_KEY"] = self.token
        return env

    def upload_args(self, client: str) -> list[str]:
        args = super().upload_args(client)
        if self.via is not None:
            args[args.index(self.server.url)] = f"http://127.0.0.1:{self.via}"
        return args

    # -- checks ------------------------------------------------------------------------------

    def zarr_of(self, ident: str) -> str:
        (asset,) = self.transport.paginate(
            f"dandisets/{ident}/versions/draft/assets/", {"path": ZARR_NAME}
        )
        return str(asset["zarr"])

    def check_remote(self, zarr_id: str, local: Path) -> list[str]:
        z = self.transport.get_json(f"zarr/{zarr_id}/")
        want = manifest(local)
        have = {
            e["Key"]: (int(e["Size"]), e["ETag"])
            for e in self.transport.paginate(f"zarr/{zarr_id}/files/")
        }
        problems = []
        if z["status"] != "Complete" or z["checksum"] != reference_checksum(want):
            problems.append(f"Zarr {z['status']} with checksum {z['checksum']}")
        if have != want:
            wrong = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
            problems.append(f"{len(wrong)} keys differ from the local Zarr, e.g. {wrong[:3]}")
        return problems

    def check_download(self, out: Path, ident: str, want: dict[str, tuple[int, str]]) -> list[str]:
        root = out / ident
        problems = [] if (root / "dandiset.yaml").is_file() else ["no dandiset.yaml"]
        stray = sorted(p.name for p in root.iterdir() if p.name not in ("dandiset.yaml", ZARR_NAME))
        if stray:
            problems.append(f"unexpected entries {stray[:3]}")
        have = manifest(root / ZARR_NAME) if (root / ZARR_NAME).is_dir() else {}
        if have != want:
            wrong = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
            problems.append(f"{len(wrong)} keys differ from the source, e.g. {wrong[:3]}")
        return problems

    # -- scenarios ---------------------------------------------------------------------------

    def upload(self, client: str, rep: int) -> tuple[float, Uploaded]:
        ident = self.new_dandiset(f"zarr {client} {rep + 1}")
        root = self.fresh(f"{client}-src") / ident
        root.mkdir()
        write_dandiset_yaml(root, ident)
        link_tree(self.source, root / ZARR_NAME)
        up = Uploaded(client, ident, root, self.fresh(f"{client}-home"))
        secs = self.cli(client, self.upload_args(client), up.home, cwd=root)
        up.zarr_id = self.zarr_of(ident)
        self.note_problems(
            f"{client} upload round {rep + 1}", self.check_remote(up.zarr_id, root / ZARR_NAME)
        )
        log(f"round {rep + 1} {client:8s} upload    {secs:7.2f} s")
        return secs, up

    def reupload(self, up: Uploaded, rep: int) -> tuple[float, dict[str, Any]]:
        local = up.root / ZARR_NAME
        keys, changed = change_keys(local, CHANGED_SHARE, seed=100 + rep)
        wait_idle(self.server.data_dir / "neuropil.db")
        before = store_files(self.server.data_dir, up.zarr_id)
        with TcpCounter(self.server.port) as relay:
            self.via = relay.port
            try:
                secs = self.cli(up.client, self.upload_args(up.client), up.home, cwd=up.root)
            finally:
                self.via = None
            sent, requests = relay.counts.sent, relay.counts.connections
        objects, written = written_bytes(before, store_files(self.server.data_dir, up.zarr_id))
        problems = self.check_remote(up.zarr_id, local)
        if sent > BYTES_SENT_LIMIT * changed:
            problems.append(f"{sent} bytes sent for {changed} changed")
        self.note_problems(f"{up.client} re-upload round {rep + 1}", problems)
        log(
            f"round {rep + 1} {up.client:8s} re-upload {secs:7.2f} s: sent {sent} bytes "
            f"({requests} connections), stored {objects} objects / {written} bytes for "
            f"{len(keys)} keys of {changed} bytes"
        )
        extra = {"changed_keys": len(keys), "changed_bytes": changed, "connections": requests}
        return secs, {
            **extra,
            "objects_written": objects,
            "bytes_written": written,
            "bytes_sent": sent,
        }

    def download(self, client: str, ident: str, rep: int, want: Any) -> float:
        home = self.fresh(f"{client}-dl-home")
        out = self.fresh(f"{client}-dl-out")
        url = f"{self.server.api_url}/dandisets/{ident}/"
        secs = self.cli(client, ["download", "-o", str(out), url], home)
        self.note_problems(
            f"{client} download round {rep + 1}", self.check_download(out, ident, want)
        )
        log(f"round {rep + 1} {client:8s} download  {secs:7.2f} s")
        shutil.rmtree(out)
        shutil.rmtree(home)
        return secs

    def ingest(self, zarr_id: str, local: Path) -> dict[str, float]:
        """Finalize -> Complete, after one key is PUT again (the Zarr back to Pending)."""
        import base64

        key = ".zattrs"
        data = (local / key).read_bytes()
        b64 = base64.b64encode(hashlib.md5(data).digest()).decode()
        wait_idle(self.server.data_dir / "neuropil.db")
        (url,) = self.transport.post_json(
            f"zarr/{zarr_id}/files/", [{"path": key, "base64md5": b64}]
        )
        httpx.put(url, content=data, headers={"Content-MD5": b64}).raise_for_status()
        t0 = time.perf_counter()
        self.transport.request("POST", f"zarr/{zarr_id}/finalize/")
        while self.transport.get_json(f"zarr/{zarr_id}/")["status"] != "Complete":
            time.sleep(POLL)
        secs = time.perf_counter() - t0
        wait_idle(self.server.data_dir / "neuropil.db")
        steps = time_ingest_in_process(self.server.data_dir, zarr_id)
        log(
            f"finalize -> Complete {secs:.2f} s (here: list {steps['list']:.2f} s, "
            f"checksum {steps['checksum']:.2f} s)"
        )
        return {"seconds": secs, **steps}

    def open_zarr(self, zarr_id: str, local: Path) -> dict[str, Any]:
        """``neuropil.open_zarr`` through a counting proxy, then one chunk."""
        import numpy as np

        import neuropil
        from benchmarks.latency_proxy import ProxyProcess

        out: dict[str, Any] = {}
        with ProxyProcess(self.server.url) as proxy:
            c0 = proxy.counts()
            t0 = time.perf_counter()
            group = neuropil.open_zarr(f"{proxy.url}/zarr/{zarr_id}/")
            arr = group["c16k"]
            t1 = time.perf_counter()
            proxy.wait_idle()
            c1 = proxy.counts()
            block = arr.blocks[1, 2]
            t2 = time.perf_counter()
            proxy.wait_idle()
            c2 = proxy.counts()
        import zarr

        want = zarr.open_group(str(local), mode="r")["c16k"].blocks[1, 2]
        if not np.array_equal(block, want):
            self.note_problems("open_zarr", ["the chunk read differs from the local one"])
        out = {
            "open_seconds": t1 - t0,
            "open_requests": (c1 - c0).requests,
            "chunk_seconds": t2 - t1,
            "chunk_requests": (c2 - c1).requests,
        }
        log(
            f"open_zarr {out['open_seconds'] * 1000:.0f} ms / {out['open_requests']} requests, "
            f"one chunk {out['chunk_seconds'] * 1000:.1f} ms / {out['chunk_requests']} requests"
        )
        return out


def _round(b: ZarrBench, rep: int, want: Any, runs: dict[str, list[Any]]) -> list[Uploaded]:
    order = CLIENTS if rep % 2 == 0 else CLIENTS[::-1]
    ups = {}
    for client in order:
        secs, ups[client] = b.upload(client, rep)
        runs["upload"].append((client, secs, {}))
    for client in order:
        secs, extra = b.reupload(ups[client], rep)
        runs["reupload"].append((client, secs, extra))
    changed = manifest(ups[order[0]].root / ZARR_NAME)
    for client in order:
        secs = b.download(client, ups[order[0]].ident, rep, changed)
        runs["download"].append((client, secs, {}))
    return [ups[c] for c in order]


def run(ws: Workspace, *, sizes: Sizes | None = None) -> dict[str, Any]:
    from neuropil.http.transport import Transport

    sz = sizes or Sizes()
    b = ZarrBench(ws, sz)
    result: dict[str, Any] = {"sizes": sz.__dict__, "notes": []}
    runs: dict[str, list[Any]] = {"upload": [], "reupload": [], "download": []}
    b.token = b.server.add_user("bench", admin=True)
    try:
        t0 = time.perf_counter()
        make_zarr(b.source, sz.keys)
        want = manifest(b.source)
        result["zarr"] = {
            "keys": len(want),
            "bytes": sum(s for s, _ in want.values()),
            "generate_seconds": round(time.perf_counter() - t0, 2),
        }
        log(f"generated {len(want)} keys, {result['zarr']['bytes'] / 1e6:.0f} MB")
        b.server.start()
        b.transport = Transport(
            b.server.api_url, b.token, timeout=httpx.Timeout(600.0, connect=10.0)
        )
        last: list[Uploaded] = []
        for rep in range(sz.reps):
            for up in last:
                shutil.rmtree(up.root.parent, ignore_errors=True)
            last = _round(b, rep, want, runs)
        np_up = next(u for u in last if u.client == "neuropil")
        local = np_up.root / ZARR_NAME
        result["ingest"] = [b.ingest(np_up.zarr_id, local) for _ in range(sz.probes)]
        result["open_zarr"] = [b.open_zarr(np_up.zarr_id, local) for _ in range(sz.probes)]
    finally:
        if b.transport is not None:
            b.transport.close()
        b.server.stop()
        shutil.rmtree(b.base, ignore_errors=True)
    result["runs"] = {
        k: [{"client": c, "seconds": s, **e} for c, s, e in v] for k, v in runs.items()
    }
    result["checks"] = {"zarr": b.problems}
    result["notes"].insert(0, "results:\n" + report(result))
    return result


# -- output --------------------------------------------------------------------------------------


def _seconds(result: dict[str, Any], what: str, client: str) -> list[float]:
    return [r["seconds"] for r in result["runs"][what] if r["client"] == client]


def _spread(xs: list[float], fmt: str = "{:.2f}") -> str:
    return fmt.format(min(xs)) + "-" + fmt.format(max(xs)) if xs else "n/a"


def rows(result: dict[str, Any]) -> list[list[Any]]:
    """Rows for ``benchmarks.run``'s table (benchmark, client, subject, median, spread,
    detail, ratio, target, verdict)."""
    if "runs" not in result:
        return []
    ok = not result["checks"]["zarr"]
    keys = f"{result['zarr']['keys']:,} keys"
    out = []
    for what, title in (
        ("upload", "upload"),
        ("reupload", "re-upload 1%"),
        ("download", "download"),
    ):
        d, n = _seconds(result, what, "dandi"), _seconds(result, what, "neuropil")
        speedup = median(d) / median(n)
        target = TARGETS.get(what)
        if what == "reupload":
            sent = [r for r in result["runs"][what] if r["client"] == "neuropil"]
            ratio = max(r["bytes_sent"] / r["changed_bytes"] for r in sent)
            dsent = [r for r in result["runs"][what] if r["client"] == "dandi"]
            dratio = max(r["bytes_sent"] / r["changed_bytes"] for r in dsent)
            detail = f"dandi {median(d):.2f} s; sent/changed {ratio:.2f} (dandi {dratio:.2f})"
            verdict = "pass" if ratio <= BYTES_SENT_LIMIT else "MISS"
            target_text = f"sent <= {BYTES_SENT_LIMIT}x changed"
        else:
            detail = f"dandi {median(d):.2f} s ({_spread(d)})"
            verdict = "pass" if target and speedup >= target else "MISS"
            target_text = f">={target:g}x"
        out.append(
            [
                f"zarr {title} {keys}",
                "neuropil CLI",
                "vs dandi CLI",
                f"{median(n):.2f} s",
                _spread(n),
                detail,
                f"{speedup:.2f}x",
                target_text,
                verdict if ok else "CHECK FAILED",
            ]
        )
    ingest = [r["seconds"] for r in result["ingest"]]
    lst = median([r["list"] for r in result["ingest"]])
    chk = median([r["checksum"] for r in result["ingest"]])
    out.append(
        [
            f"zarr finalize -> Complete {keys}",
            "neuropil server",
            "ingest job",
            f"{median(ingest):.2f} s",
            _spread(ingest),
            f"in-process: list {lst:.2f} s, checksum {chk:.2f} s",
            "",
            f"<= {TARGETS['ingest']:g} s",
            "pass" if median(ingest) <= TARGETS["ingest"] else "MISS",
        ]
    )
    opens = result["open_zarr"]
    reqs = max(o["chunk_requests"] for o in opens)
    chunk_ms = [o["chunk_seconds"] * 1000 for o in opens]
    open_ms = [o["open_seconds"] * 1000 for o in opens]
    out.append(
        [
            "zarr open_zarr + one chunk",
            "neuropil.open_zarr",
            "one 16 KiB chunk",
            f"{median(chunk_ms):.1f} ms",
            _spread(chunk_ms, "{:.1f}"),
            f"{reqs} request(s) after the open; open {median(open_ms):.0f} ms, "
            f"{max(o['open_requests'] for o in opens)} request(s)",
            "",
            f"<= {TARGETS['chunk_requests']} requests",
            "pass" if reqs <= TARGETS["chunk_requests"] else "MISS",
        ]
    )
    return out


def report(result: dict[str, Any]) -> str:
    return table(["measure", *HEADERS[1:]], rows(result), "lllrrlrll")


LEGEND = (
    "Zarr: a 10,000-key Zarr (~200 MB, chunks of 4-64 KiB, made with zarr-python); wall seconds "
    "of whole CLI processes,\n  dandi vs neuropil, same server, interleaved, median of the "
    "rounds (spread = min-max); ratio = dandi / neuropil;\n  re-upload bytes sent = every byte "
    "the client wrote to the server's sockets (a counting TCP relay);\n  see "
    "benchmarks/zarr_assets.py for the method and what is checked."
)


# -- stand-alone ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = standalone_parser("zarr_assets", __doc__)
    p.add_argument("--quick", action="store_true", help="2,000 keys, one round")
    p.add_argument("--keys", type=int, help="keys of the Zarr (default 10000)")
    p.add_argument("--reps", type=int, help="rounds (default 3)")
    add_workspace_arguments(p)
    args = p.parse_args(argv)
    sz = default_sizes(args.quick)
    if args.keys:
        sz = replace(sz, keys=args.keys)
    if args.reps:
        sz = replace(sz, reps=args.reps)
    return run_standalone(lambda ws: run(ws, sizes=sz), args, legend=LEGEND, report=report)


if __name__ == "__main__":
    raise SystemExit(main())
