"""The scale-out deployment of docs/deployment.md, on this machine, used by the official client.

Started here: a fresh PostgreSQL database; an S3 server (moto, or ``NEUROPIL_TEST_S3_URL``'s;
tests/support/s3.py); ``neuropil serve --workers 2`` (two API processes) with
``NEUROPIL_JOBS=procrastinate`` and ``NEUROPIL_STORAGE_URL=s3://...``; one ``neuropil worker``
(:mod:`tests.jobs.slow_worker`: the real command, whose sha256 job can be held). Then the
official ``dandi`` client's flow: create, upload (the parts go to S3), re-upload (dedup, 409),
download (identical bytes), validation to Valid and publish (the worker's jobs), streaming with
``remfile`` from the S3 URL; failed sign-ins over both API processes share one budget; and
a worker SIGKILLed in the middle of a job, whose job a second worker completes once.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import h5py
import httpx
import numpy as np
import pytest
import remfile
from dandi.dandiapi import DandiAPIClient, RemoteBlobAsset
from dandi.support.digests import get_dandietag

from tests.api.helpers import sha256_hex, wait_for
from tests.conftest import Archive
from tests.support import postgres
from tests.support.nwb import make_organized_set, sha256_file, stage_dandiset
from tests.support.processes import Connection, children
from tests.support.s3 import s3_server
from tests.support.server import ServerProcess
from tests.support.workers import Worker, job_rows, starts
from tests.test_official_client import METADATA, SERIES
from tests.test_official_client_s3 import PREFIX, S3Archive, md5_etag, upload_directly
from tests.web.helpers import WebClient, csrf_token, text

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore")]  # (pynwb/hdmf chatter)

ACCOUNT_LIMIT, ADDRESS_LIMIT = 3, 5


@dataclass
class Deployment:
    """The running processes, and the dandiset ``dandi upload`` filled."""

    site: S3Archive
    db_url: str
    #: The held sha256 jobs' log (``start``/``done``, blob, worker pid) and the hold file.
    starts_log: Path
    hold: Path
    workers: list[Worker] = field(default_factory=list)

    @property
    def server(self) -> ServerProcess:
        return self.site.archive.server

    def client(self) -> DandiAPIClient:
        return DandiAPIClient(self.site.archive.api_url, token=self.site.archive.user_token)

    def start_worker(self) -> Worker:
        worker = Worker(self.server, self.starts_log, self.hold)
        self.workers.append(worker)
        return worker


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    postgres.require()
    tmp = tmp_path_factory.mktemp("deployment")
    with postgres.fresh_database() as db_url, s3_server(tmp) as s3:
        bucket = s3.new_bucket()
        s3.allow_public_read(bucket, PREFIX)
        env = {
            "NEUROPIL_JOBS": "procrastinate",
            "NEUROPIL_JOB_LEASE": "3",  # a dead worker's job runs again within seconds
            "NEUROPIL_STORAGE_URL": f"s3://{bucket}/{PREFIX}",
            "NEUROPIL_SIGNIN_FAILURES_PER_ACCOUNT": str(ACCOUNT_LIMIT),
            "NEUROPIL_SIGNIN_FAILURES_PER_ADDRESS": str(ADDRESS_LIMIT),
            **s3.env(),
        }
        server = ServerProcess(
            tmp / "data", database_url=db_url, env=env, serve_args=["--workers", "2"]
        )
        user = server.add_user("alice")  # (each CLI run costs seconds: no admin needed)
        with server:
            archive = Archive(server, user, user, "postgres")
            with DandiAPIClient(archive.api_url, token=user) as c:
                ds = c.create_dandiset(f"deployed {uuid.uuid4().hex[:8]}", METADATA)
            nwb = make_organized_set(tmp / "nwb")
            staged = stage_dandiset(nwb, tmp / "upload" / ds.identifier, ds.identifier)
            site = S3Archive(archive, s3, bucket, ds.identifier, staged, tmp / "dandi-home")
            found = Deployment(site, db_url, tmp / "starts.log", tmp / "hold")
            try:
                found.start_worker()
                site.dandi().upload(staged.root)
                yield found
            finally:
                for worker in found.workers:
                    worker.stop()


def _assets(client: DandiAPIClient, identifier: str, version: str) -> dict[str, RemoteBlobAsset]:
    ds = client.get_dandiset(identifier, version)
    return {a.path: a for a in ds.get_assets() if isinstance(a, RemoteBlobAsset)}


def _blob(client: DandiAPIClient, etag: str) -> dict[str, Any]:
    found: dict[str, Any] = client.post(
        "/blobs/digest/", json={"algorithm": "dandi:dandi-etag", "value": etag}
    )
    return found


def _hashed(client: DandiAPIClient, etag: str) -> dict[str, Any] | None:
    """The blob of ``etag`` once its sha256 is known."""
    blob = _blob(client, etag)
    return blob if blob["sha256"] else None


# -- the processes ----------------------------------------------------------------------------
def test_two_api_processes_and_a_worker_run(deployment: Deployment) -> None:
    proc = deployment.server.proc
    assert proc is not None and len(children(proc.pid)) >= 2
    r = httpx.get(f"{deployment.site.archive.api_url}/info/")
    assert r.status_code == 200
    worker = deployment.workers[0]
    assert worker.proc.poll() is None
    log = (deployment.server.data_dir.parent / "workers.log").read_text()
    assert f"neuropil worker {worker.pid}: procrastinate jobs" in log


# -- upload, dedup, download --------------------------------------------------------------------
def test_dandi_upload_sends_the_parts_to_s3_and_reupload_is_deduplicated(
    deployment: Deployment,
) -> None:
    site = deployment.site
    with deployment.client() as client:
        assets = _assets(client, site.identifier, "draft")
    assert sorted(assets) == site.local.asset_paths
    objects = site.objects()
    assert sorted(objects.values()) == sorted(
        get_dandietag(site.local.local(p)).as_str() for p in assets
    )
    # No byte passed through neuropil: no local store, the parts went to the bucket.
    assert not (deployment.server.data_dir / "store").exists()
    puts = len(site.part_puts())
    if site.s3.moto:
        assert puts == len(assets)  # each file is one part (< 64 MiB)

    site.dandi().upload(site.local.root, "-e", "force")
    assert site.objects() == objects and len(site.part_puts()) == puts
    path = site.local.asset_paths[0]
    local = site.local.local(path)
    r = httpx.post(
        f"{site.archive.api_url}/uploads/initialize/",
        json={
            "contentSize": local.stat().st_size,
            "digest": {"algorithm": "dandi:dandi-etag", "value": get_dandietag(local).as_str()},
            "dandiset": site.identifier,
        },
        headers={"Authorization": f"token {site.archive.user_token}"},
    )
    assert r.status_code == 409
    assert r.headers["location"] == assets[path].blob


def test_dandi_download_gives_identical_bytes(deployment: Deployment, tmp_path: Path) -> None:
    site = deployment.site
    site.dandi().run("download", "-o", str(tmp_path), site.url)
    for path, digest in site.local.digests().items():
        assert sha256_file(tmp_path / site.identifier / path) == digest, path


# -- the worker's jobs: sha256, validation, publishing; then streaming ----------------------------
def test_the_worker_hashes_validates_and_publishes(deployment: Deployment) -> None:
    site, worker = deployment.site, deployment.workers[0]
    with deployment.client() as client:
        blob_ids = []
        for path in site.local.asset_paths:
            local = site.local.local(path)
            blob = wait_for(partial(_hashed, client, get_dandietag(local).as_str()), timeout=60)
            assert blob["sha256"] == sha256_file(local)
            blob_ids.append(str(blob["blob_id"]))
        # The worker ran each sha256 job (API processes run none with procrastinate).
        ran = [(what, pid) for what, blob, pid in starts(deployment.starts_log) if blob in blob_ids]
        assert sorted(ran) == sorted([("done", worker.pid), ("start", worker.pid)] * len(blob_ids))

        ds = client.get_dandiset(site.identifier, "draft")
        ds.wait_until_valid(max_time=60)
        published = ds.publish(max_time=60)
        assert published.version.status.value == "Valid"
        assert published.version.asset_count == len(site.local.asset_paths)
    rows = job_rows(deployment.db_url, "procrastinate")
    kinds = {"blob.sha256", "blob.index", "assets.validate", "version.validate", "version.publish"}
    assert {kind for kind, _, status, _ in rows if status == "succeeded"} >= kinds
    assert not [r for r in rows if r[2] == "failed"], rows


def test_remfile_streams_the_published_asset_from_s3(deployment: Deployment) -> None:
    site = deployment.site
    with deployment.client() as client:
        version = client.get_dandiset(site.identifier).version_id  # the latest release
        assert version != "draft", "published by the test before"
        path = site.local.asset_paths[0]
        asset = _assets(client, site.identifier, version)[path]
    bucket_url = f"{site.s3.endpoint}/{site.bucket}/{PREFIX}/blobs/"
    (url,) = [u for u in asset.get_raw_metadata()["contentUrl"] if u.startswith(bucket_url)]
    rows = slice(10_000, 10_500)
    with h5py.File(remfile.File(url), "r") as f:
        remote = np.asarray(f[SERIES][rows])
    with h5py.File(site.local.local(path), "r") as f:
        np.testing.assert_array_equal(remote, f[SERIES][rows])


# -- sign-in failures: one budget over both API processes ----------------------------------------
def _one_connection_per_process(deployment: Deployment, cookie: str) -> list[Connection]:
    proc = deployment.server.proc
    assert proc is not None
    api_pids = children(proc.pid)
    seen: dict[int, Connection] = {}
    for _ in range(200):  # the kernel hands connections to either process
        conn = Connection(deployment.server, api_pids)
        status, _ = conn.request("GET", "/login", cookie=cookie)
        assert status == 200 and conn.pid is not None
        if conn.pid in seen:
            conn.close()
        seen.setdefault(conn.pid, conn)
        if len(seen) == 2:
            return list(seen.values())
    raise AssertionError(f"one process served every connection: {sorted(seen)}")


def test_failed_sign_ins_over_both_processes_share_one_budget(deployment: Deployment) -> None:
    with WebClient(deployment.server.url) as web:
        token = csrf_token(web.page("/login"))
        cookie = f"np_session={web.http.cookies['np_session']}"
    conns = _one_connection_per_process(deployment, cookie)

    def sign_in(i: int, username: str, address: str) -> tuple[int, str]:
        conn = conns[i % 2]  # alternate between the two API processes
        form = {"csrf_token": token, "username": username, "password": "wrong password!"}
        status, page = conn.request(
            "POST",
            "/login",
            cookie=cookie,
            body=urlencode(form),
            headers={"X-Forwarded-For": address},
        )
        assert conn.pid == [c.pid for c in conns][i % 2]
        return status, text(page)

    account = f"target-{uuid.uuid4().hex[:8]}"
    for i in range(ACCOUNT_LIMIT):  # from other addresses each time
        assert sign_in(i, account, f"10.1.0.{i + 1}")[0] == 401, i
    status, page = sign_in(ACCOUNT_LIMIT, account, "10.1.0.100")
    assert status == 429 and "for this account" in page

    for i in range(ADDRESS_LIMIT):  # one address, other accounts each time
        assert sign_in(i, f"nobody-{i}-{uuid.uuid4().hex[:6]}", "10.2.0.1")[0] == 401, i
    status, page = sign_in(ADDRESS_LIMIT, f"nobody-{uuid.uuid4().hex[:6]}", "10.2.0.1")
    assert status == 429 and "from your address" in page
    for conn in conns:
        conn.close()


# -- a worker killed in the middle of a job --------------------------------------------------
def test_a_killed_workers_job_is_completed_once_by_another(deployment: Deployment) -> None:
    site, log = deployment.site, deployment.starts_log
    first = deployment.workers[0]
    data = os.urandom(300_000)
    deployment.hold.touch()
    try:
        blob_id = str(upload_directly(site, data)["blob_id"])
        wait_for(lambda: ("start", blob_id, first.pid) in starts(log) or None, timeout=60)
        second = deployment.start_worker()  # idle: the job is leased to the first
        time.sleep(2.0)
        assert [s for s in starts(log) if s[1] == blob_id] == [("start", blob_id, first.pid)]
        first.kill()  # SIGKILL in the middle of the job
    finally:
        deployment.hold.unlink()
    with deployment.client() as client:
        sha = wait_for(lambda: _blob(client, md5_etag(data))["sha256"], timeout=60)
    assert sha == sha256_hex(data)
    wait_for(lambda: _settled(deployment.db_url, blob_id), timeout=60)
    assert [s for s in starts(log) if s[1] == blob_id] == [
        ("start", blob_id, first.pid),
        ("start", blob_id, second.pid),
        ("done", blob_id, second.pid),
    ]
    rows = job_rows(deployment.db_url, "procrastinate")
    assert [(s, a) for _, key, s, a in rows if key == f"sha256:{blob_id}"] == [("succeeded", 2)]
    # What the sha256 job enqueues in its transaction was enqueued once.
    assert [s for _, key, s, _ in rows if key == f"blob.index:{blob_id}"] == ["succeeded"]


def _settled(db_url: str, blob_id: str) -> bool:
    rows = job_rows(db_url, "procrastinate")
    return not [r for r in rows if blob_id in (r[1] or "") and r[2] in ("todo", "doing")]
