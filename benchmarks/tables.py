"""Benchmark: the tables of a 1,000-asset Dandiset, the official client's way and neuropil's.

Seeding, as :mod:`benchmarks.listing` does: a user and a dandiset through the service layer,
then blobs, assets (NWB metadata: participant, session, techniques), membership and the
folder tree by bulk SQL; and for every blob the LINDI index of one demo NWB file with its
status record, written into the store as the index job writes them, so the sessions table
reads real indexes. One file per session: 100 subjects x 10 sessions.

Then a real ``neuropil serve`` behind a counting proxy (:mod:`benchmarks.latency_proxy`,
no added delay) answers:

* official: ``DandiAPIClient.get_dandiset(id, "draft")``, ``get_assets()``, then
  ``get_raw_metadata()`` per asset, rows made into a DataFrame (the manifest only);
* neuropil manifest: ``neuropil.client.tables.read_table(url, "files")``;
* neuropil ``archive_info``: both tables (``files`` and ``sessions``), warm (kept tables),
  after a change to the draft (its metadata: both tables rebuilt, every kept row reused by
  asset id) and the very first time (1,000 indexes read).

Both manifests are compared (download URLs aside) as a correctness check.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from benchmarks.common import NeuropilServer, Workspace, log, summary
from benchmarks.latency_proxy import ProxyProcess
from benchmarks.listing import _batches, _context, _uuid, insert_tree

ASSETS = 1000
SESSIONS_PER_SUBJECT = 10
TARGET_RATIO = 20.0
OFFICIAL_REPS = 3
NEUROPIL_REPS = 10
CHANGE_REPS = 3


# -- seeding ---------------------------------------------------------------------------------


def asset_metadata(path: str, subject: str, session: str, start: datetime) -> dict[str, Any]:
    return {
        "path": path,
        "encodingFormat": "application/x-nwb",
        "wasAttributedTo": [
            {
                "schemaKey": "Participant",
                "identifier": subject,
                "species": {"schemaKey": "SpeciesType", "name": "Mus musculus - House mouse"},
                "sex": {"schemaKey": "SexType", "name": "Male"},
                "age": {"schemaKey": "PropertyValue", "value": "P90D"},
            }
        ],
        "wasGeneratedBy": [
            {
                "schemaKey": "Session",
                "identifier": session,
                "name": session,
                "startDate": start.isoformat(),
            }
        ],
        "measurementTechnique": [
            {
                "schemaKey": "MeasurementTechniqueType",
                "name": "multi electrode extracellular electrophysiology recording technique",
            }
        ],
        "approach": [{"schemaKey": "ApproachType", "name": "electrophysiological approach"}],
        "variableMeasured": [{"schemaKey": "PropertyValue", "value": "ElectricalSeries"}],
    }


def insert_assets(ctx: Any, version_id: int, n: int) -> list[tuple[str, int, int, str, str]]:
    """Blobs, assets and membership; returns (path, pk, size, blob_id, etag) per asset."""
    from neuropil.db.models import Asset, AssetBlob, VersionAsset
    from neuropil.services.metadata import strip_asset_metadata
    from neuropil.storage import blob_key

    rng = random.Random(20261201)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    blobs, assets, members, files = [], [], [], []
    for i in range(n):
        subject, k = f"{i // SESSIONS_PER_SUBJECT:03d}", i % SESSIONS_PER_SUBJECT
        session = f"{subject}-{k:02d}"
        path = f"sub-{subject}/sub-{subject}_ses-{session}_ecephys.nwb"
        blob_id, size, created = _uuid(rng), rng.randrange(1 << 20, 1 << 30), t0 + timedelta(i)
        etag = f"{hashlib.md5(blob_id.encode()).hexdigest()}-{1 + size // (64 << 20)}"
        blobs.append(
            {
                "blob_id": blob_id,
                "key": blob_key(blob_id),
                "etag": etag,
                "sha256": hashlib.sha256(blob_id.encode()).hexdigest(),
                "size": size,
                "embargoed": False,
                "created": created,
                "modified": created,
            }
        )
        md = asset_metadata(path, subject, session, created)
        assets.append(
            {
                "id": i + 1,
                "asset_id": _uuid(rng),
                "path": path,
                "blob_id": blob_id,
                "zarr_id": None,
                "metadata": strip_asset_metadata(md),
                "status": "Valid",  # validated: no background validation mid-measurement
                "validation_errors": [],
                "published": False,
                "created": created,
                "modified": created,
            }
        )
        members.append(
            {"version_id": version_id, "asset_id": i + 1, "path": path, "path_lower": path.lower()}
        )
        files.append((path, i + 1, size, blob_id, etag))
    with ctx.db.write() as s:
        conn = s.connection()
        for table, rows in ((AssetBlob, blobs), (Asset, assets), (VersionAsset, members)):
            for batch in _batches(rows):
                conn.execute(sa.insert(table), batch)
    return files


def write_indexes(ctx: Any, blobs: list[tuple[str, str]], nwb_dir: Path) -> tuple[int, int]:
    """The demo file's index and a ``built`` status for every (blob id, etag); returns the
    index's size and the electrode count it holds."""
    from neuropil.demo import make_nwb_files
    from neuropil.index import build_index, dumps_index
    from neuropil.services import indexes
    from neuropil.tables import read_contents

    index = build_index(make_nwb_files(nwb_dir)[0], url="", name="benchmark")
    data = dumps_index(index).encode()
    (template,) = index["templates"]
    for blob_id, etag in blobs:
        ctx.store.put(indexes.index_key(blob_id), data)
        status = indexes.IndexStatus(
            indexes.BUILT,
            "",
            etag,
            digest=hashlib.sha256(data).hexdigest(),
            size=len(data),
            template=str(template),
            version=int(index["version"]),
        )
        ctx.store.put(indexes.status_key(blob_id), status.to_json())
    return len(data), read_contents(index).electrode_count


def seed(data_dir: Path, nwb_dir: Path, n: int) -> dict[str, Any]:
    from neuropil.services import auth
    from neuropil.services.dandisets import create_dandiset

    ctx = _context(data_dir)
    try:
        user, token = auth.create_user(ctx, username="bench", admin=True)
        info = create_dandiset(ctx, user=user, name="tables benchmark", metadata={})
        files = insert_assets(ctx, info.draft.id, n)
        insert_tree(ctx, info.draft.id, [(p, pk, size) for p, pk, size, _, _ in files])
        size, electrodes = write_indexes(ctx, [(b, e) for *_, b, e in files], nwb_dir)
        return {
            "identifier": info.dandiset.identifier,
            "token": token,
            "index_bytes": size,
            "electrodes": electrodes,
        }
    finally:
        ctx.db.dispose()


# -- the clients -----------------------------------------------------------------------------


def official_manifest(api_url: str, ident: str) -> Any:
    """The file manifest the official client's way: list, then one request per asset."""
    from dandi.dandiapi import DandiAPIClient

    from neuropil.client.tables import frame
    from neuropil.tables import FILES, facts_of, file_row

    rows = []
    with DandiAPIClient(api_url=api_url) as client:
        for asset in client.get_dandiset(ident, "draft").get_assets():
            md = asset.get_raw_metadata()
            rows.append(
                file_row(
                    path=asset.path,
                    asset_id=asset.identifier,
                    download_url=asset.download_url,
                    size=asset.size,
                    digest=md.get("digest") or {},
                    facts=facts_of(md),
                )
            )
    return frame(rows, FILES)


def measure(proxy: ProxyProcess, fn: Callable[[], Any]) -> tuple[float, list[str], Any]:
    """Seconds, request paths and result of one call."""
    proxy.wait_idle()
    before = proxy.counts()
    t0 = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - t0
    proxy.wait_idle()
    return seconds, [s.path for s in proxy.since(before)], value


def change_draft(http: httpx.Client, ident: str, round_: int) -> None:
    """Edit the draft's description (its ``modified`` moves) and wait for its validation."""
    url = f"/dandisets/{ident}/versions/draft/"
    md = http.get(url).json()
    md["description"] = f"tables benchmark, round {round_}"
    r = http.put(url, json={"name": md["name"], "metadata": md})
    r.raise_for_status()
    deadline = time.monotonic() + 120
    while http.get(url + "info/").json()["status"] in ("Pending", "Validating"):
        if time.monotonic() > deadline:
            raise TimeoutError("the draft did not validate within 120 s")
        time.sleep(0.1)


def _noop(_: int) -> None:
    pass


def _timed(
    proxy: ProxyProcess, fn: Callable[[], Any], reps: int, before: Callable[[int], None] = _noop
) -> tuple[list[float], list[str], Any]:
    """``reps`` calls of ``fn`` (``before(i)`` first, untimed): times, the last call's
    request paths and its result."""
    times: list[float] = []
    paths: list[str] = []
    value = None
    for i in range(reps):
        before(i)
        seconds, paths, value = measure(proxy, fn)
        times.append(seconds)
    return times, paths, value


def run(ws: Workspace, *, n_assets: int = ASSETS) -> dict[str, Any]:
    import neuropil
    from neuropil.client.tables import read_table

    os.environ.setdefault("DANDI_NO_ET", "1")  # the official client must not phone home
    data_dir = ws.path("tables-data")
    log(f"seeding {n_assets:,} NWB assets with their indexes")
    t0 = time.perf_counter()
    seeded = seed(data_dir, ws.path("tables-nwb"), n_assets)
    result: dict[str, Any] = {
        "assets": n_assets,
        "seed_seconds": round(time.perf_counter() - t0, 1),
        "index_bytes": seeded["index_bytes"],
        "target_ratio": TARGET_RATIO,
        "checks": {"neuropil": []},
        "notes": [],
    }
    ident, checks = seeded["identifier"], result["checks"]["neuropil"]
    server = NeuropilServer(data_dir)
    with server, ProxyProcess(server.url) as proxy:
        api = f"{proxy.url}/api"
        url = f"{api}/dandisets/{ident}/versions/draft/"
        headers = {"Authorization": f"token {seeded['token']}"}
        with httpx.Client(base_url=server.api_url, headers=headers, timeout=120) as http:
            change_draft(http, ident, 0)  # let the seeded draft validate first
            log("neuropil: first archive_info (reads every index)")
            first = measure(proxy, lambda: neuropil.archive_info(url))
            result["first_build"] = {"seconds": first[0], "requests": first[1]}
            _, files, sessions = first[2]
            if len(files) != n_assets or len(sessions) != n_assets:
                checks.append(f"{len(files)} files, {len(sessions)} sessions")
            electrodes = {seeded["electrodes"]}
            if set(sessions.electrode_count) != electrodes or set(sessions.index_status) != {
                "built"
            }:
                checks.append("sessions lack the index columns")
            log(f"official client: {OFFICIAL_REPS} rounds of list + get_raw_metadata per asset")
            off = _timed(proxy, lambda: official_manifest(api, ident), OFFICIAL_REPS)
            log(f"neuropil: {NEUROPIL_REPS} rounds of read_table and archive_info")
            man = _timed(proxy, lambda: read_table(url, "files"), NEUROPIL_REPS)
            both = _timed(proxy, lambda: neuropil.archive_info(url), NEUROPIL_REPS)
            log(f"neuropil: {CHANGE_REPS} rounds of archive_info after a change to the draft")
            changed = _timed(
                proxy,
                lambda: neuropil.archive_info(url),
                CHANGE_REPS,
                lambda i: change_draft(http, ident, i + 1),
            )
    ours = man[2].assign(download_url=None)
    theirs = off[2].sort_values("path").reset_index(drop=True).assign(download_url=None)
    if not ours.equals(theirs):
        checks.append("the official client's manifest differs from neuropil's")
    for key, (times, paths, _) in {
        "official": off,
        "manifest": man,
        "archive_info": both,
        "after_change": changed,
    }.items():
        result[key] = {"seconds": summary(times), "requests": len(paths), "paths": paths[:5]}
    official = result["official"]["seconds"]["median"]
    for key in ("manifest", "archive_info", "after_change"):
        result[key]["ratio"] = official / result[key]["seconds"]["median"]
    return result


# -- the report ------------------------------------------------------------------------------


def rows(result: dict[str, Any]) -> list[list[Any]]:
    bench = f"tables {result['assets']:,} assets"
    off = result.get("official")
    if off is None:
        return []
    out = [
        [
            bench,
            "dandi",
            "manifest: get_assets + get_raw_metadata",
            f"{off['seconds']['median'] * 1000:.0f} ms",
            f"p95 {off['seconds']['p95'] * 1000:.0f} ms",
            f"{off['requests']} requests",
            "1.0",
            "(reference)",
            "",
        ]
    ]
    subjects = {
        "manifest": "manifest: read_table(files)",
        "archive_info": "archive_info (files + sessions)",
        "after_change": "archive_info after a draft change",
    }
    for key, subject in subjects.items():
        r = result[key]
        single = key == "manifest"
        ok = r["ratio"] >= TARGET_RATIO and (r["requests"] == 1 or not single)
        out.append(
            [
                bench,
                "neuropil",
                subject,
                f"{r['seconds']['median'] * 1000:.1f} ms",
                f"p95 {r['seconds']['p95'] * 1000:.1f} ms",
                f"{r['requests']} request{'s' if r['requests'] != 1 else ''}",
                f"{r['ratio']:.0f}x",
                f">= {TARGET_RATIO:.0f}x" + (", 1 request" if single else ""),
                "ok" if ok else "MISS",
            ]
        )
    first = result["first_build"]
    out.append(
        [
            bench,
            "neuropil",
            "first archive_info (reads 1,000 indexes)",
            f"{first['seconds'] * 1000:.0f} ms",
            "-",
            f"{len(first['requests'])} requests",
            "",
            "(once per version)",
            "",
        ]
    )
    return out


LEGEND = (
    "Tables: a 1,000-asset draft (NWB metadata, a LINDI index per blob) behind a counting "
    "proxy with no delay;\n  ratio = the official client's median time for the manifest / "
    "neuropil's; requests per call, as the proxy saw them\n  (archive_info's two: one per "
    "table; 'after a draft change' rebuilds both tables, reusing the kept rows)."
)
