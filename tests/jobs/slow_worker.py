"""``neuropil worker`` with the sha256 job held on demand, for the SIGKILL tests.

The real command and the real handlers run; the ``blob.sha256`` handler only first logs
``start <blob_id> <pid>`` to ``$SLOW_WORKER_LOG`` and waits while ``$SLOW_WORKER_HOLD``
exists, so a test can kill the worker in the middle of a job. Run as
``python -m tests.jobs.slow_worker worker [options]``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from neuropil.cli.main import main
from neuropil.jobs.protocol import Handler
from neuropil.server import background
from neuropil.services.context import Context

_job_handlers = background.job_handlers


def _log(line: str) -> None:
    with open(os.environ["SLOW_WORKER_LOG"], "a") as f:
        f.write(f"{line} {os.getpid()}\n")


def held_job_handlers(ctx: Context) -> dict[str, Handler]:
    handlers = _job_handlers(ctx)
    sha256 = handlers["blob.sha256"]

    def held_sha256(payload: dict[str, Any]) -> None:
        _log(f"start {payload['blob_id']}")
        while Path(os.environ["SLOW_WORKER_HOLD"]).exists():
            time.sleep(0.02)
        sha256(payload)
        _log(f"done {payload['blob_id']}")

    handlers["blob.sha256"] = held_sha256
    return handlers


if __name__ == "__main__":
    background.job_handlers = held_job_handlers  # type: ignore[assignment]
    sys.argv = ["neuropil", *sys.argv[1:]]
    main()
