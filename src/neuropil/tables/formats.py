"""A table as bytes: JSON (the default), CSV or Parquet, with the media type of each.

* JSON: an array of objects, one per row, keys in column order, null for a missing value.
* CSV: RFC 4180 with a header row; a missing value is an empty field.
* Parquet: one row group, ``string`` and ``int64`` columns as declared (nullable), zstd.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from neuropil.errors import BadRequest
from neuropil.tables.columns import Column

JSON = "json"
CSV = "csv"
PARQUET = "parquet"
#: Format name -> Content-Type.
MEDIA_TYPES = {
    JSON: "application/json",
    CSV: "text/csv; charset=utf-8",
    PARQUET: "application/vnd.apache.parquet",
}
#: Other media types that name a format in ``Accept``.
_ALIASES = {"application/x-parquet": PARQUET, "text/csv": CSV}


def parse_format(value: str | None, accept: str | None = None) -> str:
    """The format of ``?format=`` (case-insensitive), else the first one ``accept`` names,
    else JSON. An unknown ``?format=`` is a :class:`BadRequest` naming the known ones."""
    if value:
        name = value.strip().lower()
        if name not in MEDIA_TYPES:
            raise BadRequest(f"Unknown format {value!r}; use one of: {', '.join(MEDIA_TYPES)}.")
        return name
    by_type = {t.split(";")[0]: n for n, t in MEDIA_TYPES.items()} | _ALIASES
    for item in (accept or "").split(","):
        found = by_type.get(item.split(";")[0].strip().lower())
        if found:
            return found
    return JSON


def encode(columns: Sequence[Column], rows: Sequence[dict[str, Any]], fmt: str) -> bytes:
    """The rows (dicts keyed by column name) in format ``fmt``."""
    if fmt == PARQUET:
        return _parquet(columns, rows)
    if fmt == CSV:
        return _csv(columns, rows)
    if fmt == JSON:
        names = [c.name for c in columns]
        records = [{n: r.get(n) for n in names} for r in rows]
        return json.dumps(records, ensure_ascii=False, separators=(",", ":")).encode()
    raise BadRequest(f"Unknown format {fmt!r}; use one of: {', '.join(MEDIA_TYPES)}.")


def _csv(columns: Sequence[Column], rows: Sequence[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.name for c in columns])
    for r in rows:
        writer.writerow(["" if r.get(c.name) is None else r[c.name] for c in columns])
    return out.getvalue().encode()


def _parquet(columns: Sequence[Column], rows: Sequence[dict[str, Any]]) -> bytes:
    # Imported here: pyarrow takes ~0.2 s to import, which every server start and every
    # client command would otherwise pay for a format few requests ask for.
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"string": pa.string(), "int": pa.int64()}
    table = pa.table(
        {c.name: pa.array([r.get(c.name) for r in rows], type=types[c.kind]) for c in columns}
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()
