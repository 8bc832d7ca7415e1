"""Crash consistency: SIGKILL the server mid-upload, restart it, and check what is visible
(on SQLite and on PostgreSQL)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg

from tests.api.helpers import (
    ETAG,
    PART_SIZE,
    SHA256,
    MiB,
    add_asset,
    assets_url,
    client,
    complete,
    create_dandiset,
    put_part,
    put_parts,
    random_bytes,
    sha256_hex,
    start_upload,
    upload_asset,
    upload_blob,
    validate,
    wait_for,
)
from tests.support.server import ServerProcess


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def _download(c: httpx.Client, asset_id: str) -> bytes:
    r = c.get(f"assets/{asset_id}/download/", follow_redirects=True)
    assert r.status_code == 200, r.text
    return r.content


def test_sigkill_during_a_part_upload(restartable_server: ServerProcess) -> None:
    server = restartable_server
    token = server.add_user("owner")
    server.start()
    store = server.data_dir / "store"
    data = random_bytes(PART_SIZE + 4096)  # two parts: 64 MiB and 4 KiB
    with client(server.api_url, token) as c:
        ident = create_dandiset(c, "crash")
        upload = start_upload(c, ident, data)
        assert [p["size"] for p in upload.parts] == [PART_SIZE, 4096]
        small = put_part(upload, upload.parts[1])
        [multipart_dir] = [d for d in (store / "multipart").iterdir() if d.is_dir()]

        # Part 1 arrives slowly from another thread; the server dies while it streams in.
        big = upload.part_bytes(upload.parts[0])
        streaming = threading.Event()
        outcome: dict[str, object] = {}

        def slow_body() -> Iterator[bytes]:
            for offset in range(0, len(big), MiB):
                yield big[offset : offset + MiB]
                if offset >= 8 * MiB:
                    streaming.set()
                    time.sleep(0.05)

        def send() -> None:
            try:
                outcome["response"] = httpx.put(
                    upload.parts[0]["upload_url"], content=slow_body(), timeout=60
                )
            except httpx.HTTPError as exc:
                outcome["error"] = exc

        sender = threading.Thread(target=send)
        sender.start()
        assert streaming.wait(60)
        # The part is being written in place, into the upload's data file, right now.
        data_file = multipart_dir / "data"
        wait_for(lambda: data_file.stat().st_size > 8 * MiB, timeout=10, every=0.02)
        server.kill()
        sender.join(60)
        assert "error" in outcome, outcome  # the PUT never got an answer

    server.start()
    with client(server.api_url, token) as c:
        # Nothing of the interrupted upload is visible.
        r = c.post("blobs/digest/", json={"algorithm": ETAG, "value": upload.etag})
        assert r.status_code == 404
        assert c.get(assets_url(ident)).json()["count"] == 0
        draft = c.get(f"dandisets/{ident}/").json()["draft_version"]
        assert (draft["asset_count"], draft["size"], draft["active_uploads"]) == (0, 0, 1)
        assert _files(store / "objects") == []
        # The half-received part never became a part: only part 2 is marked as arrived.
        names = sorted(p.name for p in multipart_dir.iterdir() if not p.name.endswith(".lock"))
        assert names == [f"00002.{small['etag']}", "data", "upload.json"]
        # It cannot be completed without part 1.
        missing = {"part_number": 1, "size": PART_SIZE, "etag": "0" * 32}
        r = complete(c, upload, [missing, small])
        assert r.status_code == 400
        assert "part 1" in r.json()

        # The whole upload again, from scratch, succeeds.
        blob_id = upload_blob(c, ident, data)
        asset = add_asset(c, ident, "after-crash.bin", blob_id).json()
        assert asset["size"] == len(data)
        assert _download(c, asset["asset_id"]) == data

    # Garbage collection removes the abandoned upload and its parts, and nothing else.
    server.extra_env["NEUROPIL_UPLOAD_EXPIRY"] = "0"
    out = server.cli("gc").stdout
    assert "Removed 1 expired uploads" in out, out
    assert not multipart_dir.exists()
    assert list((store / "multipart").iterdir()) == []
    with client(server.api_url, token) as c:
        assert c.get(f"dandisets/{ident}/").json()["draft_version"]["active_uploads"] == 0
        assert _download(c, asset["asset_id"]) == data
        r = c.post("blobs/digest/", json={"algorithm": ETAG, "value": upload.etag})
        assert r.json()["blob_id"] == blob_id


def test_sigkill_between_complete_and_validate(restartable_server: ServerProcess) -> None:
    server = restartable_server
    token = server.add_user("owner")
    server.start()
    data = random_bytes(10_000)
    with client(server.api_url, token) as c:
        ident = create_dandiset(c)
        upload = start_upload(c, ident, data)
        assert complete(c, upload, put_parts(upload)).status_code == 200
    server.kill()
    server.start()
    with client(server.api_url, token) as c:
        r = c.post("blobs/digest/", json={"algorithm": ETAG, "value": upload.etag})
        assert r.status_code == 404
        # The assembled object survived; validation picks up where the client left off.
        v = validate(c, upload)
        assert v.status_code == 200, v.text
        asset = add_asset(c, ident, "f.bin", v.json()["blob_id"]).json()
        assert _download(c, asset["asset_id"]) == data


def _job_states(server: ServerProcess) -> list[str]:
    """The sha256 jobs' states, read from the server's database (read-only on SQLite);
    validation jobs come and go beside them."""
    query = "SELECT state FROM jobs WHERE kind = 'blob.sha256'"
    if server.database_url is not None:
        with psycopg.connect(server.database_url, autocommit=True) as conn:
            return [str(row[0]) for row in conn.execute(query)]
    path = server.data_dir / "neuropil.db"
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return [str(row[0]) for row in db.execute(query)]
    finally:
        db.close()


def test_acknowledged_writes_survive_sigkill(restartable_server: ServerProcess) -> None:
    server = restartable_server
    token = server.add_user("owner")
    server.start()
    data = random_bytes(PART_SIZE + 1)  # big enough for its sha256 to take a moment
    with client(server.api_url, token) as c:
        ident = create_dandiset(c, "durable")
        asset = upload_asset(c, ident, "d/f.bin", data, {"note": "kept"})
    # Kill the server while the blob's sha256 job is running.
    wait_for(lambda: "running" in _job_states(server), timeout=30, every=0.005)
    server.kill()
    assert _job_states(server) == ["running"]
    server.start()
    with client(server.api_url, token) as c:
        info = c.get(f"assets/{asset['asset_id']}/info/").json()
        assert info["path"] == "d/f.bin"
        assert info["metadata"]["note"] == "kept"
        assert c.get(f"dandisets/{ident}/").json()["draft_version"]["asset_count"] == 1
        assert _download(c, asset["asset_id"]) == data
        # The interrupted job runs again once its lease (NEUROPIL_JOB_LEASE, 20 s) runs out.
        sha = wait_for(
            lambda: c.get(f"assets/{asset['asset_id']}/").json()["digest"].get(SHA256),
            timeout=30,
        )
        assert sha == sha256_hex(data)
    assert _job_states(server) == ["done"]
