"""``neuropil.archive_info``: a Dandiset version's file manifest and experiment metadata as
pandas DataFrames, the way IPFX's ``get_archive_info`` hands them to scientists::

    import neuropil

    url, files, sessions = neuropil.archive_info("https://archive.example.org/dandiset/000123/draft")
    ecephys = sessions[sessions.electrode_count > 0]
    files[files.session.isin(ecephys.session)].download_url

A neuropil server builds both tables itself: one request each, as Parquet. A server without
the tables endpoint (the public DANDI API, older neuropil) gets the same manifest built here
from its asset listing with metadata (``/assets/?metadata=true``: one request per page of
1,000 assets, never one per asset); its sessions table then has the metadata columns only
(``index_status`` is ``unavailable``: such a server has no LINDI indexes to read).
"""

from __future__ import annotations

import io
from typing import Any, NamedTuple

import pandas as pd

from neuropil.client.instances import Instance, Registry
from neuropil.client.tokens import resolve_token
from neuropil.client.urls import parse_url
from neuropil.core.ids import DRAFT
from neuropil.errors import InvalidUrl, UsageError
from neuropil.http.transport import Transport
from neuropil.tables import (
    FILES,
    SESSIONS,
    TABLES,
    Column,
    facts_of,
    file_row,
    is_nwb,
    session_rows,
)
from neuropil.tables.columns import names
from neuropil.tables.formats import MEDIA_TYPES, PARQUET
from neuropil.tables.sessions import UNAVAILABLE, SessionFile

#: Answers meaning "this server has no tables endpoint" (once the version is known to exist).
_NO_ENDPOINT = (404, 405, 501)
PAGE_SIZE = 1000


class ArchiveInfo(NamedTuple):
    """What :func:`archive_info` returns; unpacks as ``(archive_url, files, sessions)``."""

    #: The version's page in the archive's web UI.
    archive_url: str
    #: One row per asset (:data:`neuropil.tables.FILES` columns).
    file_manifest: pd.DataFrame
    #: One row per session (:data:`neuropil.tables.SESSIONS` columns).
    experiment_metadata: pd.DataFrame


def archive_info(
    url: str, token: str | None = None, *, registry: Registry | None = None
) -> ArchiveInfo:
    """The file manifest and experiment metadata of the Dandiset version ``url`` names.

    ``url`` is any Dandiset URL the client parses (``DANDI:000123/draft``, web or API URLs,
    ``dandi://…``); without a version it means the latest published version, else the
    draft. ``token`` is needed for embargoed Dandisets (None looks one up as
    :class:`~neuropil.Archive` does). String columns have pandas' ``string`` dtype, counts
    ``Int64``; a value that is not known is ``<NA>``.
    """
    archive_url, found = _tables(url, token, registry, ("files", "sessions"))
    return ArchiveInfo(archive_url, found["files"], found["sessions"])


def read_table(
    url: str, name: str, token: str | None = None, *, registry: Registry | None = None
) -> pd.DataFrame:
    """One table (``files`` or ``sessions``) of the version ``url`` names, as
    :func:`archive_info` reads it: one request to a neuropil server."""
    if name not in TABLES:
        raise UsageError(f"no table {name!r}; the tables are: {', '.join(TABLES)}")
    return _tables(url, token, registry, (name,))[1][name]


def _tables(
    url: str, token: str | None, registry: Registry | None, wanted: tuple[str, ...]
) -> tuple[str, dict[str, pd.DataFrame]]:
    """The version's web URL and the ``wanted`` tables, served or built here."""
    target = parse_url(url, registry or Registry())
    if target.dandiset_id is None:
        raise InvalidUrl(f"{url} names an asset, not a Dandiset (version)")
    ident = target.dandiset_id
    with Transport(target.instance.api_url, resolve_token(target.instance, token)) as t:
        version = target.version or _latest(t, ident)
        found: dict[str, pd.DataFrame] = {}
        for name in wanted:
            served = _served(t, ident, version, name)
            if served is None:
                found = _built_here(t, ident, version)
                break
            found[name] = served
    return _web_url(target.instance, ident, version), found


def frame(rows: list[dict[str, Any]], columns: tuple[Column, ...]) -> pd.DataFrame:
    """A DataFrame of ``rows`` with the declared columns and dtypes."""
    return _typed(pd.DataFrame.from_records(rows, columns=names(columns)), columns)


def _typed(df: pd.DataFrame, columns: tuple[Column, ...]) -> pd.DataFrame:
    dtypes = {c.name: "string" if c.kind == "string" else "Int64" for c in columns}
    return df[names(columns)].astype(dtypes)


def _latest(t: Transport, ident: str) -> str:
    data = t.get_json(f"dandisets/{ident}/")
    published = data.get("most_recent_published_version")
    return str(published["version"]) if isinstance(published, dict) else DRAFT


def _web_url(instance: Instance, ident: str, version: str) -> str:
    return f"{instance.web_url or instance.base_url}/dandiset/{ident}/{version}"


def _served(t: Transport, ident: str, version: str, name: str) -> pd.DataFrame | None:
    """Table ``name`` as the server builds it, or None when the server has no such endpoint."""
    path = f"dandisets/{ident}/versions/{version}/tables/{name}/"
    r = t.request("GET", path, params={"format": PARQUET}, ok=_NO_ENDPOINT)
    columns = TABLES[name]
    if r.status_code in _NO_ENDPOINT:
        # Tell "no such endpoint" from "no such version": the version's own URL says which.
        t.request("GET", f"dandisets/{ident}/versions/{version}/")
        return None
    if r.headers.get("content-type", "").split(";")[0] == MEDIA_TYPES[PARQUET]:
        return _typed(pd.read_parquet(io.BytesIO(r.content)), columns)
    return frame(r.json(), columns)


def _built_here(t: Transport, ident: str, version: str) -> dict[str, pd.DataFrame]:
    """Both tables from the asset listing with metadata (one request per page)."""
    rows, nwb_files = [], []
    params = {"metadata": "true", "order": "path", "page_size": PAGE_SIZE}
    for item in t.paginate(f"dandisets/{ident}/versions/{version}/assets/", params):
        md = item.get("metadata") or {}
        facts = facts_of(md)
        asset_id = str(item["asset_id"])
        rows.append(
            file_row(
                path=str(item["path"]),
                asset_id=asset_id,
                download_url=f"{t.api_url}/assets/{asset_id}/download/",
                size=item.get("size"),
                digest=md.get("digest") or {},
                facts=facts,
            )
        )
        if is_nwb(str(item["path"]), facts):
            nwb_files.append(SessionFile(str(item["path"]), facts, None, UNAVAILABLE))
    return {"files": frame(rows, FILES), "sessions": frame(session_rows(nwb_files), SESSIONS)}
