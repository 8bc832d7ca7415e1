"""Asset metadata from NWB files: valid ``BareAsset``s, the official client's values, and
problems (not exceptions) for values that cannot be interpreted."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import pytest
from dandischema.models import BareAsset

from neuropil.nwb.fields import NotNwbFile, read_fields
from neuropil.nwb.metadata import extract_asset_metadata, schema_problems
from tests.nwb.files import Spec, write_nwb

GOOD = [
    Spec("ecephys.nwb", session_id="s1", content=("ecephys", "behavior"), probe_ids=(4, 7)),
    Spec(
        "ophys.nwb",
        session_id="s2",
        content=("ophys",),
        species="mouse",
        sex="F",
        age="3 weeks",
        genotype="Ai93",
        related_publications=("https://doi.org/10.1000/xyz", "PMID:123"),
    ),
    Spec(
        "icephys.nwb",
        content=("icephys",),
        species="Rattus norvegicus",
        sex="U",
        age="gestational 20 days",
        samples={"tissue_sample_id": "t1", "slice_id": "s1", "cell_id": "c1"},
    ),
    Spec(
        "ogen.nwb",
        content=("ogen", "image"),
        species="http://purl.obolibrary.org/obo/NCBITaxon_9606",
        sex="other",
        age=None,
        date_of_birth=datetime(2024, 1, 1, tzinfo=UTC),
        strain=None,
    ),
    Spec("range.nwb", species="Human", age="P90D/P100D", sex="male"),
]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("metadata-good")
    return {s.name: write_nwb(root / s.name, s) for s in GOOD}


def official(path: Path) -> dict[str, Any]:
    from dandi.metadata.nwb import nwb2asset

    dumped: dict[str, Any] = nwb2asset(path).model_dump(mode="json", exclude_none=True)
    return dumped


def names(items: list[dict[str, Any]] | None, key: str = "name") -> set[str]:
    return {i[key] for i in items or []}


def session(md: dict[str, Any]) -> dict[str, Any]:
    return next(g for g in md["wasGeneratedBy"] if g["schemaKey"] == "Session")


@pytest.mark.parametrize("name", [s.name for s in GOOD])
def test_good_files_validate_and_match_the_official_client(
    good: dict[str, Path], name: str
) -> None:
    extraction = extract_asset_metadata(good[name], asset_path=f"sub-x/{name}")
    md = extraction.metadata
    assert extraction.problems == []
    assert schema_problems(md) == []
    BareAsset.model_validate(
        {**md, "schemaKey": "BareAsset", "digest": {"dandi:dandi-etag": "a" * 32 + "-1"}}
    )
    assert md["schemaKey"] == "Asset" and md["encodingFormat"] == "application/x-nwb"
    assert md["path"] == f"sub-x/{name}"
    assert md["contentSize"] == good[name].stat().st_size

    theirs = official(good[name])
    ours_p, their_p = md["wasAttributedTo"][0], theirs["wasAttributedTo"][0]
    for key in ("identifier", "species", "sex", "age", "strain", "genotype"):
        assert ours_p.get(key) == their_p.get(key), key
    assert names(md.get("approach")) == names(theirs.get("approach"))
    assert names(md.get("measurementTechnique")) == names(theirs.get("measurementTechnique"))
    assert names(md.get("variableMeasured"), "value") == names(
        theirs.get("variableMeasured"), "value"
    )
    assert md.get("keywords") == theirs.get("keywords")
    assert md.get("wasDerivedFrom") == theirs.get("wasDerivedFrom")
    assert md.get("relatedResource") == theirs.get("relatedResource")
    ours_s, their_s = session(md), session(theirs)
    for key in ("identifier", "name", "description", "used"):
        assert ours_s.get(key) == their_s.get(key), key
    assert datetime.fromisoformat(ours_s["startDate"]) == datetime.fromisoformat(
        their_s["startDate"]
    )


def test_fields_read_with_h5py_match_pynwb(good: dict[str, Path]) -> None:
    from dandi.metadata.nwb import get_metadata

    for path in good.values():
        fields, theirs = read_fields(path), get_metadata(path)
        assert fields.nd_types == theirs["nd_types"]
        assert list(fields.probe_ids) == theirs.get("probe_ids", [])
        assert fields.session_id == theirs["session_id"]
        assert fields.session_start_time == theirs["session_start_time"]
        assert fields.identifier == theirs["identifier"]
        assert fields.nwb_version == theirs["nwb_version"]
        assert fields.number_of_electrodes == (theirs["number_of_electrodes"] or None)
        assert fields.subject is not None and fields.subject.subject_id == theirs["subject_id"]
    probes = read_fields(good["ecephys.nwb"])
    assert probes.probe_ids == (4, 7) and probes.electrode_groups == ("shank0", "shank1")
    assert read_fields(good["icephys.nwb"]).samples == {
        "tissue_sample_id": "t1",
        "slice_id": "s1",
        "cell_id": "c1",
    }


def test_age_from_date_of_birth(good: dict[str, Path]) -> None:
    md = extract_asset_metadata(good["ogen.nwb"]).metadata
    age = md["wasAttributedTo"][0]["age"]
    assert age["value"] == "P121DT37800S"  # 2024-01-01 to 2024-05-01 10:30
    assert age["valueReference"]["value"] == "dandi:BirthReference"


def problems_of(tmp_path: Path, **subject: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    path = write_nwb(tmp_path / "bad.nwb", Spec("bad.nwb", **subject))
    extraction = extract_asset_metadata(path, asset_path="sub-x/bad.nwb")
    return extraction.metadata, {p.field: p for p in extraction.problems}


def test_unparsable_age_and_unknown_species_are_problems(tmp_path: Path) -> None:
    md, problems = problems_of(tmp_path, age="3 moons", species="Martian mouse", sex="alien")
    assert set(problems) == {"subject.age", "subject.species", "subject.sex"}
    assert problems["subject.age"].value == "3 moons"
    assert "3 moons" in str(problems["subject.age"])
    assert problems["subject.species"].value == "Martian mouse"
    assert "NCBITaxon" in problems["subject.species"].message
    assert problems["subject.sex"].value == "alien"
    participant = md["wasAttributedTo"][0]
    assert participant["identifier"] == "mouse01"
    assert not {"age", "species", "sex"} & set(participant)
    assert schema_problems(md) == []  # what could be extracted is still valid


def test_birth_after_session_is_a_problem(tmp_path: Path) -> None:
    _, problems = problems_of(tmp_path, date_of_birth=datetime(2025, 1, 1, tzinfo=UTC))
    assert "after the session start" in problems["subject.date_of_birth"].message


def test_species_forms_without_network(tmp_path: Path) -> None:
    md, problems = problems_of(tmp_path, species="NCBITaxon_7955")
    assert problems == {}
    assert md["wasAttributedTo"][0]["species"] == {
        "schemaKey": "SpeciesType",
        "identifier": "http://purl.obolibrary.org/obo/NCBITaxon_7955",
        "name": "Danio rerio - Zebra fish",
    }
    md, problems = problems_of(tmp_path, species="http://purl.obolibrary.org/obo/NCBITaxon_9685")
    assert problems == {}  # a taxon outside the table: kept, without a name
    assert md["wasAttributedTo"][0]["species"]["identifier"].endswith("NCBITaxon_9685")


def test_unparsable_session_start_is_a_problem(tmp_path: Path) -> None:
    path = write_nwb(tmp_path / "t.nwb", Spec("t.nwb"))
    with h5py.File(path, "r+") as h5:
        del h5["session_start_time"]
        h5["session_start_time"] = "yesterday-ish"
    extraction = extract_asset_metadata(path)
    assert [(p.field, p.value) for p in extraction.problems] == [
        ("session_start_time", "yesterday-ish")
    ]


def test_not_nwb_files_raise_a_clear_error(tmp_path: Path) -> None:
    text = tmp_path / "text.nwb"
    text.write_text("hello")
    with pytest.raises(NotNwbFile, match="not HDF5"):
        extract_asset_metadata(text)
    plain = tmp_path / "plain.nwb"
    with h5py.File(plain, "w") as h5:
        h5["x"] = [1, 2, 3]
    with pytest.raises(NotNwbFile, match="HDF5 but not NWB"):
        extract_asset_metadata(plain)
    good = write_nwb(tmp_path / "good.nwb", Spec("good.nwb"))
    truncated = tmp_path / "truncated.nwb"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    with pytest.raises(NotNwbFile) as info:
        extract_asset_metadata(truncated)
    assert str(truncated) in str(info.value) and info.value.status_code == 400


def test_malformed_fields_become_none(tmp_path: Path) -> None:
    path = write_nwb(tmp_path / "m.nwb", Spec("m.nwb", session_id="s1"))
    with h5py.File(path, "r+") as h5:
        for name, value in [("general/subject/subject_id", 42), ("general/keywords", [1, 2])]:
            del h5[name]
            h5[name] = value
        del h5["general/session_id"]
        h5.create_group("general/session_id")  # a group where a dataset belongs
    fields = read_fields(path)
    assert fields.subject is not None and fields.subject.subject_id is None
    assert fields.keywords is None and fields.session_id is None
    extraction = extract_asset_metadata(path)
    assert [p.field for p in extraction.problems] == ["subject.subject_id"]
