"""Job settings, and the signing secret every process of a data directory shares."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from neuropil.config import Settings
from neuropil.jobs.queue import TableQueue
from neuropil.services.context import make_context


def test_unknown_job_engine_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="NEUROPIL_JOBS='celery' is not a job engine"):
        Settings(data_dir=tmp_path, jobs="celery")


def test_procrastinate_needs_postgresql(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs PostgreSQL"):
        make_context(Settings(data_dir=tmp_path, jobs="procrastinate"))


def test_default_engine_and_lease(tmp_path: Path) -> None:
    ctx = make_context(Settings(data_dir=tmp_path, job_lease=7))
    try:
        assert isinstance(ctx.jobs, TableQueue)
        assert ctx.jobs.lease.total_seconds() == 7
        assert ctx.jobs.runs_beside_requests
    finally:
        ctx.db.dispose()


def test_processes_starting_at_once_share_one_generated_secret(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from neuropil.config import Settings\n"
        "print(Settings(data_dir=Path(sys.argv[1]), secret_key=None).signing_secret().decode())\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path / "data")],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    secrets = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(secrets) == 1
    (secret,) = secrets
    assert len(secret) == 64
    assert (tmp_path / "data" / "secret.key").read_text().strip() == secret
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["secret.key"]  # nothing aside
