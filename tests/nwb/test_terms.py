"""Age, species and modality rules agree with the official client's own functions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dandi.metadata.util import extract_species, timedelta2duration
from dandi.metadata.util import parse_age as official_parse_age

from neuropil.nwb.age import AgeError, duration_between, parse_age
from neuropil.nwb.organize import obj_id, sanitize
from neuropil.nwb.terms import SPECIES, UnknownSpecies, lookup_species, modalities

AGES = [
    "P90D",
    "P1Y2M3W4D",
    "P1,5D",
    "P1DT2H30M",
    "PT12H",
    "P90D/P100D",
    "P90D/",
    "/P100D",
    "P1Y/P2Y",
    "90 days",
    "90 Days",
    "3 weeks",
    "3 months 2 days",
    "2 years, 3 months",
    "1.5 days",
    "days 5",
    "5 units: days",
    "(12 weeks)",
    "gestational 20 days",
    "Gestation P20D",
]
BAD_AGES = ["3 moons", "", "   ", "P", "P1.5Y2D", "P2Y/P1Y", "P1Y2D/P2Y", "P1D/x", "about a year"]


@pytest.mark.parametrize("text", AGES)
def test_ages_as_the_official_client_reads_them(text: str) -> None:
    assert parse_age(text) == official_parse_age(text)


@pytest.mark.parametrize("text", BAD_AGES)
def test_bad_ages_are_refused_by_both(text: str) -> None:
    with pytest.raises(AgeError):
        parse_age(text)
    with pytest.raises(ValueError):
        official_parse_age(text)


def test_where_the_official_client_writes_no_valid_duration() -> None:
    assert official_parse_age("12 h") == ("T12H", "Birth")
    assert parse_age("12 h") == ("PT12H", "Birth")
    assert parse_age("1:30:00") == ("PT1H30M0S", "Birth")
    assert parse_age("P90D", "gestational") == ("P90D", "Gestational")
    assert parse_age("p90d") == ("P90D", "Birth")


@pytest.mark.parametrize(
    "delta",
    [timedelta(days=90), timedelta(days=3, seconds=5), timedelta(0), timedelta(seconds=1.5)],
)
def test_durations_between_dates(delta: timedelta) -> None:
    assert duration_between(delta) == timedelta2duration(delta)


SPECIES_VALUES = [
    "Mus musculus",
    "mus musculus",
    "Mouse",
    "House mouse",
    "Mus musculus - House mouse",
    "human",
    "Homo sapiens",
    "rat",
    "Rattus norvegicus",
    "Rattus rattus",
    "rhesus",
    "Macaca mulatta",
    "zebrafish",
    "Danio rerio",
    "fruit fly",
    "C. elegans",
    "Caenorhabditis elegans",
    "mongolian gerbil",
    "http://purl.obolibrary.org/obo/NCBITaxon_10090",
    "https://purl.obolibrary.org/obo/NCBITaxon_10116/",
]


@pytest.mark.parametrize("value", SPECIES_VALUES)
def test_species_as_the_official_client_maps_them(value: str) -> None:
    theirs = extract_species({"species": value})
    assert theirs is not None
    assert lookup_species(value) == (str(theirs.identifier), theirs.name)


@pytest.mark.parametrize("value", ["Martian mouse", "dog", "", "NCBITaxon_x"])
def test_unknown_species(value: str) -> None:
    with pytest.raises(UnknownSpecies, match="NCBITaxon"):
        lookup_species(value)


def test_every_species_is_found_by_its_url_and_names() -> None:
    for species in SPECIES:
        assert lookup_species(species.url) == (species.url, species.name)
        assert lookup_species(f"NCBITaxon:{species.taxon_id}") == (species.url, species.name)
        assert lookup_species(species.name.upper()) == (species.url, species.name)


def test_modalities_table_matches_installed_pynwb() -> None:
    from dandi.pynwb_utils import get_neurodata_types_to_modalities_map

    official = get_neurodata_types_to_modalities_map()
    for name, module in official.items():
        expected = () if module in ("base", "device", "file", "misc") else (module,)
        assert modalities([name]) == expected, name
    assert modalities(["ElectricalSeries (3)", "Position", "Units", "Device (2)"]) == (
        "behavior",
        "ecephys",
    )


def test_sanitize_and_obj_id() -> None:
    from dandi.organize import _sanitize_value, get_obj_id

    for value in ["mouse_1.2", "s 1", "a/b\\c:d*e?f%g@h;i,j'k\"l<m>n|o", "x+y", "ok-1"]:
        assert sanitize(value, "subject_id") == _sanitize_value(value, "subject_id")
    assert sanitize(".nwb", "extension") == ".nwb"
    for object_id in ["ef77bb5c-737b-439b-8126-d811f4e5c011", "x", "0"]:
        assert obj_id(object_id) == get_obj_id(object_id)
