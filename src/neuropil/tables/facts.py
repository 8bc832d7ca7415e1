"""What an asset's DANDI metadata says about its subject and session, and the file-manifest
row of an asset.

The input is the asset metadata in dandischema's shape, stored or as the API returns it
(``wasAttributedTo`` participants, ``wasGeneratedBy`` sessions, ``measurementTechnique``,
``approach``, ``variableMeasured``): what ``neuropil upload`` and ``dandi upload`` extract
from an NWB file. Malformed metadata never raises; a field that cannot be read is empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from neuropil.core.digests import ETAG_ALGORITHM, SHA256_ALGORITHM
from neuropil.tables.columns import FILES, SEP

NWB_MEDIA_TYPE = "application/x-nwb"


@dataclass(frozen=True)
class AssetFacts:
    """The subject and session fields of one asset; multi-valued fields are joined."""

    encoding_format: str | None
    subject: str | None
    session: str | None
    session_start: str | None
    session_description: str | None
    species: str | None
    sex: str | None
    age: str | None
    strain: str | None
    technique: str | None
    approach: str | None
    variable_measured: str | None

    def to_json(self) -> list[str | None]:
        """The fields in declaration order (what builds of the sessions table keep per asset)."""
        return [getattr(self, name) for name in _FIELDS]

    @classmethod
    def from_json(cls, values: Sequence[str | None]) -> AssetFacts:
        """The facts :meth:`to_json` listed; TypeError if the fields have changed since."""
        if len(values) != len(_FIELDS):
            raise TypeError(f"{len(values)} values for {len(_FIELDS)} fields")
        return cls(*values)


_FIELDS = tuple(f.name for f in fields(AssetFacts))
#: The facts the file manifest has a column for.
_MANIFEST_FACTS = tuple(c.name for c in FILES if c.name in _FIELDS)


def join(values: Iterable[object]) -> str | None:
    """Distinct non-empty values in first-seen order, joined with :data:`SEP`; None if none."""
    out: list[str] = []  # a list: fields hold one or two values, and this runs 15,000 times
    for v in values:
        if v is None:
            continue
        text = (v if isinstance(v, str) else str(v)).strip()
        if text and text not in out:
            out.append(text)
    return SEP.join(out) if out else None


def _objects(md: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = md.get(key)
    items = value if isinstance(value, list) else [value]
    return [v for v in items if isinstance(v, Mapping)]


def _term(value: object) -> object:
    """A dandischema term's name, else its identifier (``{"name": ..., "identifier": ...}``)."""
    if isinstance(value, Mapping):
        return value.get("name") or value.get("identifier")
    return value


def _field(objects: list[Mapping[str, Any]], key: str, *, term: bool = False) -> str | None:
    return join(_term(o.get(key)) if term else o.get(key) for o in objects)


def facts_of(md: Mapping[str, Any]) -> AssetFacts:
    """The facts of one asset's metadata."""
    participants = [
        p
        for p in _objects(md, "wasAttributedTo")
        if p.get("schemaKey", "Participant") == "Participant"
    ]
    sessions = [a for a in _objects(md, "wasGeneratedBy") if a.get("schemaKey") == "Session"]
    fmt = md.get("encodingFormat")
    return AssetFacts(
        encoding_format=fmt if isinstance(fmt, str) and fmt else None,
        subject=_field(participants, "identifier"),
        # Only an identifier names a session: its ``name`` defaults to "Acquisition session".
        session=_field(sessions, "identifier"),
        session_start=_field(sessions, "startDate"),
        session_description=_field(sessions, "description"),
        species=_field(participants, "species", term=True),
        sex=_field(participants, "sex", term=True),
        age=_age(participants),
        strain=_field(participants, "strain", term=True),
        technique=_field(_objects(md, "measurementTechnique"), "name"),
        approach=_field(_objects(md, "approach"), "name"),
        variable_measured=_field(_objects(md, "variableMeasured"), "value"),
    )


def _age(participants: list[Mapping[str, Any]]) -> str | None:
    """``age`` is a PropertyValue whose ``value`` is the ISO-8601 duration."""
    return join(p["age"].get("value") for p in participants if isinstance(p.get("age"), Mapping))


def is_nwb(path: str, facts: AssetFacts) -> bool:
    """Whether an asset is an NWB file (by media type or name): a row of the sessions table."""
    return facts.encoding_format == NWB_MEDIA_TYPE or path.lower().endswith(".nwb")


def manifest_facts(row: Mapping[str, Any]) -> AssetFacts:
    """The facts a manifest row holds, the others None: :func:`file_row` makes the same row
    from them, so a kept row can be made again without reading the asset's metadata."""
    held = {name: row[name] for name in _MANIFEST_FACTS}
    return AssetFacts(**{name: held.get(name) for name in _FIELDS})


def file_row(
    *,
    path: str,
    asset_id: str,
    download_url: str | None,
    size: int | None,
    digest: Mapping[str, Any],
    facts: AssetFacts,
) -> dict[str, Any]:
    """One row of the file manifest (keys in :data:`~neuropil.tables.columns.FILES` order);
    ``digest`` maps algorithm names (``dandi:dandi-etag``, ``dandi:sha2-256``) to values."""
    etag, sha256 = digest.get(ETAG_ALGORITHM), digest.get(SHA256_ALGORITHM)
    return {
        "path": path,
        "asset_id": asset_id,
        "download_url": download_url,
        "size": size,
        "dandi_etag": etag if isinstance(etag, str) else None,
        "sha256": sha256 if isinstance(sha256, str) else None,
        "encoding_format": facts.encoding_format,
        "subject": facts.subject,
        "session": facts.session,
        "technique": facts.technique,
        "approach": facts.approach,
        "species": facts.species,
        "sex": facts.sex,
        "age": facts.age,
    }
