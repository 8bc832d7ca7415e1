"""Asset metadata from an NWB file, in the shape dandischema's ``BareAsset`` describes.

This is what ``neuropil upload`` sends with a file and what ``neuropil validate`` checks.
The mapping follows the official client's ``nwb2asset`` (same species and sex terms, same
age rules, same technique tables) so an asset looks the same whichever client uploaded it.
Two differences are deliberate: a value the official client cannot interpret (an unknown
species, an unreadable age) is not an exception that stops the upload with an error count
but a :class:`MetadataProblem` naming the field and the value, and nothing here goes to the
network (an NCBITaxon id outside the built-in table is kept without a name).

Fields the server computes (``id``, ``identifier``, ``contentUrl``, ``access``, ``digest``)
are left out; the upload adds the digest it has computed anyway.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dandischema.models import BareAsset, get_schema_version
from pydantic import ValidationError

from neuropil._version import __version__
from neuropil.nwb.age import AgeError, duration_between, parse_age
from neuropil.nwb.fields import NwbFields, SubjectFields, read_fields
from neuropil.nwb.terms import NEURODATA_TECHNIQUES, SEX, UnknownSpecies, lookup_species

NWB_MEDIA_TYPE = "application/x-nwb"
#: A well-formed dandi-etag used only to check the rest of the metadata against
#: ``BareAsset`` (which requires a digest) before the real one is known.
PLACEHOLDER_ETAG = "0" * 32 + "-1"
ISO_DURATION = "ISO-8601 duration"


@dataclass(frozen=True)
class MetadataProblem:
    """A value in the file that could not be turned into metadata (the field is left out).

    ``field`` names the NWB field (``subject.age``, ``subject.species``) or, for a schema
    violation of the result, ``metadata.<path>``; ``value`` is what the file holds.
    """

    field: str
    value: object
    message: str

    def __str__(self) -> str:
        return f"{self.field} = {self.value!r}: {self.message}"


@dataclass
class Extraction:
    """The metadata of one file and what could not be extracted."""

    metadata: dict[str, Any]
    problems: list[MetadataProblem] = field(default_factory=list)
    fields: NwbFields | None = None


def extract_asset_metadata(path: Path, *, asset_path: str | None = None) -> Extraction:
    """Read ``path`` and build its asset metadata (``path`` set to ``asset_path`` if given).

    Raises :class:`~neuropil.nwb.fields.NotNwbFile` if the file is not NWB at all; every
    other defect is reported in :attr:`Extraction.problems` and never raises.
    """
    started = datetime.now(UTC)
    nwb = read_fields(Path(path))
    problems: list[MetadataProblem] = []
    for name, raw in nwb.unparsed.items():
        problems.append(
            MetadataProblem(name, raw, "not an ISO-8601 date and time; the field is ignored")
        )
    if nwb.external_links:
        problems.append(
            MetadataProblem(
                "external_links",
                list(nwb.external_links),
                "NWB files with external HDF5 links are not supported by DANDI",
            )
        )
    md: dict[str, Any] = {
        "schemaKey": "Asset",
        "schemaVersion": get_schema_version(),
        "encodingFormat": NWB_MEDIA_TYPE,
        "contentSize": nwb.size,
        "blobDateModified": _iso(nwb.mtime),
        "dateModified": _iso(datetime.now(UTC)),
    }
    if asset_path is not None:
        md["path"] = asset_path
    if nwb.keywords:
        md["keywords"] = list(nwb.keywords)
    related = _related_resources(nwb.related_publications)
    if related:
        md["relatedResource"] = related
    md["wasGeneratedBy"] = [*_session(nwb), _generator(started)]
    md["wasAttributedTo"] = _participants(nwb, problems)
    derived = _samples(nwb)
    if derived:
        md["wasDerivedFrom"] = derived
    md.update(_techniques(nwb.nd_types))
    problems.extend(schema_problems(md))
    return Extraction(metadata=md, problems=problems, fields=nwb)


def schema_problems(metadata: dict[str, Any]) -> list[MetadataProblem]:
    """Check ``metadata`` against dandischema's ``BareAsset``; one problem per error.

    A missing digest or path is filled with a placeholder first (the upload supplies both),
    and ``schemaKey`` is checked as ``BareAsset``, the model for client-side metadata.
    """
    candidate = {
        **metadata,
        "schemaKey": "BareAsset",
        "digest": metadata.get("digest") or {"dandi:dandi-etag": PLACEHOLDER_ETAG},
        "path": metadata.get("path") or "placeholder.nwb",
    }
    try:
        BareAsset.model_validate(candidate)
    except ValidationError as exc:
        return [
            MetadataProblem(
                "metadata." + ".".join(str(p) for p in err["loc"]),
                err.get("input"),
                err["msg"],
            )
            for err in exc.errors()
        ]
    return []


def _iso(when: datetime) -> str:
    if when.tzinfo is None:
        when = when.astimezone()
    return when.isoformat()


# -- provenance --------------------------------------------------------------------------------
def _session(nwb: NwbFields) -> list[dict[str, Any]]:
    probes = [
        {"schemaKey": "Equipment", "identifier": f"probe:{p}", "name": "Ecephys Probe"}
        for p in nwb.probe_ids
    ]
    if nwb.session_id is None and nwb.session_start_time is None and not probes:
        return []
    session: dict[str, Any] = {
        "schemaKey": "Session",
        "name": nwb.session_id or "Acquisition session",
    }
    if nwb.session_id is not None:
        session["identifier"] = nwb.session_id
    if nwb.session_description is not None:
        session["description"] = nwb.session_description
    if nwb.session_start_time is not None:
        session["startDate"] = _iso(nwb.session_start_time)
    if probes:
        session["used"] = probes
    return [session]


def _generator(started: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().urn,
        "schemaKey": "Activity",
        "name": "Metadata generation",
        "description": "Metadata generated by neuropil",
        "startDate": _iso(started),
        "endDate": _iso(datetime.now(UTC)),
        "wasAssociatedWith": [
            {
                "schemaKey": "Software",
                "name": "neuropil",
                "version": __version__,
            }
        ],
    }


def _related_resources(publications: tuple[str, ...] | None) -> list[dict[str, Any]]:
    """doi.org URLs among ``related_publications`` (other forms are left out, as DANDI does)."""
    out = []
    for value in publications or ():
        parts = urlsplit(value.strip())
        if parts.scheme in ("http", "https") and parts.hostname == "doi.org":
            out.append(
                {"schemaKey": "Resource", "identifier": value, "relation": "dcite:IsDescribedBy"}
            )
    return out


def _samples(nwb: NwbFields) -> list[dict[str, Any]]:
    """The chain tissue sample -> slice -> cell, most specific first."""
    chain: list[dict[str, Any]] = []
    for key, kind in (
        ("tissue_sample_id", "tissuesample"),
        ("slice_id", "slice"),
        ("cell_id", "cell"),
    ):
        if key in nwb.samples:
            sample: dict[str, Any] = {
                "schemaKey": "BioSample",
                "identifier": nwb.samples[key],
                "sampleType": {"schemaKey": "SampleType", "name": kind},
            }
            if chain:
                sample["wasDerivedFrom"] = chain
            chain = [sample]
    return chain


def _techniques(nd_types: list[str]) -> dict[str, list[dict[str, Any]]]:
    approaches: set[str] = set()
    techniques: set[str] = set()
    variables: set[str] = set()
    for entry in nd_types:
        name = entry.split()[0]
        known = NEURODATA_TECHNIQUES.get(name)
        if known is None:
            continue
        variables.add(name)
        if known.approach:
            approaches.add(known.approach)
        if known.technique:
            techniques.add(known.technique)
    return {
        "approach": [{"schemaKey": "ApproachType", "name": a} for a in sorted(approaches)],
        "measurementTechnique": [
            {"schemaKey": "MeasurementTechniqueType", "name": t} for t in sorted(techniques)
        ],
        "variableMeasured": [{"schemaKey": "PropertyValue", "value": v} for v in sorted(variables)],
    }


# -- the subject -------------------------------------------------------------------------------
def _participants(nwb: NwbFields, problems: list[MetadataProblem]) -> list[dict[str, Any]]:
    subject = nwb.subject
    if subject is None:
        return []
    participant: dict[str, Any] = {"schemaKey": "Participant"}
    if subject.subject_id:
        participant["identifier"] = subject.subject_id
    age = _age(subject, nwb.session_start_time, problems)
    if age is not None:
        participant["age"] = age
    sex = _sex(subject.sex, problems)
    if sex is not None:
        participant["sex"] = sex
    species = _species(subject.species, problems)
    if species is not None:
        participant["species"] = species
    if subject.strain:
        if subject.strain.lower().startswith("cellline:"):
            participant["cellLine"] = subject.strain.split(":", 1)[1].strip()
        else:
            participant["strain"] = {"schemaKey": "StrainType", "name": subject.strain}
    if subject.genotype is not None:
        participant["genotype"] = subject.genotype
    if len(participant) == 1:  # only schemaKey: the subject group holds nothing usable
        return []
    if "identifier" not in participant:  # a Participant needs one: report, leave it out
        problems.append(
            MetadataProblem(
                "subject.subject_id",
                subject.subject_id,
                "the subject has no subject_id (text), so no participant is recorded",
            )
        )
        return []
    return [participant]


def _age(
    subject: SubjectFields, start: datetime | None, problems: list[MetadataProblem]
) -> dict[str, Any] | None:
    value: str | None = None
    reference = "Birth"
    if subject.date_of_birth is not None and start is not None:
        try:
            delta = start - subject.date_of_birth
        except TypeError:  # one has a time zone and the other not: fall back to ``age``
            delta = None
        if delta is not None and delta.total_seconds() < 0:
            problems.append(
                MetadataProblem(
                    "subject.date_of_birth",
                    subject.date_of_birth.isoformat(),
                    f"is after the session start ({start.isoformat()})",
                )
            )
            return None
        if delta is not None:
            value = duration_between(delta)
    if value is None:
        if subject.age is None:
            return None
        try:
            value, reference = parse_age(subject.age, subject.age__reference)
        except AgeError as exc:
            problems.append(MetadataProblem("subject.age", subject.age, str(exc)))
            return None
    return {
        "schemaKey": "PropertyValue",
        "value": value,
        "unitText": ISO_DURATION,
        "valueReference": {"schemaKey": "PropertyValue", "value": f"dandi:{reference}Reference"},
    }


def _sex(value: str | None, problems: list[MetadataProblem]) -> dict[str, Any] | None:
    if not value:
        return None
    known = SEX.get(value.lower())
    if known is not None:
        identifier, name = known
        term: dict[str, Any] = {"schemaKey": "SexType", "name": name}
        if identifier:
            term["identifier"] = identifier
        return term
    if value.lower().startswith("http"):
        return {"schemaKey": "SexType", "identifier": value}
    problems.append(
        MetadataProblem(
            "subject.sex",
            value,
            "unknown sex: use M, F, U (unknown) or O (other), or a PATO term URL",
        )
    )
    return None


def _species(value: str | None, problems: list[MetadataProblem]) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        url, name = lookup_species(value)
    except UnknownSpecies as exc:
        problems.append(MetadataProblem("subject.species", value, str(exc)))
        return None
    term: dict[str, Any] = {"schemaKey": "SpeciesType", "identifier": url}
    if name is not None:
        term["name"] = name
    return term
