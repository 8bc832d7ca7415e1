"""Run the benchmarks, print one table and save a JSON copy under ``benchmarks/results/``.

python -m benchmarks                      # everything, full sizes
python -m benchmarks --quick              # smoke run: small blob, 5,000 assets
python -m benchmarks --only download      # or: --only listing, --only transfer, --only publish
python -m benchmarks --only streaming     # NWB streaming: neuropil vs remfile, fsspec, LINDI
python -m benchmarks --only search        # search + page renders, 10,000 dandisets / 1M assets
python -m benchmarks --only tables        # file manifest + sessions of 1,000 assets vs dandi
python -m benchmarks --only preview       # every preview of the demo files: under 1 s each?
python -m benchmarks --only zarr          # a 10,000-key Zarr: dandi vs neuropil, ingest, open_zarr
python -m benchmarks --only load          # wrk: requests/s of five reads vs dandi-archive
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # ``python benchmarks/run.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import (
    download,
    listing,
    load,
    preview,
    publish,
    search,
    streaming,
    tables,
    transfer,
    zarr_assets,
)
from benchmarks.common import (
    HEADERS,
    REPO,
    Workspace,
    environment,
    exit_on_sigterm,
    loadavg,
    log,
    table,
)

RESULTS = REPO / "benchmarks" / "results"

ALIGN = "lllrrrrll"
#: Every benchmark, in the order they run (``--only`` picks some).
BENCHMARKS = (
    "download",
    "listing",
    "transfer",
    "publish",
    "streaming",
    "search",
    "tables",
    "preview",
    "zarr",
    "load",
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--only",
        choices=BENCHMARKS,
        action="append",
        help="run only this benchmark (repeatable)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smaller sizes for a smoke run (128 MiB blob, 5,000 assets)",
    )
    p.add_argument("--size-mib", type=int, help="blob size for the download (default 1024)")
    p.add_argument(
        "--download-reps",
        type=int,
        default=None,
        help="measured downloads per client and server (default 5; quick 3)",
    )
    p.add_argument("--assets", type=int, help="assets to seed for the listing (default 100000)")
    p.add_argument(
        "--listing-reps",
        type=int,
        default=None,
        help="requests per listing query (default 30; quick 10)",
    )
    p.add_argument(
        "--publish-sizes",
        type=int,
        nargs="+",
        help="dandiset sizes (assets) for the publish benchmark (default 10 1000 10000)",
    )
    p.add_argument(
        "--load-reps",
        type=int,
        default=None,
        help="rounds of the load benchmark (default 3; quick 1)",
    )
    p.add_argument(
        "--load-seconds",
        type=int,
        default=None,
        help="seconds of each wrk run of the load benchmark (default 10; quick 5)",
    )
    p.add_argument(
        "--no-peer",
        action="store_true",
        help="load benchmark without the dandi-archive peer (neuropil and the ceiling only)",
    )
    p.add_argument(
        "--nginx-directive",
        action="append",
        metavar="DIRECTIVE",
        help="extra directive for nginx's http block, e.g. 'tcp_nopush on' (repeatable)",
    )
    p.add_argument(
        "--baseline",
        metavar="GIT_REF",
        help="also serve the blob with src/neuropil/api/streaming.py as at GIT_REF (the rest "
        "of the server unchanged), for before/after numbers in the same run",
    )
    p.add_argument(
        "--tmp-dir",
        type=Path,
        default=None,
        help="parent of the temporary workspace (default: the system temp dir)",
    )
    p.add_argument("--keep", action="store_true", help="keep the workspace (debugging)")
    p.add_argument("--output", type=Path, default=None, help="JSON file to write")
    return p.parse_args(argv)


def _fmt_ms(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.1f}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    only = set(args.only or BENCHMARKS)
    size_mib = args.size_mib or (128 if args.quick else 1024)
    dl_reps = args.download_reps or (3 if args.quick else 5)
    n_assets = args.assets or (5_000 if args.quick else 100_000)
    ls_reps = args.listing_reps or (10 if args.quick else 30)

    exit_on_sigterm()

    report: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": sys.argv[1:] if argv is None else argv,
        "quick": args.quick,
        "environment": environment(),
        "benchmarks": {},
    }
    rows: list[list[Any]] = []
    failed = False
    with Workspace(args.tmp_dir, keep=args.keep) as ws:
        log(f"workspace {ws.root}")
        runners: dict[str, tuple[Callable[[], dict[str, Any]], Callable[[Any], list[Any]]]] = {
            "download": (
                lambda: download.run(
                    ws,
                    size_mib=size_mib,
                    reps=dl_reps,
                    nginx_directives=args.nginx_directive,
                    baseline_ref=args.baseline,
                ),
                download.rows,
            ),
            "listing": (lambda: listing.run(ws, n_assets=n_assets, reps=ls_reps), listing.rows),
            "transfer": (
                lambda: transfer.run(ws, sizes=transfer.default_sizes(args.quick)),
                transfer.rows,
            ),
            "publish": (
                lambda: publish.run(
                    ws,
                    sizes=tuple(
                        args.publish_sizes or (publish.QUICK_SIZES if args.quick else publish.SIZES)
                    ),
                ),
                publish.rows,
            ),
            "streaming": (
                lambda: streaming.run(ws, settings=streaming.default_settings(args.quick)),
                streaming.rows,
            ),
            "search": (lambda: search.run(ws, quick=args.quick), search.rows),
            "tables": (lambda: tables.run(ws), tables.rows),
            "preview": (
                lambda: preview.run(ws, reps=preview.QUICK_REPS if args.quick else preview.REPS),
                preview.rows,
            ),
            "zarr": (
                lambda: zarr_assets.run(ws, sizes=zarr_assets.default_sizes(args.quick)),
                zarr_assets.rows,
            ),
            "load": (
                lambda: load.run(
                    ws,
                    reps=args.load_reps or (1 if args.quick else 3),
                    seconds=args.load_seconds or (5 if args.quick else 10),
                    peer=not args.no_peer,
                ),
                load.rows,
            ),
        }
        for name, (run_one, to_rows) in runners.items():
            if name not in only:
                continue
            try:
                res = run_one()
                report["benchmarks"][name] = res
                rows += to_rows(res)
            except Exception as exc:  # report and go on with the other benchmarks
                failed = True
                log(f"{name} benchmark failed: {exc!r}")
                report["benchmarks"][name] = {"error": repr(exc)}
    report["environment"]["loadavg_end"] = loadavg()
    report["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")

    print()
    if "download" in only:
        print(
            "Download: MB/s (10^6 bytes/s), median of interleaved rounds; ratio = median over "
            "rounds of neuropil / nginx,\n  same client, measured back to back; detail = "
            "server CPU seconds per GiB sent (from /proc)."
        )
    if "listing" in only:
        print(
            "Listing: milliseconds per request over HTTP (p50 / p95); no peer server exists, "
            "so the absolute\n  time is compared with the 50 ms target; detail = the same "
            "query in-process through\n  services.assets.list_assets (database + row "
            "building, no HTTP/JSON)."
        )
    if "transfer" in only:
        print(transfer.LEGEND)
    if "publish" in only:
        print(publish.LEGEND)
    if "streaming" in only:
        print(streaming.LEGEND)
    if "search" in only:
        print(search.LEGEND)
    if "tables" in only:
        print(tables.LEGEND)
    if "preview" in only:
        print(preview.LEGEND)
    if "zarr" in only:
        print(zarr_assets.LEGEND)
    if "load" in only:
        print(load.LEGEND)
    print(
        f"Load average at start {report['environment']['loadavg_start']}, "
        f"at end {report['environment']['loadavg_end']} "
        f"on {report['environment']['cpus']} CPUs."
    )
    print()
    print(table(HEADERS, rows, ALIGN))
    for name, res in report["benchmarks"].items():
        if "error" in res:
            print(f"\n{name}: FAILED: {res['error']}")
        for note in res.get("notes", []):
            print(f"\n{name}: {note}")
        for key in ("nginx_skipped", "curl_skipped", "baseline_skipped"):
            if key in res:
                print(f"\n{name}: {key.replace('_', ' ')}: {res[key]}")
        for server, problems in res.get("checks", {}).items():
            for p in problems:
                print(f"\n{name}: CHECK FAILED for {server}: {p}")

    out = args.output or RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nJSON: {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
