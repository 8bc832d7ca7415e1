"""Good and deliberately broken NWB files, each at the asset path a dandiset would hold it.

Every case is small (a few kB of data) so that validating the whole set, with neuropil and
with the official client, takes seconds. ``fails`` is what both validators must conclude.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np

START = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    """One file: where it goes, how it is made, and whether validation must fail it."""

    name: str
    asset_path: str
    fails: bool
    make: Callable[[Path], None]
    #: The ids neuropil's findings for the file must include (``WARNING:`` before a warning's);
    #: for a file that passes, exactly its findings (none for a good file).
    expect_ids: tuple[str, ...] = ()


def _subject(**fields: Any) -> Any:
    from pynwb.file import Subject

    base: dict[str, Any] = {
        "subject_id": "m1",
        "species": "Mus musculus",
        "sex": "M",
        "age": "P90D",
        "strain": "C57BL/6J",
        "description": "a test mouse",
    }
    base.update(fields)
    return Subject(**{k: v for k, v in base.items() if v is not None})


def write_nwb(
    path: Path,
    *,
    subject: Any = "default",
    session_id: str | None = "s1",
    timestamps: list[float] | None = None,
    ecephys: bool = True,
) -> None:
    """A small NWB file: a subject, a probe with 4 electrodes and 100 samples of voltage,
    and a position time series (``timestamps`` to give it irregular ones)."""
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.ecephys import ElectricalSeries

    nwb = NWBFile(
        session_description="validation test session",
        identifier=str(uuid.uuid4()),
        session_start_time=START,
        session_id=session_id,
        experimenter=["Doe, Jane"],
        lab="Test lab",
        institution="Test institute",
    )
    nwb.subject = _subject() if subject == "default" else subject
    if ecephys:
        device = nwb.create_device(name="probe0", description="a 4-channel probe")
        group = nwb.create_electrode_group(
            name="shank0", description="the only shank", location="CA1", device=device
        )
        for _ in range(4):
            nwb.add_electrode(group=group, location="CA1")
        region = nwb.create_electrode_table_region([0, 1, 2, 3], "all channels")
        data = np.arange(400, dtype=np.int16).reshape(100, 4)
        nwb.add_acquisition(
            ElectricalSeries(
                name="ElectricalSeries",
                description="voltage",
                data=data,
                electrodes=region,
                rate=1000.0,
                conversion=1e-6,
            )
        )
    if timestamps is not None:
        nwb.add_acquisition(
            TimeSeries(
                name="position",
                description="x position",
                data=np.arange(len(timestamps), dtype=float),
                unit="m",
                timestamps=np.asarray(timestamps),
            )
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def _good(path: Path) -> None:
    write_nwb(path)


def _no_subject(path: Path) -> None:
    write_nwb(path, subject=None)


def _bad_age(path: Path) -> None:
    write_nwb(path, subject=_subject(age="3 moons"))


def _unknown_species(path: Path) -> None:
    write_nwb(path, subject=_subject(species="unicorn"))


def _bad_sex(path: Path) -> None:
    write_nwb(path, subject=_subject(sex="male"))


def _slashed_session(path: Path) -> None:
    write_nwb(path, session_id="s/1")


def _no_age(path: Path) -> None:
    write_nwb(path, subject=_subject(age=None))


def _warnings_only(path: Path) -> None:
    # Descending timestamps: a best-practice violation (WARNING), not an error.
    write_nwb(path, timestamps=[3.0, 2.0, 1.0, 0.5])


def _truncated(path: Path) -> None:
    write_nwb(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _plain_hdf5(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=[1, 2, 3])
        f.attrs["title"] = "not NWB"


def _schema_violation(path: Path) -> None:
    # pynwb writes ``rate`` as float32; a text rate breaks the schema (pynwb.validate finds it).
    write_nwb(path)
    with h5py.File(path, "r+") as f:
        starting_time = f["acquisition/ElectricalSeries/starting_time"]
        del starting_time.attrs["rate"]
        starting_time.attrs["rate"] = "fast"


CASES: tuple[Case, ...] = (
    Case("good", "sub-m1/sub-m1_ses-s1_ecephys.nwb", False, _good),
    Case(
        "warnings-only",
        "sub-m1/sub-m1_ses-s2_ecephys.nwb",
        False,
        _warnings_only,
        ("WARNING:NWBI.check_timestamps_ascending",),
    ),
    Case(
        "no-subject",
        "sub-m2/sub-m2_ecephys.nwb",
        True,
        _no_subject,
        ("NWBI.check_subject_exists",),
    ),
    Case(
        "bad-age",
        "sub-m3/sub-m3_ecephys.nwb",
        True,
        _bad_age,
        ("NWBI.check_subject_age", "NEUROPIL.METADATA.subject.age"),
    ),
    Case(
        "unknown-species",
        "sub-m4/sub-m4_ecephys.nwb",
        True,
        _unknown_species,
        ("NWBI.check_subject_species_form", "NEUROPIL.METADATA.subject.species"),
    ),
    Case("bad-sex", "sub-m5/sub-m5_ecephys.nwb", True, _bad_sex, ("NWBI.check_subject_sex",)),
    Case(
        "slashed-session",
        "sub-m6/sub-m6_ecephys.nwb",
        True,
        _slashed_session,
        ("NWBI.check_session_id_no_slashes",),
    ),
    Case("no-age", "sub-m7/sub-m7_ecephys.nwb", True, _no_age, ("NWBI.check_subject_age",)),
    Case("truncated", "sub-m8/sub-m8_ecephys.nwb", True, _truncated, ("NWB.CANNOT_OPEN",)),
    Case("plain-hdf5", "sub-m9/sub-m9.nwb", True, _plain_hdf5, ("NWB.MISSING_NWB_VERSION",)),
    Case(
        "schema-violation",
        "sub-m10/sub-m10_ecephys.nwb",
        True,
        _schema_violation,
        ("pynwb.DtypeError",),
    ),
    Case(
        "bad-layout",
        "recordings/mouse one.nwb",
        True,
        _good,
        ("DANDI.NON_DANDI_FILENAME", "DANDI.NON_DANDI_FOLDERNAME"),
    ),
    Case(
        "subject-mismatch",
        "sub-m1/sub-m11_ecephys.nwb",
        True,
        _good,
        ("DANDI.METADATA_MISMATCH_SUBJECT",),
    ),
)


def make_cases(root: Path, cases: tuple[Case, ...] = CASES) -> dict[str, Path]:
    """Write every case below ``root`` (a dandiset directory); returns the files by case name."""
    made: dict[str, Path] = {}
    for case in cases:
        target = root / case.asset_path
        target.parent.mkdir(parents=True, exist_ok=True)
        case.make(target)
        made[case.name] = target
    return made


def copy_case(source: Path, root: Path, asset_path: str) -> Path:
    target = root / asset_path
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target)
    return target
