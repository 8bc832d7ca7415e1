"""Search helpers: unique words, queries over HTTP, and the one direct database write."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import sqlalchemy as sa

from neuropil.db.engine import normalize_url, sqlite_url
from tests.conftest import Archive

MOUSE = {
    "schemaKey": "Participant",
    "identifier": "m1",
    "species": {
        "schemaKey": "SpeciesType",
        "identifier": "http://purl.obolibrary.org/obo/NCBITaxon_10090",
        "name": "Mus musculus - House mouse",
    },
}
RAT = {
    "schemaKey": "Participant",
    "identifier": "r1",
    "species": {
        "schemaKey": "SpeciesType",
        "identifier": "http://purl.obolibrary.org/obo/NCBITaxon_10116",
        "name": "Rattus norvegicus - Norway rat",
    },
}
ECEPHYS = {"schemaKey": "ApproachType", "name": "electrophysiological approach"}
SPIKES = {"schemaKey": "MeasurementTechniqueType", "name": "spike sorting technique"}


def word() -> str:
    """A word no other test uses (letters and digits only, so one search token)."""
    return "w" + uuid.uuid4().hex[:12]


def find(c: httpx.Client, q: str, **params: Any) -> dict[str, Any]:
    r = c.get("search/", params={"q": q, **params})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [h["identifier"] for h in body["results"]]


def paths(body: dict[str, Any], identifier: str) -> list[str]:
    (hit,) = [h for h in body["results"] if h["identifier"] == identifier]
    return sorted(a["path"] for a in hit["assets"])


def asset_md(*participants: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "schemaKey": "Asset",
        "encodingFormat": "application/x-nwb",
        "wasAttributedTo": list(participants),
        **extra,
    }


def set_embargoed(archive: Archive, identifier: str) -> None:
    """The API cannot create embargoed dandisets yet: mark one in the database."""
    url = archive.server.database_url or sqlite_url(archive.server.data_dir / "neuropil.db")
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE dandisets SET embargo_status = 'EMBARGOED' WHERE id = :i"),
                {"i": int(identifier)},
            )
    finally:
        engine.dispose()
