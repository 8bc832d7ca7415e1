"""A Zarr ingest is durable: a server killed while a Zarr waits for (or is in) its ingest
finishes the ingest after a restart, and nothing changes the Zarr in the meantime (on SQLite
and on PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from neuropil.db.engine import Database, sqlite_url
from neuropil.db.models import Job, JobState, ZarrArchive, ZarrStatus
from tests.api.helpers import client, create_dandiset, wait_for
from tests.support.server import ServerProcess
from tests.support.zarrs import (
    b64md5,
    create_zarr,
    local_checksum,
    local_files,
    make_zarr,
    upload_files,
)

INGEST_ERROR = "Zarr archive is currently ingesting or has already ingested"


def _as_if_killed_mid_ingest(server: ServerProcess, zarr_id: str) -> None:
    """What a worker killed in the middle of the ingest leaves: the Zarr Ingesting, its job
    running under a lease nobody renews (it runs out, and the job runs again)."""
    db = Database(server.database_url or sqlite_url(server.data_dir / "neuropil.db"))
    try:
        with db.write() as s:
            s.execute(
                sa.update(ZarrArchive)
                .where(ZarrArchive.zarr_id == zarr_id)
                .values(status=ZarrStatus.INGESTING)
            )
            lease = datetime.now(UTC) + timedelta(seconds=20)
            running = s.execute(
                sa.update(Job)
                .where(Job.kind == "zarr.ingest")
                .values(state=JobState.RUNNING, attempts=1, locked_until=lease)
            )
            assert running.rowcount == 1
    finally:
        db.dispose()


def test_ingest_survives_sigkill(tmp_path: Path, fresh_database: str | None) -> None:
    # No job workers: the ingest stays queued, as if the process died before running it.
    server = ServerProcess(
        tmp_path / "data", database_url=fresh_database, env={"NEUROPIL_JOB_WORKERS": "0"}
    )
    token = server.add_user("alice")
    local = make_zarr(tmp_path / "sample.zarr")
    try:
        server.start()
        with client(server.api_url, token) as c:
            ident = create_dandiset(c)
            zarr_id = create_zarr(c, ident, "sample.zarr")
            upload_files(c, zarr_id, local_files(local))
            assert c.post(f"zarr/{zarr_id}/finalize/").status_code == 204
            assert c.get(f"zarr/{zarr_id}/").json()["status"] == "Uploaded"
            body = [{"path": "late", "base64md5": b64md5(b"late")}]
            for r in (
                c.post(f"zarr/{zarr_id}/files/", json=body),
                c.request("DELETE", f"zarr/{zarr_id}/files/", json=[{"path": ".zgroup"}]),
                c.post(f"zarr/{zarr_id}/finalize/"),
            ):
                assert r.status_code == 400 and INGEST_ERROR in r.text, r.text
        server.kill()
        _as_if_killed_mid_ingest(server, zarr_id)
        server.extra_env["NEUROPIL_JOB_WORKERS"] = "2"
        server.start()
        with client(server.api_url, token) as c:
            z = wait_for(
                lambda: (r := c.get(f"zarr/{zarr_id}/").json())["status"] == "Complete" and r,
                timeout=90,
            )
        assert z["checksum"] == local_checksum(local)
        assert z["file_count"] == len(local_files(local))
    finally:
        server.stop()
