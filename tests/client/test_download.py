"""The download engine against real server processes (and a misbehaving proxy in front)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from neuropil.client.download import (
    PARTIAL_SUFFIX,
    STATE_SUFFIX,
    BytesDone,
    DownloadReport,
    FileDone,
    FileStarted,
    ProgressEvent,
    RemoteEntry,
    download_files,
    sync_delete,
    write_dandiset_yaml,
)
from neuropil.client.upload_files import upload_file
from neuropil.http.transport import Backoff, Transport
from tests.client.proxy import Fault, Proxy, running_proxy
from tests.support.server import ServerProcess

MiB = 1 << 20
BIG = 70 * MiB  # two dandi-etag parts (64 MiB + 6 MiB)
MODIFIED = datetime(2023, 5, 17, 12, 30, 0, tzinfo=UTC)
SMALL = {"a.txt": 1, "sub/b.bin": 100_000, "sub/deep/c.bin": 5 * MiB, "empty.dat": 0}


@dataclass
class Uploaded:
    remote: RemoteEntry
    sha256: str
    blob_id: str


@dataclass
class Site:
    server: ServerProcess
    token: str
    files: dict[str, Uploaded]

    def transport(self, **kw: Any) -> Transport:
        return Transport(self.server.api_url, self.token, **kw)


class Recorder:
    """A progress callback that keeps every event."""

    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []

    def __call__(self, event: ProgressEvent) -> None:
        self.events.append(event)

    def fetched(self, path: str) -> int:
        return sum(e.n for e in self.events if isinstance(e, BytesDone) and e.path == path)

    def of(self, kind: type, path: str) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind) and e.path == path]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def upload(transport: Transport, dandiset: str, tmp: Path, name: str, data: bytes) -> Uploaded:
    src = tmp / "src" / name
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(data)
    asset = upload_file(transport, dandiset_id=dandiset, path=src, asset_path=name)
    remote = RemoteEntry(
        asset_id=asset["asset_id"],
        path=name,
        size=asset["size"],
        download_url=f"{transport.api_url}/assets/{asset['asset_id']}/download/",
        etag=asset["metadata"]["digest"]["dandi:dandi-etag"],
        sha256=asset["metadata"]["digest"].get("dandi:sha2-256"),
        modified=MODIFIED,
    )
    return Uploaded(remote, hashlib.sha256(data).hexdigest(), asset["blob"])


def new_dandiset(transport: Transport) -> str:
    return str(
        transport.post_json("dandisets/", {"name": "downloads", "metadata": {}})["identifier"]
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One server (SQLite) with the small files and one two-part blob; tests only read it,
    except the corruption test, which uploads a blob of its own."""
    tmp = tmp_path_factory.mktemp("download")
    server = ServerProcess(tmp / "data")
    token = server.add_user("admin", admin=True)
    with server, Transport(server.api_url, token) as t:
        did = new_dandiset(t)
        files = {name: upload(t, did, tmp, name, os.urandom(n)) for name, n in SMALL.items()}
        files["big.bin"] = upload(t, did, tmp, "big.bin", os.urandom(BIG))
        yield Site(server, token, files)


def items(
    site: Site, dest: Path, *names: str, proxy: Proxy | None = None
) -> list[tuple[RemoteEntry, Path]]:
    """(remote, target) pairs; with ``proxy`` the download URLs point at the proxy."""
    out = []
    for n in names:
        remote = site.files[n].remote
        if proxy is not None:
            url = remote.download_url.replace(site.server.api_url, proxy.api_url)
            remote = dataclasses.replace(remote, download_url=url)
        out.append((remote, dest / n))
    return out


def assert_verified(site: Site, dest: Path, *names: str) -> None:
    for n in names:
        target = dest / n
        assert sha256(target) == site.files[n].sha256, n
        assert abs(target.stat().st_mtime - MODIFIED.timestamp()) < 1e-3
        assert not target.with_name(target.name + PARTIAL_SUFFIX).exists()
        assert not target.with_name(target.name + STATE_SUFFIX).exists()


def test_parallel_download_verifies_and_reports_progress(site: Site, tmp_path: Path) -> None:
    names = [*SMALL, "big.bin"]
    rec = Recorder()
    with site.transport() as t:
        report = download_files(t, items(site, tmp_path, *names), jobs=3, progress=rec)
    assert report == DownloadReport(done=len(names), bytes_fetched=sum(SMALL.values()) + BIG)
    assert_verified(site, tmp_path, *names)
    for n in names:
        size = site.files[n].remote.size
        assert rec.of(FileStarted, n) == [FileStarted(n, size, 0)]
        assert rec.fetched(n) == size
        assert rec.of(FileDone, n) == [FileDone(n, "done", "")]
        # The FileDone comes last for its file.
        mine = [e for e in rec.events if e.path == n]
        assert mine[-1] == FileDone(n, "done", "")
    # Throttled: a 70 MiB file does not produce thousands of events.
    assert len(rec.of(BytesDone, "big.bin")) <= BIG // MiB + 8


def test_big_blob_uses_ranged_connections(site: Site, tmp_path: Path) -> None:
    with running_proxy(site.server.url) as proxy, Transport(proxy.api_url, site.token) as t:
        report = download_files(t, items(site, tmp_path, "big.bin", proxy=proxy), connections=4)
        ranges = sorted(s.range or "" for s in proxy.requests if "/store/" in s.path)
    assert report.ok, report.failures
    assert_verified(site, tmp_path, "big.bin")
    # One request per dandi-etag part, split exactly on the part boundary.
    assert ranges == [f"bytes=0-{64 * MiB - 1}", f"bytes={64 * MiB}-{BIG - 1}"]
    assert proxy.count(r"/download/$") == 1  # the 302 was resolved once for both ranges


@pytest.mark.parametrize(
    ("policy", "local", "mtime", "status", "replaced"),
    [
        ("error", b"x" * 100_000, None, "failed", False),
        ("skip", b"x" * 100_000, None, "skipped", False),
        ("overwrite", b"x" * 100_000, None, "done", True),
        ("overwrite-different", b"x" * 100_000, None, "done", True),
        ("overwrite-different", b"short", None, "done", True),
        ("overwrite-different", "same", None, "skipped", False),
        ("refresh", b"x" * 100_000, MODIFIED.timestamp() + 1.5, "skipped", False),
        ("refresh", b"x" * 100_000, MODIFIED.timestamp() + 60, "done", True),
        ("refresh", b"short", MODIFIED.timestamp(), "done", True),
    ],
)
def test_existing_policies(
    site: Site,
    tmp_path: Path,
    policy: str,
    local: bytes | str,
    mtime: float | None,
    status: str,
    replaced: bool,
) -> None:
    name = "sub/b.bin"
    target = tmp_path / name
    target.parent.mkdir(parents=True)
    if local == "same":
        with site.transport() as t:
            assert download_files(t, items(site, tmp_path, name)).done == 1
        os.utime(target, (time.time(), time.time()))  # only the content may decide
    else:
        assert isinstance(local, bytes)
        target.write_bytes(local)
    if mtime is not None:
        os.utime(target, (mtime, mtime))
    before = target.read_bytes()
    rec = Recorder()
    with site.transport() as t:
        report = download_files(t, items(site, tmp_path, name), existing=policy, progress=rec)
    (done,) = rec.of(FileDone, name)
    assert done.status == status, done
    if replaced:
        assert sha256(target) == site.files[name].sha256
    else:
        assert target.read_bytes() == before
    if status == "failed":
        assert "already exists" in report.failures[0].reason
        assert report.failures[0].path == name
    if status == "skipped":
        assert report.skipped == 1 and rec.fetched(name) == 0


def test_unknown_policy_is_refused(site: Site, tmp_path: Path) -> None:
    with site.transport() as t, pytest.raises(ValueError, match="existing must be one of"):
        download_files(t, items(site, tmp_path, "a.txt"), existing="clobber")


def test_corrupt_blob_is_detected_and_good_file_kept(site: Site, tmp_path: Path) -> None:
    with site.transport() as t:
        did = new_dandiset(t)
        bad = upload(t, did, tmp_path, "victim.bin", os.urandom(3 * MiB))
        dest = tmp_path / "dest"
        pair = [(bad.remote, dest / "victim.bin")]
        assert download_files(t, pair).done == 1
        key = bad.blob_id
        blob = site.server.data_dir / "store/objects/blobs" / key[:3] / key[3:6] / key
        with blob.open("r+b") as f:  # bit rot on the server's disk, same size
            f.seek(MiB)
            f.write(b"\0" * 16)
        report = download_files(t, pair, existing="overwrite")
    assert report.failed == 1
    assert "dandi-etag mismatch" in report.failures[0].reason
    assert sha256(dest / "victim.bin") == bad.sha256  # the good copy survived
    assert sorted(p.name for p in dest.iterdir()) == ["victim.bin"]  # no partial left


def test_wrong_sha256_fails_without_leftovers(site: Site, tmp_path: Path) -> None:
    good = site.files["sub/b.bin"].remote
    wrong = RemoteEntry(good.asset_id, good.path, good.size, good.download_url, good.etag, "0" * 64)
    with site.transport() as t:
        report = download_files(t, [(wrong, tmp_path / "b.bin")])
    assert report.failed == 1 and "sha256 mismatch" in report.failures[0].reason
    assert list(tmp_path.iterdir()) == []


def test_retry_after_is_honoured(site: Site, tmp_path: Path) -> None:
    with running_proxy(site.server.url) as proxy, Transport(proxy.api_url, site.token) as t:
        proxy.inject("429", r"/download/$", times=1)  # the API's redirect
        proxy.inject("429", r"^/store/", times=1)  # the blob itself
        start = time.monotonic()
        report = download_files(t, items(site, tmp_path, "sub/b.bin", proxy=proxy))
        elapsed = time.monotonic() - start
        assert proxy.count(r"", status=429) == 2
    assert report.ok, report.failures
    assert_verified(site, tmp_path, "sub/b.bin")
    # Jittered backoff alone would retry within 0.25 s; Retry-After: 1 makes it wait.
    assert elapsed >= 2.0


def test_expired_blob_url_is_resolved_again(site: Site, tmp_path: Path) -> None:
    with running_proxy(site.server.url) as proxy, Transport(proxy.api_url, site.token) as t:
        proxy.inject("403", r"^/store/", times=1)  # as S3 answers an expired signature
        report = download_files(t, items(site, tmp_path, "sub/b.bin", proxy=proxy))
        assert proxy.count(r"/download/$") == 2
    assert report.ok, report.failures
    assert_verified(site, tmp_path, "sub/b.bin")


def test_broken_stream_resumes_within_the_run(site: Site, tmp_path: Path) -> None:
    rec = Recorder()
    with running_proxy(site.server.url) as proxy, Transport(proxy.api_url, site.token) as t:
        proxy.inject("truncate", r"^/store/", times=2, after=MiB + 123)
        report = download_files(
            t, items(site, tmp_path, "sub/deep/c.bin", proxy=proxy), progress=rec
        )
        ranges = [s.range for s in proxy.requests if s.path.startswith("/store/")]
    assert report.ok, report.failures
    assert_verified(site, tmp_path, "sub/deep/c.bin")
    # Each retry asks only for what is missing, so no byte is fetched twice.
    assert rec.fetched("sub/deep/c.bin") == 5 * MiB
    assert ranges == [
        None,
        f"bytes={MiB + 123}-{5 * MiB - 1}",
        f"bytes={2 * MiB + 246}-{5 * MiB - 1}",
    ]


@pytest.mark.parametrize(
    ("fault", "message"),
    [("ignore-range", "ignored the Range header"), ("bad-content-range", "Content-Range")],
)
def test_range_violations_are_errors(
    site: Site, tmp_path: Path, fault: Fault, message: str
) -> None:
    with running_proxy(site.server.url) as proxy, Transport(proxy.api_url, site.token) as t:
        proxy.inject(fault, r"^/store/", times=10)
        report = download_files(t, items(site, tmp_path, "big.bin", proxy=proxy))
    assert report.failed == 1 and message in report.failures[0].reason
    assert not (tmp_path / "big.bin").exists()


def test_resume_after_server_killed(fresh_server: ServerProcess, tmp_path: Path) -> None:
    token = fresh_server.add_user("admin", admin=True)
    fresh_server.start()
    quick = Backoff(attempts=3, base=0.05, cap=0.2)  # give up fast while the server is down
    with Transport(fresh_server.api_url, token, backoff=quick) as t:
        big = upload(t, new_dandiset(t), tmp_path, "big.bin", os.urandom(BIG))
    target = tmp_path / "out" / "big.bin"
    arrived, killed = threading.Event(), threading.Event()

    def stall(event: ProgressEvent) -> None:
        first.events.append(event)
        if first.fetched("big.bin") >= 16 * MiB and not arrived.is_set():
            arrived.set()
            killed.wait(30)  # hold the download here until the server is dead

    first = Recorder()
    results: list[DownloadReport] = []
    with Transport(fresh_server.api_url, token, backoff=quick) as t:
        worker = threading.Thread(
            target=lambda: results.append(download_files(t, [(big.remote, target)], progress=stall))
        )
        worker.start()
        assert arrived.wait(60)
        fresh_server.kill()
        killed.set()
        worker.join(60)
    assert results[0].failed == 1, results
    state = json.loads(target.with_name("big.bin" + STATE_SUFFIX).read_text())
    assert state["etag"] == big.remote.etag and state["ranges"]
    assert not target.exists()

    fresh_server.start()  # same port, same data; existing="error" still resumes a partial
    second = Recorder()
    with Transport(fresh_server.api_url, token) as t:
        report = download_files(t, [(big.remote, target)], progress=second)
    assert report.ok, report.failures
    assert sha256(target) == big.sha256
    (started,) = second.of(FileStarted, "big.bin")
    fetched = second.fetched("big.bin")
    assert started.resumed >= 16 * MiB
    assert started.resumed + fetched == BIG  # only the missing ranges were fetched
    assert fetched < BIG
    assert not target.with_name("big.bin" + PARTIAL_SUFFIX).exists()
    assert not target.with_name("big.bin" + STATE_SUFFIX).exists()


def test_partial_for_other_content_starts_over(site: Site, tmp_path: Path) -> None:
    name = "sub/deep/c.bin"
    target = tmp_path / name
    target.parent.mkdir(parents=True)
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    partial.write_bytes(b"junk" * 1000)
    state = {"version": 1, "size": 5 * MiB, "etag": "0" * 32 + "-1", "ranges": [[0, 4000]]}
    target.with_name(target.name + STATE_SUFFIX).write_text(json.dumps(state))
    rec = Recorder()
    with site.transport() as t:
        report = download_files(t, items(site, tmp_path, name), progress=rec)
    assert report.ok, report.failures
    assert rec.of(FileStarted, name)[0].resumed == 0
    assert_verified(site, tmp_path, name)


def test_dandiset_yaml(tmp_path: Path) -> None:
    md = {"identifier": "DANDI:000123", "name": "Tést", "contributor": [{"name": "A"}]}
    assert write_dandiset_yaml(tmp_path, md, "https://gui.example.org", modified=MODIFIED)
    text = (tmp_path / "dandiset.yaml").read_text()
    assert text.startswith("# DO NOT EDIT THIS FILE LOCALLY.")
    assert "# It can be edited online at https://gui.example.org/dandiset/000123\n" in text
    assert "dandiarchive.org" not in text
    assert "- name: A" in text and "{" not in text  # block style
    assert yaml.safe_load(text) == md
    assert (tmp_path / "dandiset.yaml").stat().st_mtime == MODIFIED.timestamp()
    assert not write_dandiset_yaml(tmp_path, md, "https://gui.example.org")  # no change
    assert write_dandiset_yaml(tmp_path, {**md, "name": "new"}, "https://gui.example.org")


def test_sync_delete_lists_only_stray_files(tmp_path: Path) -> None:
    for rel in [
        "keep.nwb",
        "sub/keep2.nwb",
        "sub/stray.nwb",
        "stray.txt",
        "dandiset.yaml",
        "sub/x.nwb.npdownload",
        "sub/x.nwb.npdownload.json",
        ".git/config",
        "sub/.hidden",
        "a.nwb.dandidownload/file",
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    keep = {tmp_path / "keep.nwb", tmp_path / "sub" / "keep2.nwb"}
    assert sync_delete(tmp_path, keep) == [tmp_path / "stray.txt", tmp_path / "sub/stray.nwb"]
