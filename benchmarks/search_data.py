"""The search benchmark's archive: 10,000 dandisets and 1,000,000 assets, generated straight
into the database (``executemany`` on SQLite, ``COPY`` on PostgreSQL); the triggers of
migrations 0004 and 0009 build the search index as the rows go in. See ``benchmarks/search.py``.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import log

BATCH = 20_000

SPECIES = [
    ("Mus musculus - House mouse", 0.45),
    ("Rattus norvegicus - Norway rat", 0.15),
    ("Homo sapiens - Human", 0.12),
    ("Macaca mulatta - Rhesus monkey", 0.08),
    ("Danio rerio - Zebra fish", 0.06),
    ("Drosophila melanogaster - Fruit fly", 0.05),
    ("Callithrix jacchus - Common marmoset", 0.04),
    ("Caenorhabditis elegans", 0.05),
]
#: modality: (path suffix, encoding format, approach, technique, variable measured)
MODALITIES = [
    ("ecephys", "application/x-nwb", "electrophysiological approach",
     "multi electrode extracellular electrophysiology recording technique", "ElectricalSeries"),
    ("ophys", "application/x-nwb", "microscopy approach; cell population imaging",
     "two-photon microscopy technique", "TwoPhotonSeries"),
    ("icephys", "application/x-nwb", "electrophysiological approach",
     "patch clamp technique", "CurrentClampSeries"),
    ("behavior", "video/mp4", "behavioral approach", "behavioral technique", "BehavioralEvents"),
    ("image", "image/png", "microscopy approach; cell population imaging",
     "fluorescence microscopy technique", "Images"),
]  # fmt: skip
REGIONS = [
    "hippocampus", "visual cortex", "motor cortex", "prefrontal cortex", "striatum",
    "cerebellum", "thalamus", "amygdala", "entorhinal cortex", "olfactory bulb", "retina",
    "spinal cord", "somatosensory cortex", "auditory cortex", "superior colliculus",
]  # fmt: skip
WORDS = str.split(
    "neurons spiking activity during navigation task place cells grid cells head direction "
    "decision making reward learning memory consolidation sleep oscillations theta gamma "
    "sharp wave ripples calcium imaging population dynamics optogenetic stimulation "
    "inhibition excitation interneurons pyramidal dendrites synaptic plasticity behavior "
    "licking running wheel virtual reality odor discrimination visual stimuli gratings "
    "natural scenes orientation tuning receptive fields whisker touch auditory tones "
    "chronic recordings silicon probes neuropixels tetrodes two photon widefield "
    "anesthetized awake head fixed freely moving adult juvenile transgenic line cre "
    "reporter dataset recordings sessions subjects trials"
)
SURNAMES = str.split("Smith Garcia Chen Müller Rossi Nakamura Kowalski Dubois Silva Ivanova Okafor")


# -- generation ------------------------------------------------------------------------------
@dataclass
class Plan:
    """What is generated: per dandiset its modality, species and number of assets."""

    n_dandisets: int
    n_assets: int
    seed: int = 20240101

    def sizes(self, rng: random.Random) -> list[int]:
        """Assets per dandiset: log-normal (most have tens to hundreds, a few thousands)."""
        raw = [rng.lognormvariate(0, 1.3) for _ in range(self.n_dandisets)]
        scale = self.n_assets / sum(raw)
        sizes = [max(1, int(x * scale)) for x in raw]
        sizes[sizes.index(max(sizes))] += self.n_assets - sum(sizes)  # exact total
        return sizes


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def _naive(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None)


def _dandiset_rows(plan: Plan, rng: random.Random) -> Iterator[dict[str, Any]]:
    t0 = datetime(2019, 1, 1, tzinfo=UTC)
    for ident, n in enumerate(plan.sizes(rng), start=1):
        modality = rng.choice(MODALITIES)
        species = [_pick(rng, SPECIES)]
        if rng.random() < 0.1:
            species.append(_pick(rng, SPECIES))
        region = rng.choice(REGIONS)
        created = t0 + timedelta(minutes=rng.randrange(6 * 365 * 24 * 60))
        modified = created + timedelta(minutes=rng.randrange(365 * 24 * 60))
        yield {
            "id": ident,
            "n": n,
            "modality": modality,
            "species": species,
            "region": region,
            "created": created,
            "modified": min(modified, datetime(2025, 12, 1, tzinfo=UTC)),
            "name": f"{region.title()} {modality[0]} recordings in {species[0].split(' - ')[-1]}"
            f" {rng.choice(WORDS)} {ident}",
            "description": " ".join(rng.choices(WORDS, k=rng.randrange(30, 90)))
            + f" in the {region}.",
            "keywords": [region, modality[0], *rng.sample(WORDS, 3)],
            "contributor": [
                {
                    "schemaKey": "Person",
                    "name": f"{rng.choice(SURNAMES)}, {rng.choice('ABCDEFGHJK')}.",
                    "roleName": ["dcite:Author", "dcite:ContactPerson"],
                }
            ],
        }


def _asset_metadata(d: dict[str, Any], subject: str) -> dict[str, Any]:
    _, fmt, approach, technique, variable = d["modality"]
    return {
        "schemaKey": "Asset",
        "schemaVersion": "0.6.10",
        "encodingFormat": fmt,
        "wasAttributedTo": [
            {"schemaKey": "Participant", "identifier": subject, "species": {"name": s}}
            for s in d["species"][:1]
        ],
        "approach": [{"schemaKey": "ApproachType", "name": approach}],
        "measurementTechnique": [{"schemaKey": "MeasurementTechniqueType", "name": technique}],
        "variableMeasured": [{"schemaKey": "PropertyValue", "value": variable}],
    }


def _summary(d: dict[str, Any]) -> dict[str, Any]:
    _, fmt, approach, technique, variable = d["modality"]
    return {
        "schemaKey": "AssetsSummary",
        "numberOfFiles": d["n"],
        "species": [{"name": s} for s in d["species"]],
        "approach": [{"name": approach}],
        "measurementTechnique": [{"name": technique}],
        "variableMeasured": [variable],
        "dataStandard": [{"name": "Neurodata Without Borders (NWB)"}],
        "encodingFormat": [fmt],
    }


class Tables:
    """Rows for one batch of dandisets, in the columns of each table."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[Any, ...]]] = {}

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.rows.setdefault(table, []).append(row)


COLUMNS = {
    "dandisets": ("id", "embargo_status", "embargo_end_date", "created", "modified"),
    "dandiset_owners": ("dandiset_id", "user_id"),
    "versions": (
        "id", "dandiset_id", "version", "name", "metadata", "status", "validation_errors",
        "doi", "release_notes", "assets_summary", "created", "modified",
    ),
    "asset_blobs": (
        "blob_id", "key", "etag", "sha256", "size", "embargoed", "created", "modified",
    ),
    "assets": (
        "id", "asset_id", "path", "blob_id", "zarr_id", "metadata", "status",
        "validation_errors", "published", "created", "modified",
    ),
    "asset_paths": (
        "version_id", "path", "parent", "aggregate_files", "aggregate_size", "asset_id",
    ),
    "version_assets": ("version_id", "asset_id", "path", "path_lower"),
}  # fmt: skip
#: Insert order: the triggers on version_assets read the assets and versions rows.
ORDER = list(COLUMNS)


def _batch(
    ds: list[dict[str, Any]], owner: int, next_pk: int, rng: random.Random
) -> tuple[Tables, int]:
    from neuropil.storage import blob_key

    t = Tables()
    for d in ds:
        ident = d["id"]
        created, modified = _naive(d["created"]), _naive(d["modified"])
        t.add("dandisets", (ident, "OPEN", None, created, modified))
        t.add("dandiset_owners", (ident, owner))
        md = {"description": d["description"], "keywords": d["keywords"]}
        md["contributor"] = d["contributor"]
        md["license"] = ["spdx:CC-BY-4.0"]
        t.add(
            "versions",
            (ident, ident, "draft", d["name"], json.dumps(md), "Valid", "[]", None, "",
             json.dumps(_summary(d)), created, modified),
        )  # fmt: skip
        subjects = max(1, d["n"] // 5)
        folders: dict[str, list[int]] = {}
        total = 0
        for i in range(d["n"]):
            subject = f"sub-{i % subjects:03d}"
            path = f"{subject}/{subject}_ses-{i // subjects:03d}_{d['modality'][0]}.nwb"
            blob_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            size = rng.randrange(1 << 16, 1 << 32)
            total += size
            pk = next_pk
            next_pk += 1
            t.add(
                "asset_blobs",
                (blob_id, blob_key(blob_id), f"{uuid.uuid4().hex}-1", None, size, False,
                 created, created),
            )  # fmt: skip
            t.add(
                "assets",
                (pk, str(uuid.uuid4()), path, blob_id, None,
                 json.dumps(_asset_metadata(d, subject)), "Valid", "[]", False, created,
                 created),
            )  # fmt: skip
            t.add("asset_paths", (ident, path, subject, 1, size, pk))
            t.add("version_assets", (ident, pk, path, path.lower()))
            agg = folders.setdefault(subject, [0, 0])
            agg[0] += 1
            agg[1] += size
        for folder, (files, size) in folders.items():
            t.add("asset_paths", (ident, folder, "", files, size, None))
        t.add("asset_paths", (ident, "", None, d["n"], total, None))
    return t, next_pk


@contextmanager
def _sqlite(path: Path) -> Iterator[Any]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA foreign_keys=OFF")  # generated rows are consistent by construction
    conn.execute("PRAGMA cache_size=-262144")
    try:
        yield conn
    finally:
        conn.close()


def _insert_sqlite(conn: Any, t: Tables) -> None:
    conn.execute("BEGIN")
    for table in ORDER:
        cols = COLUMNS[table]
        rows = [tuple(_sqlite_value(v) for v in r) for r in t.rows.get(table, [])]
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        conn.executemany(sql, rows)
    conn.execute("COMMIT")


def _sqlite_value(v: Any) -> Any:
    return v.isoformat(sep=" ", timespec="microseconds") if isinstance(v, datetime) else v


def _insert_postgres(conn: Any, t: Tables) -> None:
    with conn.transaction(), conn.cursor() as cur:
        for table in ORDER:
            cols = ", ".join(COLUMNS[table])
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in t.rows.get(table, []):
                    copy.write_row(row)


def _chunks(items: list[dict[str, Any]], n: int) -> Iterable[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    count = 0
    for item in items:
        batch.append(item)
        count += item["n"]
        if count >= n:
            yield batch
            batch, count = [], 0
    if batch:
        yield batch


def generate(settings: Any, plan: Plan) -> dict[str, Any]:
    """Users through the services, everything else in bulk; returns what queries need."""
    from neuropil.db.migrate import upgrade
    from neuropil.services import auth
    from neuropil.services.context import make_context

    ctx = make_context(settings)
    try:
        upgrade(ctx.db)
        owner, _ = auth.create_user(ctx, username="bench", name="Bench Marker", admin=False)
        auth.create_user(ctx, username="benchadmin", admin=True)
        postgres = not ctx.db.is_sqlite
    finally:
        ctx.db.dispose()
    rng = random.Random(plan.seed)
    ds = list(_dandiset_rows(plan, rng))
    t0 = time.perf_counter()
    next_pk = 1
    url = settings.resolved_database_url
    if postgres:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            for chunk in _chunks(ds, BATCH):
                tables, next_pk = _batch(chunk, owner.id, next_pk, rng)
                _insert_postgres(conn, tables)
            # The serial sequences must continue after the generated ids.
            for table in ("dandisets", "versions", "assets"):
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
    else:
        with _sqlite(Path(url.removeprefix("sqlite:///"))) as conn:
            for n, chunk in enumerate(_chunks(ds, BATCH)):
                tables, next_pk = _batch(chunk, owner.id, next_pk, rng)
                _insert_sqlite(conn, tables)
                if n % 10 == 0:
                    log(f"  {next_pk - 1:,} assets")
    seconds = time.perf_counter() - t0
    after_load = _statistics_after_load(settings)
    big = max(ds, key=lambda d: d["n"])
    return {
        "seconds": round(seconds, 1),
        "statistics_after_load": after_load,
        "dandisets": len(ds),
        "assets": next_pk - 1,
        "sample": [f"{d['id']:06d}" for d in rng.sample(ds, min(50, len(ds)))],
        "largest": (f"{big['id']:06d}", big["n"]),
    }


def _statistics_after_load(settings: Any) -> dict[str, Any]:
    """What the archive's own statistics upkeep does after the bulk load (the background
    duty of a running server would do the same within a minute): on PostgreSQL VACUUM
    (ANALYZE) of the search tables and ANALYZE of the joined ones, on SQLite ANALYZE."""
    from neuropil.services.context import make_context
    from neuropil.services.search import maintenance

    ctx = make_context(settings)
    try:
        t0 = time.perf_counter()
        statements = maintenance.refresh_statistics(ctx.db)
        seconds = round(time.perf_counter() - t0, 1)
    finally:
        ctx.db.dispose()
    at = datetime.now(UTC).isoformat(timespec="seconds")
    log(f"statistics after load: {len(statements)} statements in {seconds} s")
    return {"at": at, "seconds": seconds, "statements": statements}
