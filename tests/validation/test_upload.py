"""``neuropil upload`` runs the same pipeline as ``neuropil validate`` (real server).

``--validation require`` refuses exactly the files ``validate`` fails, printing each reason
inline, and the NWB files it uploads carry the metadata extracted from them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from neuropil.cli.main import cli
from neuropil.client.archive import Archive
from tests.conftest import Archive as Server
from tests.support.client_env import isolate_client
from tests.support.nwb import write_dandiset_yaml
from tests.validation.cases import CASES

#: The cases staged for upload: both passing files and one of each kind of failure.
STAGED = (
    "good",
    "warnings-only",
    "no-subject",
    "bad-age",
    "unknown-species",
    "truncated",
    "schema-violation",
    "bad-layout",
)


@pytest.fixture(autouse=True)
def private_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_client(monkeypatch, tmp_path / "config")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def stage(case_root: Path, root: Path, identifier: str) -> dict[str, str]:
    """Copy the :data:`STAGED` cases and a text file into a dandiset directory."""
    write_dandiset_yaml(root, identifier)
    paths = {}
    for case in CASES:
        if case.name in STAGED:
            target = root / case.asset_path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(case_root / case.asset_path, target)
            paths[case.name] = case.asset_path
    (root / "docs").mkdir()
    (root / "docs" / "notes.txt").write_text("lab notes")
    return paths


def test_upload_refuses_exactly_what_validate_fails(
    archive: Server, case_root: Path, tmp_path: Path
) -> None:
    with Archive(archive.url, archive.user_token) as api:
        ds = api.create_dandiset("validation parity")
        root = tmp_path / ds.identifier
        staged = stage(case_root, root, ds.identifier)

        checked = run("validate", "-f", "json", str(root))
        assert checked.exit_code == 1
        records = json.loads(checked.stdout)
        failing = {
            r["asset_paths"][0] for r in records if r["severity"] == "ERROR" and r["asset_paths"]
        }
        expected_failing = {
            p for name, p in staged.items() if name not in ("good", "warnings-only")
        }
        assert failing == expected_failing

        uploaded = run(
            "upload", "--validation", "require", "--token", archive.user_token,
            "-i", archive.url, str(root),
        )  # fmt: skip
        assert uploaded.exit_code == 1
        remote = sorted(a.path for a in ds.assets())
        assert remote == sorted({*staged.values(), "docs/notes.txt"} - failing)
        # Every reason of every refused file is printed, each naming the problem.
        for record in records:
            if record["severity"] == "ERROR":
                assert f"[{record['id']}]" in uploaded.output
        assert "subject.age: cannot read the age '3 moons'" in uploaded.output
        assert "unknown species 'unicorn'" in uploaded.output


def test_uploaded_nwb_assets_carry_extracted_metadata(
    archive: Server, case_root: Path, tmp_path: Path
) -> None:
    with Archive(archive.url, archive.user_token) as api:
        ds = api.create_dandiset("extracted metadata")
        root = tmp_path / ds.identifier
        write_dandiset_yaml(root, ds.identifier)
        good = next(c for c in CASES if c.name == "good").asset_path
        (root / good).parent.mkdir(parents=True)
        shutil.copy(case_root / good, root / good)
        (root / "notes.txt").write_text("not NWB")

        report = api.upload([root], root)
        assert report.ok and report.findings == []

        nwb = api.dandiset(ds.identifier, "draft").asset(good).metadata
        (participant,) = nwb["wasAttributedTo"]
        assert participant["identifier"] == "m1"
        assert participant["species"]["identifier"].endswith("/NCBITaxon_10090")
        assert participant["sex"]["name"] == "Male"
        assert participant["age"]["value"] == "P90D"
        assert {a["name"] for a in nwb["approach"]} == {"electrophysiological approach"}
        assert nwb["measurementTechnique"]
        assert "ElectricalSeries" in {v["value"] for v in nwb["variableMeasured"]}
        sessions = [a for a in nwb["wasGeneratedBy"] if a["schemaKey"] == "Session"]
        assert sessions[0]["identifier"] == "s1"
        assert nwb["encodingFormat"] == "application/x-nwb"
        assert nwb["path"] == good

        text = api.dandiset(ds.identifier, "draft").asset("notes.txt").metadata
        assert text["encodingFormat"] == "text/plain"
        assert text["path"] == "notes.txt" and text["blobDateModified"]
        assert "wasAttributedTo" not in text
