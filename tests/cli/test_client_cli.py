"""The client commands of ``neuropil`` against real servers (click's CliRunner, in process),
plus the cross-check with the official ``dandi download``."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from dandischema.digests.dandietag import DandiETag

from neuropil.cli.main import cli
from neuropil.client.archive import Archive
from neuropil.client.instances import discover, host_port
from neuropil.client.tokens import TOKENS_FILE
from tests.conftest import Archive as Server
from tests.support.client_env import isolate_client
from tests.support.dandisets import TREE, Seeded, add_asset, seed, tree_of
from tests.support.nwb import write_dandiset_yaml

# Its subject is what a client or a page does over HTTP, not what the database does: one
# backend (the services below are tested on both in tests/api).
pytestmark = pytest.mark.backends("sqlite")

#: The official CLI, run by this interpreter (see tests/test_official_client.py).
DANDI_CLI = [
    sys.executable,
    "-c",
    "import sys; from dandi.cli.command import main; sys.exit(main())",
]


@pytest.fixture(autouse=True)
def private_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config dir of our own, no keyring, nothing from the user's environment."""
    return isolate_client(monkeypatch, tmp_path / "config")


@pytest.fixture(scope="module")
def seeded(archive: Server, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed(archive.api_url, archive.user_token, tmp_path_factory.mktemp("seed"))


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def ok(*args: str, input: str | None = None) -> Result:
    result = run(*args, input=input)
    assert result.exit_code == 0, f"neuropil {' '.join(args)}: {result.output}"
    return result


def events(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def ds_url(archive: Server, seeded: Seeded) -> str:
    return f"{archive.api_url}/dandisets/{seeded.identifier}/"


def assets_url(archive: Server, ident: str) -> str:
    return f"{archive.api_url}/dandisets/{ident}/versions/draft/assets/"


# -- download: layouts ---------------------------------------------------------------------


def test_download_dandiset(archive: Server, seeded: Seeded, tmp_path: Path) -> None:
    ok("download", "-o", str(tmp_path), ds_url(archive, seeded))
    files = tree_of(tmp_path / seeded.identifier)
    yaml_md = yaml.safe_load(files.pop("dandiset.yaml"))
    assert files == seeded.content
    assert yaml_md["name"] == seeded.name
    header = (tmp_path / seeded.identifier / "dandiset.yaml").read_text().splitlines()[1]
    assert archive.url in header  # the instance's own web UI, not dandiarchive.org


def test_download_folder_glob_and_single_file(
    archive: Server, seeded: Seeded, tmp_path: Path
) -> None:
    ident = seeded.identifier
    folder = f"{archive.url}/dandiset/{ident}/draft/files?location=sub-02/extra"
    ok("download", "-o", str(tmp_path / "folder"), folder)
    assert tree_of(tmp_path / "folder") == {
        "extra/notes.txt": seeded.content["sub-02/extra/notes.txt"]
    }

    ok("download", "-o", str(tmp_path / "glob"), f"{assets_url(archive, ident)}?glob=*ses-a*")
    assert sorted(tree_of(tmp_path / "glob")) == [
        "sub-01/sub-01_ses-a.nwb",
        "sub-02/sub-02_ses-a.nwb",
    ]

    aid = seeded.asset_ids["sub-01/sub-01_ses-b.nwb"]
    ok("download", "-o", str(tmp_path / "one"), f"{assets_url(archive, ident)}{aid}/download/")
    assert tree_of(tmp_path / "one") == {
        "sub-01_ses-b.nwb": seeded.content["sub-01/sub-01_ses-b.nwb"]
    }

    ok("download", "--preserve-tree", "-o", str(tmp_path / "tree"), folder)
    assert sorted(tree_of(tmp_path / "tree" / ident)) == ["dandiset.yaml", "sub-02/extra/notes.txt"]

    discover(archive.url)  # dandi://host:port/ names a server discovered before
    only_yaml = f"dandi://{host_port(archive.api_url)}/{ident}@draft/dandiset.yaml"
    ok("download", "-o", str(tmp_path / "yaml"), only_yaml)
    assert list(tree_of(tmp_path / "yaml")) == ["dandiset.yaml"]

    prefix = f"{assets_url(archive, ident)}?path=sub-01/sub-01_ses-"
    ok("download", "-o", str(tmp_path / "prefix"), prefix)
    assert sorted(tree_of(tmp_path / "prefix")) == ["sub-01_ses-a.nwb", "sub-01_ses-b.nwb"]


# -- download: policies, JSON, exit codes ---------------------------------------------------


def test_existing_policies_and_json_stream(archive: Server, seeded: Seeded, tmp_path: Path) -> None:
    url = ds_url(archive, seeded)
    first = events(ok("download", "--json", "-o", str(tmp_path), url))
    kinds = {e["event"] for e in first}
    assert {"file_started", "progress", "file_done", "summary"} <= kinds
    summary = first[-1]
    assert summary["event"] == "summary" and summary["ok"] is True
    assert summary["done"] == len(TREE) + 1 and summary["bytes"] == sum(TREE.values())
    done = {e["path"]: e["status"] for e in first if e["event"] == "file_done"}
    assert done == dict.fromkeys([*TREE, "dandiset.yaml"], "done")
    progress = [
        e for e in first if e["event"] == "progress" and e["path"] == "sub-01/sub-01_ses-b.nwb"
    ]
    assert progress[-1]["done"] == TREE["sub-01/sub-01_ses-b.nwb"]

    # error (the default): every existing file is a failure with its reason, exit 1
    refused = run("download", "--json", "-o", str(tmp_path), url)
    assert refused.exit_code == 1
    last = events(refused)[-1]
    assert last["failed"] == len(TREE) and "already exists" in last["failures"][0]["reason"]

    skipped = events(ok("download", "--json", "-e", "skip", "-o", str(tmp_path), url))[-1]
    assert skipped["skipped"] == len(TREE) + 1 and skipped["done"] == 0

    local = tmp_path / seeded.identifier / "sub-02" / "sub-02_ses-a.nwb"
    local.write_bytes(b"x" * TREE["sub-02/sub-02_ses-a.nwb"])  # same size, other bytes
    fixed = events(ok("download", "--json", "-e", "overwrite-different", "-o", str(tmp_path), url))
    assert fixed[-1]["done"] == 1 and fixed[-1]["skipped"] == len(TREE)
    assert local.read_bytes() == seeded.content["sub-02/sub-02_ses-a.nwb"]

    refreshed = events(ok("download", "--json", "-e", "refresh", "-o", str(tmp_path), url))[-1]
    assert refreshed["done"] == 0  # sizes and mtimes match
    overwritten = events(ok("download", "--json", "-e", "overwrite", "-o", str(tmp_path), url))[-1]
    assert overwritten["done"] == len(TREE)  # dandiset.yaml: "no change"


def test_human_output_and_exit_codes(archive: Server, seeded: Seeded, tmp_path: Path) -> None:
    result = ok("download", "-o", str(tmp_path), ds_url(archive, seeded))
    assert f"Downloaded {len(TREE) + 1} files" in result.stdout
    again = run("download", "-o", str(tmp_path), ds_url(archive, seeded))
    assert again.exit_code == 1
    assert "failed" in again.stdout and "already exists" in again.stdout

    missing = run("download", "-o", str(tmp_path), f"{archive.api_url}/dandisets/999999/")
    assert missing.exit_code == 1 and "999999 not found" in missing.output
    bad = run("download", "not a url")
    assert bad.exit_code == 1 and "cannot parse" in bad.output
    assert run("download", "-J", "x", ds_url(archive, seeded)).exit_code == 2


def test_download_sync(archive: Server, seeded: Seeded, tmp_path: Path) -> None:
    url = ds_url(archive, seeded)
    ok("download", "-o", str(tmp_path), url)
    stray = tmp_path / seeded.identifier / "sub-03" / "old.nwb"
    stray.parent.mkdir()
    stray.write_bytes(b"not on the server")
    keep = tmp_path / seeded.identifier / ".datalad" / "config"
    keep.parent.mkdir()
    keep.write_text("tool state")

    refused = run("download", "--sync", "-e", "skip", "-o", str(tmp_path), url)
    assert refused.exit_code == 1  # stdin is not a terminal: never asks, refuses
    assert "without --yes" in refused.output and stray.exists()

    ok("download", "--sync", "--yes", "-e", "skip", "-o", str(tmp_path), url)
    assert not stray.exists() and not stray.parent.exists()
    assert keep.exists()
    assert sorted(tree_of(tmp_path / seeded.identifier)) == sorted(
        [*TREE, "dandiset.yaml", ".datalad/config"]
    )

    # a folder URL only answers for its own folder (downloaded without its parents)
    folder = f"{archive.url}/dandiset/{seeded.identifier}/draft/files?location=sub-02"
    out = tmp_path / "folder"
    ok("download", "-o", str(out), folder)
    (out / "sub-02" / "stray.txt").write_text("gone remotely")
    (out / "mine.txt").write_text("not in the folder's scope")
    ok("download", "--sync", "--yes", "-e", "skip", "-o", str(out), folder)
    assert sorted(tree_of(out)) == ["mine.txt", "sub-02/extra/notes.txt", "sub-02/sub-02_ses-a.nwb"]


# -- ls, digest ------------------------------------------------------------------------------


def test_ls_formats(archive: Server, seeded: Seeded) -> None:
    url = ds_url(archive, seeded)
    (head,) = json.loads(ok("ls", "-f", "json", url).stdout)
    assert head["identifier"] == seeded.identifier and head["asset_count"] == len(TREE)
    records = yaml.safe_load(ok("ls", "-r", "-f", "yaml", url).stdout)
    assert records[0]["type"] == "dandiset"
    assert {r["path"]: r["size"] for r in records[1:]} == TREE
    table = ok("ls", "-r", url).stdout
    assert all(path in table for path in TREE) and seeded.name in table
    folder = json.loads(
        ok("ls", "-f", "json", f"{assets_url(archive, seeded.identifier)}?path=sub-01/").stdout
    )
    assert [r["path"] for r in folder] == ["sub-01/sub-01_ses-a.nwb", "sub-01/sub-01_ses-b.nwb"]
    listing = json.loads(ok("ls", "-f", "json", archive.url).stdout)
    assert seeded.identifier in {r["identifier"] for r in listing}


def test_digest_matches_dandischema(tmp_path: Path) -> None:
    files = []
    for name, size in (("empty", 0), ("small", 1000), ("six-mib", 6 << 20)):
        path = tmp_path / name
        path.write_bytes(os.urandom(size))
        files.append(path)
    out = ok("digest", *map(str, files)).stdout.splitlines()
    assert out == [f"{p}: {DandiETag.from_file(p).as_str()}" for p in files]
    sha = ok("digest", "--algorithm", "sha256", str(files[1])).stdout
    assert sha.strip().endswith(hashlib.sha256(files[1].read_bytes()).hexdigest())


# -- create, delete --------------------------------------------------------------------------


def test_create_and_delete(archive: Server, tmp_path: Path) -> None:
    out = ok(
        "create",
        "made by the CLI",
        "--description",
        "temp",
        "-i",
        archive.url,
        "--token",
        archive.user_token,
    ).stdout.splitlines()
    ident = out[0]
    assert len(ident) == 6 and out[1].endswith(f"/dandiset/{ident}/draft")
    with Archive(archive.url, archive.user_token) as api:
        ds = api.dandiset(ident)
        assert ds.name == "made by the CLI" and ds.metadata["description"] == "temp"
        for path in ("a/1.txt", "a/2.txt", "b/3.txt", "c.txt"):
            add_asset(api.transport, ident, tmp_path, path, path.encode())

        assets = assets_url(archive, ident)
        token = ("--token", archive.user_token)
        refused = run("delete", f"{assets}?path=a/", *token)
        assert refused.exit_code == 1 and "without --yes" in refused.output
        assert len(list(ds.assets())) == 4

        ok("delete", "--yes", f"{archive.url}/dandiset/{ident}/draft/files?location=a", *token)
        aid = ds.asset("c.txt").asset_id
        ok("delete", "-y", f"{assets}{aid}/", *token)
        assert [a.path for a in ds.assets()] == ["b/3.txt"]

        assert run("delete", "-y", f"{archive.api_url}/dandisets/{ident}/").exit_code == 1  # no key
        ok("delete", "-y", f"{archive.api_url}/dandisets/{ident}/", *token)
        assert ident not in {d.identifier for d in api.dandisets()}


# -- login, logout, instances ---------------------------------------------------------------


def test_login_logout(archive: Server, private_config: Path) -> None:
    no_tty = run("login", archive.url)
    assert no_tty.exit_code == 1 and "not a terminal" in no_tty.output
    bad = run("login", archive.url, "--token", "0" * 40)
    assert bad.exit_code == 1 and "rejected" in bad.output
    assert not (private_config / TOKENS_FILE).exists()

    ok("login", archive.url, "--token", "-", input=archive.user_token + "\n")
    assert archive.user_token in (private_config / TOKENS_FILE).read_text()
    with Archive(archive.url) as api:
        assert api.transport.token == archive.user_token
    assert "Logged out" in ok("logout", archive.url).stdout
    assert "No stored API key" in ok("logout", archive.url).stdout
    with Archive(archive.url) as api:
        assert not api.authenticated


def test_instances(archive: Server, private_config: Path) -> None:
    listed = json.loads(ok("instances", "-f", "json").stdout)
    assert {"dandi", "dandi-sandbox"} <= {r["name"] for r in listed}
    assert [r["name"] for r in listed if r["default"]] == ["dandi"]

    ok("instances", "add", "mylab", archive.api_url, "--web", archive.url)
    ok("instances", "default", "mylab")
    rows = {r["name"]: r for r in json.loads(ok("instances", "-f", "json").stdout)}
    assert rows["mylab"]["api"] == archive.api_url and rows["mylab"]["default"]
    assert rows["mylab"]["source"] == "configured"
    assert "mylab" in ok("instances").stdout
    with Archive() as api:
        assert api.instance.name == "mylab"

    assert run("instances", "add", "dandi", archive.api_url).exit_code == 1  # built in
    ok("instances", "remove", "mylab")
    assert "mylab" not in ok("instances").stdout
    assert run("instances", "remove", "mylab").exit_code == 1


# -- the official client gives the same tree ----------------------------------------------


def _dandi_env(archive: Server, home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env[f"127.0.0.1:{archive.server.port}_API_KEY"] = archive.user_token
    env["DANDI_NO_ET"] = "1"
    env.pop("DANDI_INSTANCE", None)
    for var in ("XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        env[var] = str(home / var.lower())
    return env


def test_same_tree_as_official_client(archive: Server, seeded: Seeded, tmp_path: Path) -> None:
    url = ds_url(archive, seeded)
    theirs, ours = tmp_path / "dandi", tmp_path / "neuropil"
    theirs.mkdir()
    proc = subprocess.run(
        [*DANDI_CLI, "download", "-o", str(theirs), url],
        env=_dandi_env(archive, tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ok("download", "-o", str(ours), url)

    a, b = tree_of(theirs), tree_of(ours)
    assert sorted(a) == sorted(b)
    yaml_path = f"{seeded.identifier}/dandiset.yaml"
    # same metadata; only the header's "edit online" URL differs (ours names this archive)
    assert yaml.safe_load(a.pop(yaml_path)) == yaml.safe_load(b.pop(yaml_path))
    assert a == b
    for rel in a:  # and the same mtimes
        assert (theirs / rel).stat().st_mtime == pytest.approx((ours / rel).stat().st_mtime, abs=1)


# -- upload ----------------------------------------------------------------------------------


def _stage(tmp_path: Path, ident: str) -> Path:
    root = tmp_path / ident
    write_dandiset_yaml(root, ident)
    for rel, data in (("docs/a.txt", b"alpha"), ("docs/b.txt", b"beta" * 1000)):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    bad = root / "sub-01" / "sub-01_ses-x.nwb"
    bad.parent.mkdir()
    bad.write_bytes(b"not HDF5 at all")
    return root


def test_upload(archive: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Archive(archive.url, archive.user_token) as api:
        ds = api.create_dandiset("upload target")
        root = _stage(tmp_path, ds.identifier)
        token = ("--token", archive.user_token, "-i", archive.url)

        first = run("upload", *token, str(root))
        assert first.exit_code == 1  # the broken NWB file is refused, with its reason inline
        assert first.output.count("NWB.CANNOT_OPEN") >= 2  # as it happened and in the summary
        assert "Uploaded 2 files" in first.stdout
        assert [a.path for a in ds.assets()] == ["docs/a.txt", "docs/b.txt"]
        assert ds.asset("docs/b.txt").etag == DandiETag.from_file(root / "docs/b.txt").as_str()

        (root / "sub-01" / "sub-01_ses-x.nwb").unlink()
        monkeypatch.chdir(root / "docs")  # no paths: the current directory, yaml found above
        again = events(ok("upload", "--json", *token))
        assert again[-1]["event"] == "summary"
        assert again[-1]["skipped"] == 2 and again[-1]["done"] == 0

        (root / "docs" / "b.txt").unlink()
        refused = run("upload", "--sync", *token, str(root))
        assert refused.exit_code == 1 and "without --yes" in refused.output
        assert len(list(ds.assets())) == 2
        synced = events(ok("upload", "--sync", "--yes", "--json", *token, str(root)))
        assert synced[-1]["deleted"] == 1
        assert [a.path for a in ds.assets()] == ["docs/a.txt"]

        monkeypatch.chdir(tmp_path)
        lost = run("upload", *token)
        assert lost.exit_code == 1 and "dandiset.yaml" in lost.output
