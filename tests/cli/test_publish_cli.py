"""``neuropil metadata`` and ``neuropil publish`` against a real server."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from neuropil.cli.main import cli
from neuropil.client.archive import Archive
from neuropil.client.publishing import NotPublishable
from tests.conftest import Archive as Server
from tests.support.client_env import isolate_client
from tests.support.nwb import NwbSet, make_organized_set, stage_dandiset

# Its subject is what a client or a page does over HTTP, not what the database does: one
# backend (the services below are tested on both in tests/api).
pytestmark = pytest.mark.backends("sqlite")

PUBLISHABLE = {
    "name": "Publishing test",
    "description": "A dandiset the publish tests make publishable.",
    "license": ["spdx:CC0-1.0"],
    "contributor": [
        {
            "schemaKey": "Person",
            "name": "Tester, Pat",
            "email": "pat@example.org",
            "roleName": ["dcite:Author", "dcite:ContactPerson"],
        }
    ],
}


@pytest.fixture(autouse=True)
def private_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_client(monkeypatch, tmp_path / "config")


@pytest.fixture(scope="module")
def nwb(tmp_path_factory: pytest.TempPathFactory) -> NwbSet:
    return make_organized_set(tmp_path_factory.mktemp("nwb"))


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def new_dandiset(archive: Server) -> str:
    with Archive(archive.api_url, archive.user_token) as client:
        return client.create_dandiset("Publishing test", {}).identifier


def write_yaml(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_metadata_set_stores_an_invalid_draft_and_lists_errors_per_field(
    archive: Server, tmp_path: Path
) -> None:
    # Drafts may be invalid, as on DANDI (issue 16): saved, then each schema error is listed
    # by field with the fix, and publishing stays refused until it is valid.
    ident = new_dandiset(archive)
    url = f"{archive.api_url}/dandisets/{ident}/"
    bad = {**PUBLISHABLE, "contributor": "Pat Tester", "license": "CC0"}
    result = run("metadata", url, "--set", str(write_yaml(tmp_path / "bad.yaml", bad)),
                 "--token", archive.user_token)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Invalid" in result.output
    assert "contributor:" in result.output and "license:" in result.output
    assert 'license: ["spdx:CC-BY-4.0"]' in result.output
    shown = yaml.safe_load(run("metadata", url).stdout)
    assert shown["license"] == "CC0"


def test_metadata_set_then_show(archive: Server, tmp_path: Path) -> None:
    ident = new_dandiset(archive)
    url = f"{archive.api_url}/dandisets/{ident}/"
    # Valid for the schema but not yet publishable (no description): saved, the gap listed.
    partial = {k: v for k, v in PUBLISHABLE.items() if k != "description"}
    result = run("metadata", url, "--set", str(write_yaml(tmp_path / "p.yaml", partial)),
                 "--token", archive.user_token)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Saved" in result.stdout
    assert "description" in result.stderr  # what publishing still needs, by field
    full = run("metadata", url, "--set", str(write_yaml(tmp_path / "f.yaml", PUBLISHABLE)),
               "--token", archive.user_token)  # fmt: skip
    assert full.exit_code == 0, full.output
    shown = yaml.safe_load(run("metadata", url).stdout)
    assert shown["description"] == PUBLISHABLE["description"]
    assert shown["identifier"].endswith(f":{ident}")  # computed by the server
    as_json = run("metadata", url, "--format", "json")
    assert as_json.exit_code == 0 and '"description"' in as_json.stdout


def test_publish_with_wait_and_notes(archive: Server, nwb: NwbSet, tmp_path: Path) -> None:
    ident = new_dandiset(archive)
    url = f"{archive.api_url}/dandisets/{ident}/"
    with Archive(archive.api_url, archive.user_token) as client:
        ds = client.dandiset(ident, "draft")
        ds.set_metadata(PUBLISHABLE)
        staged = stage_dandiset(nwb, tmp_path / ident, ident)
        report = client.upload([staged.root], validation="require")
        assert not report.failed, report.failed
    result = run("publish", url, "--wait", "--notes", "First release", "--token",
                 archive.user_token, "--timeout", "120")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"Published dandiset {ident} version 0." in result.stdout
    with Archive(archive.api_url, archive.user_token) as client:
        ds = client.dandiset(ident)
        assert ds.version_id.startswith("0.") and ds.published is not None
        assert ds.metadata["releaseNotes"] == "First release"
        assert sorted(a.path for a in ds.assets()) == staged.asset_paths
        # Nothing changed since: publishing again is refused with the server's reason.
        with pytest.raises(NotPublishable):
            client.dandiset(ident, "draft").publish(wait=True, timeout=30)
    again = run("publish", url, "--token", archive.user_token)
    assert again.exit_code == 1
    assert "cannot be published" in again.stderr


def test_publish_of_an_invalid_draft_names_the_problem(archive: Server) -> None:
    ident = new_dandiset(archive)  # no description, license or contributor: not publishable
    result = run("publish", f"{archive.api_url}/dandisets/{ident}/", "--wait", "--timeout",
                 "60", "--token", archive.user_token)  # fmt: skip
    assert result.exit_code == 1
    assert "Invalid" in result.output or "cannot be published" in result.output


def test_python_api_set_metadata_rejects(archive: Server) -> None:
    ident = new_dandiset(archive)
    with Archive(archive.api_url, archive.user_token) as client:
        ds = client.dandiset(ident, "draft")
        ds.set_metadata({**PUBLISHABLE, "contributor": 5})  # stored; the draft turns Invalid
        invalid = ds.wait_until_validated(timeout=60)
        assert invalid.status == "Invalid"
        assert any("contributor" in e.field for e in invalid.version_errors), invalid
        state = ds.set_metadata(PUBLISHABLE)
        assert state.version == "draft"
        settled = ds.wait_until_validated(timeout=60)
        assert settled.status in ("Valid", "Invalid")
