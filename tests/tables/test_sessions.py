"""Sessions from NWB files: grouping, united names, largest counts, status."""

from __future__ import annotations

from neuropil.tables import NwbContents, SessionFile, facts_of, session_rows
from neuropil.tables.columns import SESSIONS, names


def nwb_file(
    path: str, subject: str, session: str | None, contents: NwbContents | None, status: str
) -> SessionFile:
    md = {
        "wasAttributedTo": [{"schemaKey": "Participant", "identifier": subject}],
        "wasGeneratedBy": [{"schemaKey": "Session", "identifier": session}] if session else [],
        "approach": [{"name": path.rsplit("_", 1)[-1]}],
    }
    return SessionFile(path, facts_of(md), contents, status)


def test_files_of_one_session_make_one_row() -> None:
    rows = session_rows(
        [
            nwb_file(
                "s/s_ses-1_ophys",
                "s",
                "1",
                NwbContents(devices=("scope",), imaging_planes=("p0",)),
                "built",
            ),
            nwb_file(
                "s/s_ses-1_ecephys",
                "s",
                "1",
                NwbContents(devices=("probe",), electrode_count=32, units_count=4),
                "built",
            ),
            nwb_file("s/s_ses-1_behavior", "s", "1", None, "pending"),
        ]
    )
    assert len(rows) == 1
    row = rows[0]
    assert list(row) == names(SESSIONS)
    assert row["devices"] == "probe | scope"
    assert (row["electrode_count"], row["units_count"]) == (32, 4)
    assert row["imaging_planes"] == "p0" and row["acquisition"] == ""
    assert row["approach"] == "behavior | ecephys | ophys"
    assert row["files"] == 3
    assert row["paths"] == "s/s_ses-1_behavior | s/s_ses-1_ecephys | s/s_ses-1_ophys"
    assert row["index_status"] == "pending"


def test_files_without_session_id_are_sessions_of_their_own() -> None:
    rows = session_rows(
        [
            nwb_file("b.nwb", "s", None, None, "not-hdf5"),
            nwb_file("a.nwb", "s", None, None, "unavailable"),
            nwb_file("c.nwb", "r", "7", None, "unavailable"),
        ]
    )
    assert [r["paths"] for r in rows] == ["c.nwb", "a.nwb", "b.nwb"]
    assert [r["session"] for r in rows] == ["7", None, None]
    assert rows[1]["electrode_count"] is None and rows[1]["devices"] is None
    assert rows[2]["index_status"] == "not-hdf5"
