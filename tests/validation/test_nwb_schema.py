"""The memoized schema validation gives what ``pynwb.validate(path=...)`` gives."""

from __future__ import annotations

from pathlib import Path

import pynwb
import pytest

from neuropil.validation import nwb_schema
from tests.validation.cases import CASES


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.name not in ("truncated", "plain-hdf5")],
    ids=lambda c: c.name,
)
def test_same_errors_as_pynwb(case_root: Path, case: object) -> None:
    path = case_root / case.asset_path  # type: ignore[attr-defined]
    expected = [str(e) for e in pynwb.validate(path=str(path))]
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        assert [str(e) for e in nwb_schema.schema_errors(io)] == expected


def test_the_schema_is_parsed_once_per_specification_set(case_root: Path) -> None:
    nwb_schema._VALIDATORS.clear()
    for case in CASES[:3]:
        with pynwb.NWBHDF5IO(str(case_root / case.asset_path), "r") as io:
            nwb_schema.schema_errors(io)
    assert len(nwb_schema._VALIDATORS) == 1  # all written by the same pynwb
