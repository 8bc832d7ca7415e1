"""The upload engine against real server processes, counting bytes through a proxy.

Also the neuropil-only resume endpoints (``GET /api/uploads/``, ``GET /api/uploads/{id}/``)
and the digest cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from neuropil.client.digest_cache import Digest, DigestCache, Fingerprint, compute_digest
from neuropil.client.events import (
    ByteCounter,
    BytesDone,
    Emitter,
    FileDone,
    FileStarted,
    ProgressEvent,
)
from neuropil.client.upload_files import UploadReport, upload_paths
from neuropil.client.upload_plan import micros, parse_time
from neuropil.client.upload_protocol import BlobResult, BlobSender, BlobUploadError
from neuropil.core.digests import file_etag
from neuropil.errors import LocalFileError
from neuropil.http.transport import Backoff, Transport
from tests.client.proxy import Proxy, running_proxy
from tests.conftest import Archive
from tests.support.nwb import NwbSet, make_organized_set, stage_dandiset, write_dandiset_yaml
from tests.support.server import ServerProcess

MiB = 1 << 20
TWO_PARTS = 64 * MiB + 1  # dandi-etag parts of 64 MiB and 1 byte
STORE_PUT = r"^/store/.*partNumber="
#: Files older than the digest cache's freshness window, so their digests are cached.
OLD = time.time() - 3600


@dataclass
class Site:
    server: ServerProcess
    admin: str
    proxy: Proxy

    def transport(self, **kw: Any) -> Transport:
        """A transport through the proxy, which counts every request and byte."""
        return Transport(self.proxy.api_url, self.admin, **kw)

    def new_dandiset(self) -> str:
        with self.transport() as t:
            body = t.post_json("dandisets/", {"name": f"up-{uuid.uuid4().hex[:8]}", "metadata": {}})
        return str(body["identifier"])

    def assets(self, dandiset: str) -> dict[str, dict[str, Any]]:
        with self.transport() as t:
            items = t.paginate(f"dandisets/{dandiset}/versions/draft/assets/", {"metadata": "true"})
            return {a["path"]: a for a in items}

    def store_puts(self) -> int:
        return self.proxy.count(STORE_PUT)


class Recorder:
    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []

    def __call__(self, event: ProgressEvent) -> None:
        self.events.append(event)

    def done(self, path: str) -> FileDone:
        (event,) = [e for e in self.events if isinstance(e, FileDone) and e.path == path]
        return event


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("upload")
    server = ServerProcess(tmp / "data")
    admin = server.add_user("admin", admin=True)
    with server, running_proxy(server.url) as proxy:
        yield Site(server, admin, proxy)


@pytest.fixture(scope="module")
def nwb(tmp_path_factory: pytest.TempPathFactory) -> NwbSet:
    return make_organized_set(tmp_path_factory.mktemp("nwb"))


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test starts with an empty digest cache of its own."""
    path = tmp_path / "cache"
    monkeypatch.setenv("NEUROPIL_CACHE_DIR", str(path))
    return path


def stage(root: Path, dandiset: str, files: dict[str, bytes], mtime: float = OLD) -> Path:
    write_dandiset_yaml(root, dandiset)
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (mtime, mtime))
    return root


def age(root: Path, mtime: float = OLD) -> None:
    for path in root.rglob("*"):
        if path.is_file() and path.name != "dandiset.yaml":
            os.utime(path, (mtime, mtime))


def upload(site: Site, dandiset: str, root: Path, **kw: Any) -> UploadReport:
    with site.transport() as t:
        return upload_paths(t, dandiset_id=dandiset, dandiset_root=root, **kw)


def skipped(report: UploadReport) -> dict[str, str]:
    return {s.path: s.reason for s in report.skipped}


def failed(report: UploadReport) -> dict[str, tuple[str, ...]]:
    return {f.path: f.reasons for f in report.failed}


# -- the whole folder, then again -------------------------------------------------------------


def test_upload_nwb_folder_then_reupload_sends_no_bytes(
    site: Site, nwb: NwbSet, tmp_path: Path
) -> None:
    dandiset = site.new_dandiset()
    local = stage_dandiset(nwb, tmp_path / "ds", dandiset)
    age(local.root)
    (local.root / ".git").mkdir()
    (local.root / ".git" / "config").write_text("dot folders are not uploaded")
    (local.root / "sub-mouse01" / "x.nwb.npdownload").write_text("partial")
    rec = Recorder()

    puts = site.store_puts()
    first = upload(site, dandiset, local.root, progress=rec)
    assert first.ok, first.failed
    assert sorted(first.uploaded) == local.asset_paths
    assert first.findings == []
    assert "online" in skipped(first)["dandiset.yaml"]
    assert "partial download" in skipped(first)["sub-mouse01/x.nwb.npdownload"]
    assert first.bytes_sent == sum(p.stat().st_size for p in local.files)
    assert site.store_puts() - puts == len(local.files)
    assert first.digests_computed == 2 and first.digest_cache_hits == 0
    for path in local.asset_paths:
        assert rec.done(path).status == "done"
        assert any(isinstance(e, FileStarted) and e.path == path for e in rec.events)
    sent = sum(e.n for e in rec.events if isinstance(e, BytesDone))
    assert sent == first.bytes_sent

    remote = site.assets(dandiset)
    assert sorted(remote) == local.asset_paths
    for path, asset in remote.items():
        md = asset["metadata"]
        assert md["digest"]["dandi:dandi-etag"] == file_etag(local.local(path))
        assert md["encodingFormat"] == "application/x-nwb"
        assert md["contentSize"] == local.local(path).stat().st_size
        blob_modified = parse_time(md["blobDateModified"])
        assert blob_modified is not None
        assert micros(blob_modified) == local.local(path).stat().st_mtime_ns // 1000

    # refresh (the default): the draft's copies are as new, nothing is read or sent.
    puts = site.store_puts()
    again = upload(site, dandiset, local.root)
    assert again.ok and not again.uploaded and not again.deduplicated
    assert all("existing=refresh" in skipped(again)[p] for p in local.asset_paths)
    assert again.bytes_sent == 0 and site.store_puts() == puts
    assert again.digests_computed == 0

    # force: the assets are made again, from the blobs the archive already has (409).
    forced = upload(site, dandiset, local.root, existing="force")
    assert forced.ok, forced.failed
    assert sorted(forced.deduplicated) == local.asset_paths and not forced.uploaded
    assert forced.bytes_sent == 0 and site.store_puts() == puts
    # The digests come from the cache: not one file was read again.
    assert forced.digest_cache_hits == 2 and forced.digests_computed == 0


# -- existing policies ----------------------------------------------------------------------------

FILES = {
    "same.txt": b"unchanged",
    "newer.txt": b"will change, newer",
    "older.txt": b"will change, older",
}
EXPECTED = {
    # policy: outcome of same.txt, newer.txt (changed, newer mtime), older.txt (changed,
    # older mtime), new.txt (not in the draft)
    "error": ("failed", "failed", "failed", "uploaded"),
    "skip": ("skipped", "skipped", "skipped", "uploaded"),
    "force": ("deduplicated", "uploaded", "uploaded", "uploaded"),
    "overwrite": ("skipped", "uploaded", "uploaded", "uploaded"),
    "refresh": ("skipped", "uploaded", "skipped", "uploaded"),
}


def outcome(report: UploadReport, path: str) -> str:
    kinds = {
        "uploaded": report.uploaded,
        "deduplicated": report.deduplicated,
        "skipped": [s.path for s in report.skipped],
        "failed": [f.path for f in report.failed],
    }
    (kind,) = [k for k, paths in kinds.items() if path in paths]
    return kind


@pytest.mark.parametrize("policy", list(EXPECTED))
def test_existing_policy(site: Site, tmp_path: Path, policy: str) -> None:
    dandiset = site.new_dandiset()
    salt = uuid.uuid4().bytes  # content unique to this test: no dedup with other tests
    root = stage(tmp_path / "ds", dandiset, {n: d + salt for n, d in FILES.items()})
    assert upload(site, dandiset, root).ok
    stage(root, dandiset, {"newer.txt": b"changed content, newer" + salt}, mtime=OLD + 60)
    stage(root, dandiset, {"older.txt": b"changed content, older" + salt}, mtime=OLD - 60)
    stage(root, dandiset, {"new.txt": b"brand new" + salt})

    report = upload(site, dandiset, root, existing=policy)

    names = ["same.txt", "newer.txt", "older.txt", "new.txt"]
    assert tuple(outcome(report, n) for n in names) == EXPECTED[policy]
    if policy == "error":
        assert "already exists in the draft" in failed(report)["same.txt"][0]
    remote = site.assets(dandiset)
    for name in names:
        etag = remote[name]["metadata"]["digest"]["dandi:dandi-etag"]
        sent = outcome(report, name) in ("uploaded", "deduplicated")
        assert (etag == file_etag(root / name)) == (sent or name == "same.txt"), name


# -- sync ----------------------------------------------------------------------------------------


def test_sync_deletes_remote_only_assets_when_confirmed(site: Site, tmp_path: Path) -> None:
    dandiset = site.new_dandiset()
    files = {"keep/a.txt": b"a", "keep/b.txt": b"b", "other/c.txt": b"c", "keep/0.txt": b""}
    root = stage(tmp_path / "ds", dandiset, files)
    first = upload(site, dandiset, root)
    assert first.ok, first.failed  # an empty file too (the DANDI Archive refuses those)
    (root / "keep" / "b.txt").unlink()
    (root / "other" / "c.txt").unlink()
    asked: list[list[str]] = []

    def no(paths: list[str]) -> bool:
        asked.append(paths)
        return False

    declined = upload(site, dandiset, root, paths=[root / "keep"], sync=True, confirm_delete=no)
    assert declined.ok and asked == [["keep/b.txt"]]  # other/ is outside the scope
    assert declined.sync_declined == ["keep/b.txt"] and not declined.deleted
    assert sorted(site.assets(dandiset)) == sorted(files)

    done = upload(
        site, dandiset, root, paths=[root / "keep"], sync=True, confirm_delete=lambda p: True
    )
    assert done.deleted == ["keep/b.txt"]
    assert sorted(site.assets(dandiset)) == ["keep/0.txt", "keep/a.txt", "other/c.txt"]

    # The whole dandiset, no confirmation callback: deleted without asking.
    everything = upload(site, dandiset, root, sync=True)
    assert everything.deleted == ["other/c.txt"]
    assert sorted(site.assets(dandiset)) == ["keep/0.txt", "keep/a.txt"]


# -- validation ----------------------------------------------------------------------------------


def test_validation_require_refuses_with_every_reason(
    site: Site, nwb: NwbSet, tmp_path: Path
) -> None:
    dandiset = site.new_dandiset()
    root = tmp_path / "ds"
    write_dandiset_yaml(root, dandiset)
    good = nwb.local(nwb.asset_paths[0])
    for name in (nwb.asset_paths[0], "recording.nwb", "sub-mouse01/session one.nwb"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(good, root / name)
    (root / "sub-mouse02").mkdir()
    (root / "sub-mouse02" / "sub-mouse02.nwb").write_bytes(b"not HDF5 at all")
    age(root)
    rec = Recorder()

    report = upload(site, dandiset, root, progress=rec)

    assert report.uploaded + report.deduplicated == [nwb.asset_paths[0]]
    reasons = failed(report)
    assert sorted(reasons) == [
        "recording.nwb",
        "sub-mouse01/session one.nwb",
        "sub-mouse02/sub-mouse02.nwb",
    ]
    # Both layout errors of recording.nwb are listed, each naming what to fix.
    assert len(reasons["recording.nwb"]) == 2
    assert "DANDI.NON_DANDI_FILENAME" in reasons["recording.nwb"][0]
    assert "'recording.nwb'" in reasons["recording.nwb"][0]
    assert "DANDI.NON_DANDI_FOLDERNAME" in reasons["recording.nwb"][1]
    assert "NWB.CANNOT_OPEN" in reasons["sub-mouse02/sub-mouse02.nwb"][0]
    message = rec.done("recording.nwb").message
    assert "NON_DANDI_FILENAME" in message and "NON_DANDI_FOLDERNAME" in message
    assert sorted(site.assets(dandiset)) == [nwb.asset_paths[0]]

    ignored = upload(site, dandiset, root, validation="ignore")
    assert sorted(ignored.uploaded + ignored.deduplicated) == sorted(reasons)
    assert {f.path for f in ignored.findings} == set(reasons)

    skipped_run = upload(site, dandiset, root, validation="skip", existing="force")
    assert skipped_run.findings == [] and skipped_run.ok


def test_dandiset_yaml_must_name_the_dandiset(site: Site, tmp_path: Path) -> None:
    dandiset = site.new_dandiset()
    root = stage(tmp_path / "ds", "000999" if dandiset != "000999" else "000998", {"a.txt": b"a"})
    with pytest.raises(LocalFileError, match=r"dandiset\.yaml is for dandiset"):
        upload(site, dandiset, root)
    (root / "dandiset.yaml").unlink()
    with pytest.raises(LocalFileError, match="Cannot read"):
        upload(site, dandiset, root)


# -- resume ----------------------------------------------------------------------------------------


def test_resume_sends_only_the_missing_parts(fresh_server: ServerProcess, tmp_path: Path) -> None:
    token = fresh_server.add_user("admin", admin=True)
    fresh_server.start()
    with running_proxy(fresh_server.url) as proxy:
        site = Site(fresh_server, token, proxy)
        dandiset = site.new_dandiset()
        data = os.urandom(TWO_PARTS)
        root = stage(tmp_path / "ds", dandiset, {"big.bin": data})
        quick = Backoff(attempts=3, base=0.05, cap=0.2)  # give up fast while the server is down
        arrived, killed = threading.Event(), threading.Event()
        sent = 0

        def stall(event: ProgressEvent) -> None:
            nonlocal sent
            if isinstance(event, BytesDone):
                sent += event.n
                if sent >= 64 * MiB and not arrived.is_set():
                    arrived.set()  # part 1 is on the wire: hold here until the server is dead
                    killed.wait(60)

        results: list[UploadReport] = []

        def first_run() -> None:
            with site.transport(backoff=quick) as t:
                results.append(
                    upload_paths(
                        t, dandiset_id=dandiset, dandiset_root=root, part_jobs=1, progress=stall
                    )
                )

        worker = threading.Thread(target=first_run)
        worker.start()
        assert arrived.wait(60)
        deadline = time.monotonic() + 30
        while proxy.count(r"partNumber=1", status=200) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)  # the server stored part 1 and answered
        fresh_server.kill()
        killed.set()
        worker.join(60)
        assert [f.path for f in results[0].failed] == ["big.bin"]

        fresh_server.start()  # same port, same data: the upload and its first part survive
        puts = proxy.count(STORE_PUT)
        rec = Recorder()
        report = upload(site, dandiset, root, progress=rec)
        assert report.ok, report.failed
        assert report.uploaded == ["big.bin"]
        assert report.bytes_sent == 1 and report.bytes_resumed == 64 * MiB
        assert proxy.count(STORE_PUT) - puts == 1
        assert proxy.requests[-1].path.startswith("/api/dandisets/")  # the asset came last
        (started,) = [e for e in rec.events if isinstance(e, FileStarted)]
        assert started.resumed == 64 * MiB
        assert "resumed" in rec.done("big.bin").message
        asset = site.assets(dandiset)["big.bin"]
        # The server checked the assembled object against this etag before accepting it.
        assert asset["metadata"]["digest"]["dandi:dandi-etag"] == file_etag(root / "big.bin")


# -- the resume endpoints ------------------------------------------------------------------------


def _start_upload(c: httpx.Client, dandiset: str, etag: str) -> dict[str, Any]:
    r = c.post(
        "uploads/initialize/",
        json={
            "contentSize": TWO_PARTS,
            "digest": {"algorithm": "dandi:dandi-etag", "value": etag},
            "dandiset": dandiset,
        },
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_resume_endpoints(archive: Archive) -> None:
    base = archive.api_url.rstrip("/") + "/"
    etag = f"{uuid.uuid4().hex}-2"
    with (
        httpx.Client(
            base_url=base, headers={"Authorization": f"token {archive.admin_token}"}
        ) as admin,
        httpx.Client(
            base_url=base, headers={"Authorization": f"token {archive.user_token}"}
        ) as alice,
        httpx.Client(base_url=base) as anon,
    ):
        dandiset = admin.post("dandisets/", json={"name": uuid.uuid4().hex, "metadata": {}}).json()[
            "identifier"
        ]
        init = _start_upload(admin, dandiset, etag)
        upload_id = init["upload_id"]
        last = init["parts"][1]
        assert httpx.put(last["upload_url"], content=b"x").status_code == 200

        listed = admin.get("uploads/", params={"dandiset": dandiset, "etag": etag})
        assert listed.status_code == 200, listed.text
        assert [u["upload_id"] for u in listed.json()["results"]] == [upload_id]
        assert listed.json()["results"][0]["size"] == TWO_PARTS
        other = admin.get("uploads/", params={"dandiset": dandiset, "etag": f"{'0' * 32}-2"})
        assert other.json()["results"] == []

        detail = admin.get(f"uploads/{upload_id}/")
        assert detail.status_code == 200, detail.text
        parts = detail.json()["parts"]
        assert [(p["part_number"], p["size"], p["uploaded"]) for p in parts] == [
            (1, 64 * MiB, False),
            (2, 1, True),
        ]
        assert parts[1]["etag"] == hashlib.md5(b"x").hexdigest() and "etag" not in parts[0]
        # The fresh URL works: the part can be sent again.
        assert httpx.put(parts[1]["upload_url"], content=b"x").status_code == 200

        # alice does not own the dandiset: 403, as for initialize; anonymous: 401.
        assert alice.get(f"uploads/{upload_id}/").status_code == 403
        assert alice.get("uploads/", params={"dandiset": dandiset, "etag": etag}).status_code == 403
        assert anon.get(f"uploads/{upload_id}/").status_code == 401
        assert anon.get("uploads/", params={"dandiset": dandiset, "etag": etag}).status_code == 401
        # Unknown ids are 404; a listing needs a dandiset and a well-formed etag.
        assert admin.get(f"uploads/{uuid.uuid4()}/").status_code == 404
        assert admin.get("uploads/not-a-uuid/").status_code == 404
        assert admin.get("uploads/", params={"etag": etag}).status_code == 400
        assert admin.get("uploads/", params={"dandiset": dandiset, "etag": "x"}).status_code == 400
        assert admin.get("uploads/", params={"dandiset": "999999", "etag": etag}).status_code == 404

        # DANDI's endpoints are unchanged: the upload is still cancellable, then gone.
        assert admin.delete(f"uploads/{upload_id}/").status_code == 204
        assert admin.get(f"uploads/{upload_id}/").status_code == 404


def test_resume_endpoints_show_only_the_callers_uploads(archive: Archive) -> None:
    """Another owner's upload of the same content is neither listed nor readable."""
    base = archive.api_url.rstrip("/") + "/"
    etag = f"{uuid.uuid4().hex}-2"
    with (
        httpx.Client(
            base_url=base, headers={"Authorization": f"token {archive.admin_token}"}
        ) as admin,
        httpx.Client(
            base_url=base, headers={"Authorization": f"token {archive.user_token}"}
        ) as alice,
    ):
        dandiset = alice.post("dandisets/", json={"name": uuid.uuid4().hex, "metadata": {}}).json()[
            "identifier"
        ]
        mine = _start_upload(alice, dandiset, etag)["upload_id"]
        admins = _start_upload(admin, dandiset, etag)["upload_id"]
        listed = alice.get("uploads/", params={"dandiset": dandiset, "etag": etag}).json()
        assert [u["upload_id"] for u in listed["results"]] == [mine]
        assert alice.get(f"uploads/{admins}/").status_code == 403
        for upload_id, c in ((mine, alice), (admins, admin)):
            assert c.delete(f"uploads/{upload_id}/").status_code == 204


# -- the digest cache ---------------------------------------------------------------------------


def test_digest_cache(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc" * 1000)
    with DigestCache(tmp_path / "cache") as cache:
        fresh, _ = cache.digest(path)  # just written: hashed, not remembered
        assert cache.computed == 1
        cache.digest(path)
        assert cache.computed == 2 and cache.hits == 0
        os.utime(path, (OLD, OLD))
        cache.digest(path)
        digest, fp = cache.digest(path)
        assert (cache.computed, cache.hits) == (3, 1)
        assert digest == fresh == compute_digest(path, fp.size)
        assert digest.etag == file_etag(path)
    # A second process (here: a second connection) sees the entry; a change misses it.
    with DigestCache(tmp_path / "cache") as other:
        assert other.lookup(Fingerprint.of(path)) == digest
        path.write_bytes(b"abd" * 1000)
        os.utime(path, (OLD, OLD))
        assert other.lookup(Fingerprint.of(path)) is None
        assert other.digest(path)[0].etag == file_etag(path)


# -- part ETag checks (a scripted server) ------------------------------------------------------


class ScriptedArchive:
    """Answers the upload protocol in-process; the first ``bad_etags`` part PUTs get a
    wrong ETag, as a store that corrupted the bytes would answer."""

    def __init__(self, bad_etags: int) -> None:
        self.bad_etags = bad_etags
        self.puts: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/uploads/" and request.method == "GET":
            return httpx.Response(404, json={"detail": "Not Found"})  # a DANDI server
        if path == "/api/uploads/initialize/":
            size = json.loads(request.content)["contentSize"]
            url = "http://store/part?n="
            return httpx.Response(
                200,
                json={
                    "upload_id": "u1",
                    "parts": [{"part_number": 1, "size": size, "upload_url": f"{url}1"}],
                },
            )
        if path == "/part":
            body = request.read()
            self.puts.append(len(body))
            etag = hashlib.md5(body).hexdigest()
            if self.bad_etags:
                self.bad_etags -= 1
                etag = "0" * 32
            return httpx.Response(200, headers={"ETag": f'"{etag}"'})
        if path == "/api/uploads/u1/complete/":
            return httpx.Response(200, json={"complete_url": "http://store/done", "body": "<x/>"})
        if path == "/done":
            return httpx.Response(200, text="<CompleteMultipartUploadResult/>")
        if path == "/api/uploads/u1/validate/":
            return httpx.Response(200, json={"blob_id": "b1"})
        return httpx.Response(500, text=f"unexpected {request.method} {path}")


def _send(tmp_path: Path, archive: ScriptedArchive, digest_of: bytes | None = None) -> BlobResult:
    path = tmp_path / "f.bin"
    path.write_bytes(b"payload")
    digest = compute_digest(path, 7)
    if digest_of is not None:  # what the file held when it was hashed
        digest = Digest(digest.etag, (hashlib.md5(digest_of).hexdigest(),), 7)
    with Transport("http://archive/api", "t", transport=httpx.MockTransport(archive)) as t:
        sender = BlobSender(t, dandiset_id="000001", part_jobs=2, abort=threading.Event())
        counter = ByteCounter("f.bin", Emitter(None))
        return sender.send(path, digest, counter)


def test_part_with_a_wrong_etag_is_sent_again(tmp_path: Path) -> None:
    archive = ScriptedArchive(bad_etags=2)
    assert _send(tmp_path, archive).blob_id == "b1"
    assert archive.puts == [7, 7, 7]


def test_part_etag_never_right_fails_the_file(tmp_path: Path) -> None:
    with pytest.raises(BlobUploadError, match="instead of its md5"):
        _send(tmp_path, ScriptedArchive(bad_etags=10))


def test_file_changed_after_hashing_fails_the_file(tmp_path: Path) -> None:
    archive = ScriptedArchive(bad_etags=0)
    with pytest.raises(BlobUploadError, match="changed while it was uploaded"):
        _send(tmp_path, archive, digest_of=b"PAYLOAD")
    assert archive.puts == [7]  # not sent again: the bytes on disk are not the hashed ones


def test_digest_cache_shared_by_concurrent_writers(tmp_path: Path) -> None:
    """Several caches on one file (as parallel uploads in other processes) lose nothing."""
    files = []
    for i in range(40):
        path = tmp_path / f"f{i}.bin"
        path.write_bytes(os.urandom(100))
        os.utime(path, (OLD, OLD))
        files.append(path)

    def work(chunk: list[Path]) -> None:
        with DigestCache(tmp_path / "cache") as cache:
            for path in chunk:
                cache.digest(path)

    threads = [threading.Thread(target=work, args=(files[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with DigestCache(tmp_path / "cache") as cache:
        for path in files:
            assert cache.lookup(Fingerprint.of(path)) is not None, path
