"""``neuropil validate``: text and JSON output, ``--min-severity``, exit codes, dandisets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from neuropil.cli.main import cli
from neuropil.validation import ExtractionCache, validate_files
from neuropil.validation.paths import validate_paths
from tests.support.nwb import write_dandiset_yaml
from tests.validation.cases import CASES, write_nwb
from tests.validation.conftest import dandi_validate

GOOD = "sub-m1/sub-m1_ses-s1_ecephys.nwb"
WARNED = "sub-m1/sub-m1_ses-s2_ecephys.nwb"
BAD_AGE = "sub-m3/sub-m3_ecephys.nwb"


def validate(*args: str) -> Result:
    return CliRunner().invoke(cli, ["validate", *args], catch_exceptions=False)


def records(result: Result) -> list[dict[str, Any]]:
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    return data


@pytest.fixture(scope="module")
def passing(case_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dandiset with the good file and the one with warnings only."""
    root = tmp_path_factory.mktemp("passing") / "000125"
    write_dandiset_yaml(root, "000125")
    for asset_path in (GOOD, WARNED):
        (root / asset_path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(case_root / asset_path, root / asset_path)
    return root


def test_text_groups_findings_by_file(case_root: Path) -> None:
    result = validate("-J", "2", str(case_root))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    for case in CASES:
        assert (case.asset_path in lines) == (case.fails or case.name == "warnings-only")
    at = lines.index(BAD_AGE)
    assert lines[at + 1].startswith("  ERROR   [NWBI.check_subject_age] Subject age, '3 moons'")
    assert lines[at + 2].startswith("  ERROR   [NEUROPIL.METADATA.subject.age] subject.age: ")
    n_failing = sum(c.fails for c in CASES)
    assert (
        lines[-1]
        == f"{len(CASES) + 1} files checked: {n_failing} with errors, 1 more with warnings."
    )


def test_passing_dandiset_exits_zero(passing: Path) -> None:
    result = validate(str(passing))
    assert result.exit_code == 0, result.output
    assert "NWBI.check_timestamps_ascending" in result.stdout
    assert result.stdout.splitlines()[-1] == "3 files checked: no errors, 1 with warnings."
    quiet = validate("--min-severity", "ERROR", str(passing))
    assert quiet.exit_code == 0
    assert quiet.stdout.splitlines() == ["3 files checked: no errors, 1 with warnings."]


def test_json_records_have_dandis_shape(
    case_root: Path, dandi_verdict: tuple[int, list[dict[str, Any]]]
) -> None:
    result = validate("--format", "json", str(case_root))
    assert result.exit_code == 1
    ours = records(result)
    _, theirs = dandi_verdict
    assert set(ours[0]) == set(theirs[0])
    assert set(ours[0]["origin"]) == set(theirs[0]["origin"])
    age = [r for r in ours if r["id"] == "NEUROPIL.METADATA.subject.age"]
    assert len(age) == 1
    assert age[0]["path"] == str(case_root / BAD_AGE)
    assert age[0]["dandiset_path"] == str(case_root)
    assert age[0]["severity"] == "ERROR" and "'3 moons'" in age[0]["message"]
    inspector = next(r for r in ours if r["id"] == "NWBI.check_subject_age")
    assert inspector["origin"]["validator"] == "nwbinspector"
    assert inspector["origin"]["validator_version"]  # the installed nwbinspector's
    assert inspector["within_asset_paths"] == {str(case_root / BAD_AGE): "/general/subject"}


def test_min_severity_filters_json(passing: Path) -> None:
    everything = records(validate("-f", "json", str(passing)))
    assert [(r["severity"], r["id"]) for r in everything] == [
        ("WARNING", "NWBI.check_timestamps_ascending")
    ]
    assert records(validate("-f", "json", "--min-severity", "warning", str(passing)))
    assert records(validate("-f", "json", "--min-severity", "ERROR", str(passing))) == []


def test_bad_options_are_usage_errors(passing: Path) -> None:
    assert validate("--min-severity", "LOUD", str(passing)).exit_code == 2
    assert validate("-J", "0", str(passing)).exit_code == 2
    assert validate(str(passing / "missing.nwb")).exit_code == 2


def test_files_in_no_dandiset(case_root: Path, tmp_path: Path) -> None:
    """As ``dandi validate``: DANDI.NO_DANDISET_FOUND, then the content checks, no layout."""
    loose = tmp_path / "loose.nwb"
    shutil.copy(case_root / GOOD, loose)
    result = validate("-f", "json", str(loose))
    assert result.exit_code == 1
    assert [(r["id"], r["path"]) for r in records(result)] == [
        ("DANDI.NO_DANDISET_FOUND", str(loose))
    ]
    status, theirs = dandi_validate(loose)
    assert status == 1
    assert [r["id"] for r in theirs] == ["DANDI.NO_DANDISET_FOUND"]

    broken = tmp_path / "broken.nwb"
    shutil.copy(case_root / BAD_AGE, broken)
    text = validate(str(tmp_path)).stdout
    assert f"{tmp_path}/broken.nwb" in text and "NWBI.check_subject_age" in text
    assert "NON_DANDI" not in text


def test_dandiset_yaml_checks(case_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "ds"
    root.mkdir()
    (root / "dandiset.yaml").write_text('identifier: "12"\nname: A dandiset\n')
    (root / "sub-m1").mkdir()
    shutil.copy(case_root / GOOD, root / GOOD)
    (checked,) = validate_paths([root])
    assert [(f.path, f.id) for f in checked.findings] == [
        ("dandiset.yaml", "dandischema.requred_field"),
        ("dandiset.yaml", "NEUROPIL.DANDISET_IDENTIFIER"),
    ]
    assert "'description'" in checked.findings[0].message
    # Named files only: the dandiset.yaml is not in scope.
    (only_file,) = validate_paths([root / GOOD])
    assert only_file.findings == [] and only_file.files == [GOOD]


def test_parallel_and_serial_runs_agree(case_root: Path) -> None:
    (serial,) = validate_paths([case_root], jobs=1)
    (parallel,) = validate_paths([case_root], jobs=2)
    assert serial.findings == parallel.findings


def test_extraction_is_reused_by_upload(case_root: Path, tmp_path: Path) -> None:
    """Validation leaves each NWB file's metadata in the cache the upload reads; a file
    changed since has another key and is extracted again."""
    path = tmp_path / GOOD
    path.parent.mkdir(parents=True)
    shutil.copy(case_root / GOOD, path)
    cache = ExtractionCache()
    assert validate_files([path], dandiset_root=tmp_path, cache=cache) == []
    metadata = cache.metadata_for(path, GOOD)
    assert cache.extracted == 0
    assert metadata["wasAttributedTo"][0]["species"]["identifier"].endswith("NCBITaxon_10090")
    write_nwb(path)  # a new file at the same path
    again = cache.metadata_for(path, GOOD)
    assert cache.extracted == 1 and again is not metadata
    assert cache.metadata_for(tmp_path / "notes.txt", "notes.txt") == {}
