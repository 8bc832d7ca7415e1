"""``neuropil validate`` and ``dandi validate`` agree on which files fail.

The case set (tests/validation/cases.py) holds a good file, one with only best-practice
warnings, and files broken in every way DANDI checks: no subject, an unreadable age, an
unknown species, a bad sex, a session id with a slash, no age, a truncated file, HDF5
that is not NWB, a schema violation pynwb reports, and names outside DANDI's layout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from neuropil.validation.paths import validate_paths
from tests.support.nwb import write_dandiset_yaml
from tests.validation.cases import CASES, _subject, write_nwb
from tests.validation.conftest import dandi_validate


def failing(records: list[dict[str, Any]], root: Path) -> set[str]:
    """The asset paths with an ERROR (or worse) among dandi-cli's records."""
    return {
        Path(r["path"]).relative_to(root).as_posix()
        for r in records
        if r["severity"] in ("ERROR", "CRITICAL") and r["path"]
    }


@pytest.fixture(scope="module")
def ours(case_root: Path) -> dict[str, list[str]]:
    """neuropil's finding ids by asset path (two worker processes)."""
    (checked,) = validate_paths([case_root], jobs=2)
    out: dict[str, list[str]] = {}
    for f in checked.findings:
        out.setdefault(f.path, []).append(f.id if f.is_error else f"{f.severity}:{f.id}")
    return out


def test_every_case_is_judged_alike(
    case_root: Path, dandi_verdict: tuple[int, list[dict[str, Any]]], ours: dict[str, list[str]]
) -> None:
    status, records = dandi_verdict
    theirs = failing(records, case_root)
    for case in CASES:
        we_fail = any(
            not i.startswith(("WARNING:", "HINT:")) for i in ours.get(case.asset_path, [])
        )
        assert (case.asset_path in theirs) == case.fails, f"dandi on {case.name}"
        assert we_fail == case.fails, f"neuropil on {case.name}: {ours.get(case.asset_path)}"
    assert status == 1


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_findings_name_the_problem(case: Any, ours: dict[str, list[str]]) -> None:
    found = ours.get(case.asset_path, [])
    if not case.fails:  # a good file has no finding; the other passing file, its warning only
        assert found == list(case.expect_ids), f"{case.name}: {found}"
        return
    assert case.expect_ids, f"{case.name}: a broken file's case names what must be found"
    for expected in case.expect_ids:
        assert expected in found, f"{case.name}: {found}"


def test_warnings_are_the_same_as_dandis(
    case_root: Path, dandi_verdict: tuple[int, list[dict[str, Any]]], ours: dict[str, list[str]]
) -> None:
    """The file with only a best-practice violation gets the same WARNING from both."""
    _, records = dandi_verdict
    warnings = next(case for case in CASES if case.name == "warnings-only").asset_path
    theirs = {
        r["id"]
        for r in records
        if r["severity"] == "WARNING"
        and Path(r["path"]).relative_to(case_root).as_posix() == warnings
    }
    assert theirs == {i.removeprefix("WARNING:") for i in ours[warnings]}
    assert theirs == {"NWBI.check_timestamps_ascending"}


def test_unknown_latin_species_differs_for_a_reason(tmp_path: Path) -> None:
    """The one principled difference: a well-formed species name DANDI does not know.

    nwbinspector checks only the form ('Genus species'), so ``dandi validate`` passes the
    file, but ``dandi upload`` then fails it while extracting metadata ("Cannot interpret
    species field"), the validate/upload disagreement users report (dandi-cli #780,
    #1182). neuropil runs the extraction in ``validate`` too, so it fails the file up front.
    """
    from dandi.files import dandi_file
    from dandi.misctypes import Digest

    root = tmp_path / "000124"
    write_dandiset_yaml(root, "000124")
    path = root / "sub-m1" / "sub-m1_ecephys.nwb"
    write_nwb(path, subject=_subject(species="Ornithorhynchus anatinus"))

    status, records = dandi_validate(root)
    assert status == 0 and failing(records, root) == set()
    # What ``dandi upload`` calls at its "extracting metadata" step (dandi/upload.py).
    with pytest.raises(ValueError, match="Cannot interpret species field"):
        dandi_file(path, root).get_metadata(
            digest=Digest.dandi_etag("0" * 32 + "-1"), ignore_errors=False
        )

    (checked,) = validate_paths([root])
    (finding,) = checked.findings
    assert finding.id == "NEUROPIL.METADATA.subject.species"
    assert "'Ornithorhynchus anatinus'" in finding.message
