"""Subject and session fields from asset metadata, and manifest rows."""

from __future__ import annotations

from typing import Any

from neuropil.tables import AssetFacts, facts_of, file_row, is_nwb, manifest_facts
from neuropil.tables.columns import FILES, names


def participant(ident: str, **extra: Any) -> dict[str, Any]:
    return {"schemaKey": "Participant", "identifier": ident, **extra}


def test_facts_read_participants_sessions_and_terms() -> None:
    md = {
        "encodingFormat": "application/x-nwb",
        "wasAttributedTo": [
            participant(
                "m1",
                species={"name": "Mus musculus - House mouse", "identifier": "NCBITaxon_10090"},
                sex={"identifier": "http://purl.obolibrary.org/obo/PATO_0000384"},
                age={"schemaKey": "PropertyValue", "value": "P90D"},
                strain={"name": "C57BL/6J"},
            ),
            participant("m2", species={"name": "Mus musculus - House mouse"}),
            {"schemaKey": "Organization", "identifier": "lab"},  # not a participant
        ],
        "wasGeneratedBy": [
            {"schemaKey": "Session", "identifier": "s1", "startDate": "2024-05-01T10:30:00Z"},
            {"schemaKey": "Activity", "identifier": "metadata generation"},
        ],
        "measurementTechnique": [{"name": "a"}, {"name": "b"}, {"name": "a"}],
        "approach": {"name": "electrophysiological approach"},  # one object, not a list
        "variableMeasured": [{"value": "Units"}],
    }
    f = facts_of(md)
    assert f.subject == "m1 | m2"
    assert f.species == "Mus musculus - House mouse"  # distinct values only
    assert f.sex == "http://purl.obolibrary.org/obo/PATO_0000384"  # no name: the identifier
    assert (f.age, f.strain) == ("P90D", "C57BL/6J")
    assert (f.session, f.session_start) == ("s1", "2024-05-01T10:30:00Z")
    assert (f.technique, f.approach, f.variable_measured) == (  # SEP: " | "
        "a | b",
        "electrophysiological approach",
        "Units",
    )
    assert is_nwb("x.bin", f)
    assert AssetFacts.from_json(f.to_json()) == f  # as a kept sessions table holds them


def test_a_session_without_identifier_has_no_session_key() -> None:
    md = {"wasGeneratedBy": [{"schemaKey": "Session", "name": "Acquisition session"}]}
    assert facts_of(md).session is None


def test_malformed_metadata_gives_empty_fields() -> None:
    for md in ({}, {"wasAttributedTo": "m1", "approach": [1, None], "encodingFormat": 3}):
        f = facts_of(md)
        assert f.subject is None and f.approach is None and f.encoding_format is None
    assert not is_nwb("notes.txt", facts_of({}))
    assert is_nwb("sub-1/sub-1.NWB", facts_of({}))


def test_file_row_has_the_manifest_columns() -> None:
    row = file_row(
        path="a.nwb",
        asset_id="id",
        download_url="u",
        size=3,
        digest={"dandi:dandi-etag": "e-1", "dandi:sha2-256": None},
        facts=facts_of({"encodingFormat": "application/x-nwb"}),
    )
    assert list(row) == names(FILES)
    assert (row["dandi_etag"], row["sha256"], row["size"]) == ("e-1", None, 3)


def test_a_manifest_row_is_made_again_from_the_facts_it_holds() -> None:
    md = {
        "encodingFormat": "application/x-nwb",
        "wasAttributedTo": [participant("m1", species={"name": "mouse"}, strain={"name": "B6"})],
        "wasGeneratedBy": [{"schemaKey": "Session", "identifier": "s1", "description": "d"}],
        "measurementTechnique": [{"name": "a"}],
        "variableMeasured": [{"value": "Units"}],
    }
    cells: dict[str, Any] = {
        "path": "a.nwb",
        "asset_id": "id",
        "download_url": None,
        "size": 3,
        "digest": {"dandi:dandi-etag": "e-1"},
    }
    row = file_row(**cells, facts=facts_of(md))
    assert file_row(**cells, facts=manifest_facts(row)) == row
