"""Benchmark 3: moving files with the ``neuropil`` CLI vs the official ``dandi`` CLI.

Both command lines run as users run them (their console scripts, default ``--jobs``) against
the same ``neuropil serve`` process (SQLite, local store) in the same run, interleaved (the
order of the two clients alternates from round to round) so that the noise of a shared
machine hits both alike. Every timed run is a fresh process: start-up and imports count.

Scenarios (targets: neuropil's speed-up over dandi, dandi seconds / neuropil seconds):

(a) download of 1,000 files x 100 KiB (one dandiset URL) ......................... >= 3x
(b) download of 2 files x 1 GiB (one dandiset URL) ............................... >= 1.5x
(c) upload of a tree like (a), and of one like (b), each into a new dandiset ...... >= 1.5x
(d) re-upload of (b)'s tree, unchanged, into the same dandiset (default ``--existing
    refresh`` for both): no blob bytes may be sent, and neuropil must take <= 1/5 of
    dandi's time (>= 5x).

Set-up and fairness:

* The remote data of (a) and (b) goes in once, before any timing, through neuropil's real
  upload path (:func:`neuropil.client.upload_files.upload_paths`: initialize, part PUTs, complete,
  validate, create the asset); the server's background jobs (sha256 of new blobs) are waited
  for before every timed run, so that one client's leftovers never slow the other.
* Files are random bytes named ``*.mp4``: without ``--allow-any-path`` the official client only
  uploads ``.nwb``, video (``.mp4``, ``.avi``...), image and Zarr assets, and random bytes
  named ``.nwb`` fail its metadata extraction even with ``--validation skip`` (it opens them
  with h5py). Video assets get the same default metadata (size, digest, encoding format) as
  any file. Both uploads therefore run with ``--validation skip`` (there is nothing to
  validate in random bytes).
* (c) uploads *fresh* random files for every run (the archive deduplicates content: an upload
  of bytes it already holds sends nothing), into a dandiset created just before (not timed).
* Caches: every timed run gets its own empty home (``XDG_CACHE_HOME``, ``XDG_CONFIG_HOME``,
  ``XDG_DATA_HOME``, ``XDG_STATE_HOME``, ``NEUROPIL_CACHE_DIR``), so neither the official
  client's fscacher digest cache nor neuropil's digest cache helps in (a), (b) or (c).
  (d) re-uses the home of the client's own (c) upload of the same files: remembering what
  was already uploaded is what the scenario is about, and both clients keep their caches.
* Downloads go to fresh empty directories; every download is checked (not timed): exactly
  the expected files plus ``dandiset.yaml``, with the right sizes and sha256 (every file), so
  both clients' trees are identical to the source. Every upload is checked through the API:
  the dandiset has exactly the uploaded paths, with the right sizes and dandi-etags.
* (d) is checked on the server: no upload was initialized (the store's ``multipart``
  directory is untouched: no part can be PUT without one), the store's blob objects and
  ``tmp`` directory are unchanged, the dandiset's assets are unchanged, and the server
  process read and wrote (``rchar``/``wchar`` in ``/proc/<pid>/io``: socket traffic
  included) less than 8 MiB, far less than one part. The JSON has these counts.
* Downloads are also timed with an ``os.sync()`` right after the CLI exits: neuropil
  fsyncs every file before renaming it into place, dandi leaves its bytes in the page cache
  (on this machine's disk, ~350 MB/s, that is most of a 2 GiB download's time); the notes
  column gives both clients' time including that sync.

Run ``python -m benchmarks --only transfer`` (or ``python -m benchmarks.transfer --help`` for
the sizes and repetitions).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # ``python benchmarks/transfer.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from benchmarks.common import (
    NeuropilServer,
    Workspace,
    add_workspace_arguments,
    log,
    median,
    run_standalone,
    standalone_parser,
    table,
)
from benchmarks.transfer_data import (
    StoreState,
    Tree,
    big_paths,
    check_download,
    make_tree,
    proc_io,
    small_paths,
    wait_idle,
)

KIB = 1 << 10
MIB = 1 << 20
CLIENTS = ("dandi", "neuropil")
#: Bytes the server may read and write in (d) (``rchar``/``wchar``: sockets and files, so
#: requests, answers and SQLite pages): far below one upload part of a 1 GiB file (64 MiB).
REUPLOAD_IO_LIMIT = 8 * MIB
VALIDATION = "skip"
CLI_TIMEOUT = 3600.0

TARGETS = {"a": 3.0, "b": 1.5, "c-a": 1.5, "c-b": 1.5, "d": 5.0}


@dataclass(frozen=True)
class Sizes:
    n_small: int = 1000
    small_bytes: int = 100 * KIB
    n_big: int = 2
    big_bytes: int = 1024 * MIB
    reps_small: int = 3
    reps_big: int = 3
    reps_reupload: int = 3

    @classmethod
    def quick(cls) -> Sizes:
        return cls(n_small=200, big_bytes=128 * MIB, reps_small=3, reps_big=1, reps_reupload=2)


def default_sizes(quick: bool) -> Sizes:
    return Sizes.quick() if quick else Sizes()


# -- the benchmark ------------------------------------------------------------------------------


def _console_script(name: str, fallback: list[str]) -> list[str]:
    script = Path(sys.executable).parent / name
    return [str(script)] if script.exists() else fallback


DANDI = _console_script(
    "dandi", [sys.executable, "-c", "import sys; from dandi.cli.command import main; main()"]
)
NEUROPIL = _console_script("neuropil", [sys.executable, "-m", "neuropil"])


@dataclass
class Run:
    client: str
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


class Bench:
    def __init__(self, ws: Workspace, sizes: Any, name: str = "transfer") -> None:
        self.ws = ws
        self.sizes = sizes
        self.base = ws.path(name)
        self.base.mkdir()
        self.server = NeuropilServer(self.base / "data")
        self.token = ""
        self.transport: Any = None
        self.counter = 0
        self.problems: list[str] = []
        self.last_io: dict[str, int] = {}
        self.last_sync = 0.0

    # -- plumbing ------------------------------------------------------------------------------

    def fresh(self, name: str) -> Path:
        self.counter += 1
        p = self.base / f"{self.counter:03d}-{name}"
        p.mkdir(parents=True)
        return p

    def env(self, home: Path) -> dict[str, str]:
        env = dict(os.environ)
        for var in (
            "DANDI_INSTANCE",
            "DANDI_API_KEY",
            "DANDI_CACHE",
            "NEUROPIL_URL",
            "NEUROPIL_API_KEY",
            "NEUROPIL_DATA",
            "NEUROPIL_DATABASE_URL",
        ):
            env.pop(var, None)
        env["DANDI_NO_ET"] = "1"
        for var in ("XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
            env[var] = str(home / var.lower())
        env["NEUROPIL_CACHE_DIR"] = str(home / "neuropil-cache")
        # The official client names an unknown server after host:port.
        env[f"127.0.0.1:{self.server.port}_API_KEY"] = self.token
        return env

    def cli(
        self,
        client: str,
        args: list[str],
        home: Path,
        cwd: Path | None = None,
        *,
        sync_after: bool = False,
    ) -> float:
        """Run one client command; the wall time of the whole process. ``sync_after`` also
        times an ``os.sync()`` right after it (``last_sync``): what it left unwritten."""
        exe = DANDI if client == "dandi" else NEUROPIL
        logf = home / "output.log"
        wait_idle(self.server.data_dir / "neuropil.db")
        os.sync()  # the previous run's dirty pages are not this run's cost
        assert self.server.proc is not None
        io0 = proc_io(self.server.proc.pid)
        with logf.open("wb") as out:
            t0 = time.perf_counter()
            proc = subprocess.run(
                [*exe, *args],
                cwd=cwd,
                env=self.env(home),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=CLI_TIMEOUT,
            )
            seconds = time.perf_counter() - t0
        io1 = proc_io(self.server.proc.pid)
        if sync_after:
            t1 = time.perf_counter()
            os.sync()
            self.last_sync = time.perf_counter() - t1
        #: What the server read and wrote (syscalls: sockets included) during the run.
        self.last_io = {k: io1.get(k, 0) - io0.get(k, 0) for k in ("rchar", "wchar")}
        if proc.returncode != 0:
            tail = "\n".join(logf.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"{client} {' '.join(args)} exited {proc.returncode}:\n{tail}")
        return seconds

    def new_dandiset(self, name: str) -> str:
        ds = self.transport.post_json("dandisets/", {"name": name, "metadata": {}})
        return str(ds["identifier"])

    def remote(self, identifier: str) -> dict[str, tuple[int, str, str]]:
        """path -> (size, dandi-etag, blob id) of the draft's assets."""
        out = {}
        for a in self.transport.paginate(
            f"dandisets/{identifier}/versions/draft/assets/",
            {"metadata": "true", "page_size": 1000},
        ):
            md = a.get("metadata") or {}
            etag = (md.get("digest") or {}).get("dandi:dandi-etag", "")
            out[a["path"]] = (int(a["size"]), etag, str(a.get("blob") or md.get("blob") or ""))
        return out

    def check_upload(self, identifier: str, tree: Tree) -> list[str]:
        got = self.remote(identifier)
        want = {p: (f.size, f.etag) for p, f in tree.files.items()}
        have = {p: (size, etag) for p, (size, etag, _) in got.items()}
        if have == want:
            return []
        missing = sorted(set(want) - set(have))
        extra = sorted(set(have) - set(want))
        wrong = sorted(p for p in set(want) & set(have) if want[p] != have[p])
        return [
            f"dandiset {identifier}: {len(missing)} missing, {len(extra)} unexpected, "
            f"{len(wrong)} with the wrong size or etag (e.g. {(missing + extra + wrong)[:3]})"
        ]

    def note_problems(self, what: str, problems: list[str]) -> None:
        for p in problems:
            msg = f"{what}: {p}"
            log(f"CHECK FAILED {msg}")
            self.problems.append(msg)

    # -- set-up --------------------------------------------------------------------------------

    def seed(self, name: str, paths: list[str], size: int) -> tuple[str, Tree]:
        """A dandiset filled through neuropil's real upload path (in-process, not timed)."""
        from neuropil.client.digest_cache import DigestCache
        from neuropil.client.upload_files import upload_paths

        ident = self.new_dandiset(name)
        src = self.fresh(f"seed-{name}")
        tree = make_tree(src / ident, paths, size, ident)
        with DigestCache(self.fresh("seed-cache")) as cache:
            report = upload_paths(
                self.transport,
                dandiset_id=ident,
                dandiset_root=tree.root,
                validation="skip",
                cache=cache,
            )
        if not report.ok or len(report.uploaded) != len(paths):
            raise RuntimeError(f"seeding {name} failed: {report.failed[:3]}")
        self.note_problems(f"seed {name}", self.check_upload(ident, tree))
        shutil.rmtree(src)  # the manifest (sizes, sha256, etags) is all we keep
        wait_idle(self.server.data_dir / "neuropil.db")
        return ident, Tree(Path(), tree.files)

    # -- scenarios -----------------------------------------------------------------------------

    def download(self, label: str, ident: str, expected: Tree, reps: int) -> list[Run]:
        url = f"{self.server.api_url}/dandisets/{ident}/"
        runs: list[Run] = []
        for rep in range(reps):
            order = CLIENTS if rep % 2 == 0 else CLIENTS[::-1]
            for client in order:
                home = self.fresh(f"{label}-{client}-home")
                out = self.fresh(f"{label}-{client}-out")
                secs = self.cli(client, ["download", "-o", str(out), url], home, sync_after=True)
                problems = check_download(out, ident, expected)
                self.note_problems(f"({label}) {client} download round {rep + 1}", problems)
                extra = {"ok": not problems, "server_io": self.last_io, "sync": self.last_sync}
                runs.append(Run(client, secs, extra))
                log(
                    f"({label}) round {rep + 1}/{reps} {client:8s} download {secs:7.2f} s, "
                    f"then sync {self.last_sync:.2f} s"
                )
                shutil.rmtree(out)
                shutil.rmtree(home)
        return runs

    def upload_args(self, client: str) -> list[str]:
        if client == "dandi":
            return ["upload", "-i", self.server.url, "--validation", VALIDATION]
        return [
            "upload",
            "-i",
            self.server.url,
            "--token",
            self.token,
            "--validation",
            VALIDATION,
        ]

    def upload(
        self, label: str, paths: list[str], size: int, reps: int, keep_last: bool = False
    ) -> tuple[list[Run], dict[str, tuple[str, Tree, Path]]]:
        """Fresh random files into a fresh dandiset per run; returns the runs and, with
        ``keep_last``, each client's last (dandiset, tree, home) for the re-upload."""
        runs: list[Run] = []
        kept: dict[str, tuple[str, Tree, Path]] = {}
        for rep in range(reps):
            order = CLIENTS if rep % 2 == 0 else CLIENTS[::-1]
            for client in order:
                ident = self.new_dandiset(f"{label} {client} {rep + 1}")
                src = self.fresh(f"{label}-{client}-src")
                log(f"({label}) writing {len(paths)} x {size / MIB:g} MiB of fresh random bytes")
                tree = make_tree(src / ident, paths, size, ident)
                time.sleep(0.05)  # nothing written in the last moment before the upload
                home = self.fresh(f"{label}-{client}-home")
                secs = self.cli(client, self.upload_args(client), home, cwd=tree.root)
                problems = self.check_upload(ident, tree)
                self.note_problems(f"({label}) {client} upload round {rep + 1}", problems)
                runs.append(
                    Run(
                        client,
                        secs,
                        {"ok": not problems, "dandiset": ident, "server_io": self.last_io},
                    )
                )
                log(f"({label}) round {rep + 1}/{reps} {client:8s} upload   {secs:7.2f} s")
                if keep_last and rep == reps - 1:  # each client's final round: for (d)
                    kept[client] = (ident, tree, home)
                else:
                    shutil.rmtree(src)
                    shutil.rmtree(home)
        return runs, kept

    def reupload(self, label: str, kept: dict[str, tuple[str, Tree, Path]], reps: int) -> list[Run]:
        """The same tree again, same dandiset, same home (caches), default --existing."""
        runs: list[Run] = []
        for rep in range(reps):
            order = CLIENTS if rep % 2 == 0 else CLIENTS[::-1]
            for client in order:
                ident, tree, home = kept[client]
                before_blobs = self.remote(ident)
                wait_idle(self.server.data_dir / "neuropil.db")
                state = StoreState.read(self.server.data_dir)
                secs = self.cli(client, self.upload_args(client), home, cwd=tree.root)
                wrote, read = self.last_io["wchar"], self.last_io["rchar"]
                problems = state.differences(StoreState.read(self.server.data_dir))
                if wrote > REUPLOAD_IO_LIMIT or read > REUPLOAD_IO_LIMIT:
                    problems.append(f"the server read {read} and wrote {wrote} bytes")
                if self.remote(ident) != before_blobs:
                    problems.append("the dandiset's assets changed")
                self.note_problems(f"({label}) {client} re-upload round {rep + 1}", problems)
                runs.append(
                    Run(
                        client,
                        secs,
                        {
                            "no_blob_bytes": not problems,
                            "server_wchar": wrote,
                            "server_rchar": read,
                        },
                    )
                )
                log(
                    f"({label}) round {rep + 1}/{reps} {client:8s} re-upload {secs:6.2f} s "
                    f"server wrote {wrote / KIB:.0f} KiB, read {read / KIB:.0f} KiB"
                    + ("" if not problems else f"  PROBLEMS: {problems}")
                )
        return runs


def _summarize(
    key: str,
    title: str,
    runs: list[Run],
    reps: int,
    notes: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    per = {c: [r.seconds for r in runs if r.client == c] for c in CLIENTS}
    d, n = median(per["dandi"]), median(per["neuropil"])
    # Pairs measured in the same round: their ratio cancels part of the machine's drift.
    pairs = [a / b for a, b in zip(per["dandi"], per["neuropil"], strict=True)]
    speedup = d / n if n else float("nan")
    target = TARGETS[key]
    ok = all(r.extra.get("ok", True) and r.extra.get("no_blob_bytes", True) for r in runs)
    out: dict[str, Any] = {
        "key": key,
        "title": title,
        "reps": reps,
        "seconds": per,
        "dandi_median": d,
        "neuropil_median": n,
        "speedup": speedup,
        "speedup_paired": pairs,
        "target": target,
        "checks_ok": ok,
        "pass": ok and speedup >= target,
        "notes": notes,
        "extra": [r.extra for r in runs],
    }
    if all("sync" in r.extra for r in runs):
        # neuropil fsyncs every file before renaming it into place; dandi leaves its bytes
        # in the page cache. The CLI time plus a sync right after it compares durable results.
        durable = {c: [r.seconds + r.extra["sync"] for r in runs if r.client == c] for c in CLIENTS}
        out["durable_seconds"] = durable
        out["durable_speedup"] = median(durable["dandi"]) / median(durable["neuropil"])
    if extra:
        out.update(extra)
    return out


def _fmt_size(n: int) -> str:
    if n >= MIB and n % MIB == 0:
        return f"{n // MIB} MiB" if n < 1024 * MIB else f"{n / (1024 * MIB):g} GiB"
    return f"{n / KIB:g} KiB"


def run(ws: Workspace, *, sizes: Sizes | None = None) -> dict[str, Any]:
    from neuropil.http.transport import Transport

    sz = sizes or Sizes()
    b = Bench(ws, sz)
    result: dict[str, Any] = {
        "sizes": sz.__dict__,
        "clients": {
            "dandi": " ".join(DANDI),
            "neuropil": " ".join(NEUROPIL),
            "dandi_version": _dandi_version(),
        },
        "scenarios": [],
        "notes": [],
    }
    small = small_paths(sz.n_small)
    big = big_paths(sz.n_big)
    a_title = f"(a) download {sz.n_small} x {_fmt_size(sz.small_bytes)}"
    b_title = f"(b) download {sz.n_big} x {_fmt_size(sz.big_bytes)}"
    b.token = b.server.add_user("bench", admin=True)
    try:
        b.server.start()
        b.transport = Transport(
            b.server.api_url, b.token, timeout=httpx.Timeout(600.0, connect=10.0)
        )
        log(f"seeding {sz.n_small} x {_fmt_size(sz.small_bytes)} through neuropil's uploader")
        t0 = time.perf_counter()
        small_id, small_tree = b.seed("small", small, sz.small_bytes)
        log(f"seeding {sz.n_big} x {_fmt_size(sz.big_bytes)}")
        big_id, big_tree = b.seed("big", big, sz.big_bytes)
        result["seed_seconds"] = round(time.perf_counter() - t0, 1)

        scen = result["scenarios"]
        runs = b.download("a", small_id, small_tree, sz.reps_small)
        scen.append(_summarize("a", a_title, runs, sz.reps_small, "fresh dirs and homes"))
        runs = b.download("b", big_id, big_tree, sz.reps_big)
        scen.append(_summarize("b", b_title, runs, sz.reps_big, "fresh dirs and homes"))
        runs, _ = b.upload("c-a", small, sz.small_bytes, sz.reps_small)
        scen.append(
            _summarize(
                "c-a",
                f"(c) upload {sz.n_small} x {_fmt_size(sz.small_bytes)}",
                runs,
                sz.reps_small,
                f"validation {VALIDATION} (both); new bytes, new dandiset, empty caches",
            )
        )
        runs, kept = b.upload("c-b", big, sz.big_bytes, sz.reps_big, keep_last=True)
        scen.append(
            _summarize(
                "c-b",
                f"(c) upload {sz.n_big} x {_fmt_size(sz.big_bytes)}",
                runs,
                sz.reps_big,
                f"validation {VALIDATION} (both); new bytes, new dandiset, empty caches",
            )
        )
        runs = b.reupload("d", kept, sz.reps_reupload)
        scen.append(
            _summarize(
                "d",
                f"(d) re-upload unchanged {sz.n_big} x {_fmt_size(sz.big_bytes)}",
                runs,
                sz.reps_reupload,
                "existing=refresh (both defaults); caches kept from (c)",
                {
                    "server_wchar_max": max(r.extra["server_wchar"] for r in runs),
                    "no_blob_bytes": all(r.extra["no_blob_bytes"] for r in runs),
                },
            )
        )
        for _, tree, home in kept.values():
            shutil.rmtree(tree.root.parent, ignore_errors=True)
            shutil.rmtree(home, ignore_errors=True)
    finally:
        if b.transport is not None:
            b.transport.close()
        b.server.stop()
        shutil.rmtree(b.base, ignore_errors=True)
    result["checks"] = {"transfer": b.problems}
    result["notes"].insert(0, "results (wall seconds, median of the runs):\n" + report(result))
    return result


def _dandi_version() -> str:
    try:
        from importlib.metadata import version

        return version("dandi")
    except Exception:  # pragma: no cover
        return "?"


# -- output --------------------------------------------------------------------------------------

TABLE_HEADERS = ["scenario", "dandi s", "neuropil s", "speedup", "target", "result", "notes"]


def _target_text(s: dict[str, Any]) -> str:
    if s["key"] == "d":
        return "no bytes, <=1/5 time"
    return f">={s['target']:g}x"


def _verdict(s: dict[str, Any]) -> str:
    if not s["checks_ok"]:
        return "CHECK FAILED"
    return "pass" if s["pass"] else "MISS"


def _spread(xs: list[float]) -> str:
    return f"{median(xs):.2f}" + (f" ({min(xs):.2f}-{max(xs):.2f})" if len(xs) > 1 else "")


def _notes(s: dict[str, Any]) -> str:
    text = f"{s['reps']} run(s) each; {s['notes']}"
    if "durable_seconds" in s:
        d, n = s["durable_seconds"]["dandi"], s["durable_seconds"]["neuropil"]
        text += (
            f"; incl. a final sync: dandi {median(d):.2f} s, neuropil {median(n):.2f} s "
            f"({s['durable_speedup']:.2f}x)"
        )
    if s["key"] == "d":
        text += (
            "; blob bytes sent: none"
            if s.get("no_blob_bytes")
            else "; BLOB BYTES SENT (see checks)"
        )
    return text


def report(result: dict[str, Any]) -> str:
    rows = [
        [
            s["title"],
            _spread(s["seconds"]["dandi"]),
            _spread(s["seconds"]["neuropil"]),
            f"{s['speedup']:.2f}x",
            _target_text(s),
            _verdict(s),
            _notes(s),
        ]
        for s in result.get("scenarios", [])
    ]
    return table(TABLE_HEADERS, rows, "lrrrlll")


def rows(result: dict[str, Any]) -> list[list[Any]]:
    """Rows for ``benchmarks.run``'s table (benchmark, client, subject, median, spread,
    detail, ratio, target, verdict)."""
    out = []
    for s in result.get("scenarios", []):
        d, n = s["seconds"]["dandi"], s["seconds"]["neuropil"]
        out.append(
            [
                f"transfer {s['title']}",
                "neuropil CLI",
                "vs dandi CLI",
                f"{median(n):.2f} s",
                f"{min(n):.2f}-{max(n):.2f}",
                f"dandi {median(d):.2f} s",
                f"{s['speedup']:.2f}x",
                _target_text(s),
                _verdict(s),
            ]
        )
    return out


LEGEND = (
    "Transfer: wall seconds of whole CLI processes (median of interleaved runs), dandi "
    f"{_dandi_version()} vs neuropil, same server;\n  speedup = dandi / neuropil; see "
    "benchmarks/transfer.py for the method and what is checked."
)


# -- stand-alone ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = standalone_parser("transfer", __doc__)
    p.add_argument("--quick", action="store_true", help="200 files, 2 x 128 MiB, fewer runs")
    p.add_argument("--files", type=int, help="small files (default 1000)")
    p.add_argument("--file-kib", type=int, help="small file size (default 100)")
    p.add_argument("--big-files", type=int, help="large files (default 2)")
    p.add_argument("--big-mib", type=int, help="large file size (default 1024)")
    p.add_argument("--reps", type=int, help="runs of (a) and (c) small per client (default 3)")
    p.add_argument("--big-reps", type=int, help="runs of (b) and (c) large (default 3)")
    p.add_argument("--reupload-reps", type=int, help="runs of (d) per client (default 3)")
    add_workspace_arguments(p)
    args = p.parse_args(argv)
    sz = default_sizes(args.quick)
    changes: dict[str, int] = {}
    for opt, fld, scale in [
        ("files", "n_small", 1),
        ("file_kib", "small_bytes", KIB),
        ("big_files", "n_big", 1),
        ("big_mib", "big_bytes", MIB),
        ("reps", "reps_small", 1),
        ("big_reps", "reps_big", 1),
        ("reupload_reps", "reps_reupload", 1),
    ]:
        v = getattr(args, opt)
        if v is not None:
            changes[fld] = v * scale
    sz = Sizes(**{**sz.__dict__, **changes})
    return run_standalone(lambda ws: run(ws, sizes=sz), args, legend=LEGEND, report=report)


if __name__ == "__main__":
    raise SystemExit(main())
