"""``neuropil download`` SIGKILLed mid-file, again and again, then run to the end: each run
resumes from what the last one recorded, and the file is byte for byte the one uploaded.

The real CLI runs as a process of its own, against a real server behind a loopback proxy that
paces the bytes (so a run is still transferring when it is killed) and counts what it serves
(so each run's network bytes are known). Progress is recorded every 2 s
(:data:`neuropil.client._partial.SAVE_INTERVAL`); a kill lands at a random moment after the
run's first record.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from neuropil.client._partial import PARTIAL_SUFFIX, STATE_SUFFIX
from neuropil.client.upload_files import upload_file
from neuropil.http.transport import Transport
from tests.client.proxy import Proxy, running_proxy
from tests.support.client_env import CLIENT_ENV
from tests.support.server import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

MiB = 1 << 20
SIZE = 320 * MiB  # five dandi-etag parts
#: The proxy's pace: a run records about 50-80 MiB between its start and its kill.
RATE = 24 * MiB
KILLS = 3
NEUROPIL = [sys.executable, "-m", "neuropil"]
#: Where the server's blob URLs point (the download's 302 goes there).
BLOBS = "/store/"


def _write_random(path: Path, size: int) -> str:
    """``size`` random bytes into ``path``; their sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as f:
        for _ in range(size // (8 * MiB)):
            chunk = os.urandom(8 * MiB)
            digest.update(chunk)
            f.write(chunk)
    return digest.hexdigest()


def _ranges(state: Path) -> list[tuple[int, int]]:
    """The finished ranges the sidecar records (none before its first save)."""
    try:
        return [(a, b) for a, b in json.loads(state.read_text())["ranges"]]
    except (OSError, ValueError):
        return []


def _recorded(state: Path) -> int:
    return sum(b - a for a, b in _ranges(state))


def _same_bytes(a: Path, b: Path, ranges: list[tuple[int, int]]) -> bool:
    with a.open("rb") as fa, b.open("rb") as fb:
        for start, stop in ranges:
            fa.seek(start)
            fb.seek(start)
            if fa.read(stop - start) != fb.read(stop - start):
                return False
    return True


@dataclass
class Run:
    """One ``neuropil download`` process, and the blob bytes served before it started."""

    proc: subprocess.Popen[bytes]
    log: Path
    served_before: int

    def resumed(self) -> int:
        """The ``resumed`` bytes of its ``file_started`` event."""
        for line in self.log.read_text().splitlines():
            event = json.loads(line)
            if event.get("event") == "file_started":
                return int(event["resumed"])
        raise AssertionError(f"no file_started event in {self.log.read_text()!r}")


class Downloader:
    """Starts the CLI on one asset URL, the client configuration isolated from the user's."""

    def __init__(self, proxy: Proxy, url: str, out: Path, token: str, home: Path) -> None:
        self.proxy, self.url, self.out, self.token, self.home = proxy, url, out, token, home
        self.runs: list[Run] = []

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in CLIENT_ENV}
        env.update(NEUROPIL_CONFIG_DIR=str(self.home / "config"), NEUROPIL_KEYRING="0")
        return env

    def start(self) -> Run:
        log = self.home / f"run-{len(self.runs)}.jsonl"
        args = ["download", "--json", "-o", str(self.out), "--token", self.token, self.url]
        with log.open("wb") as stdout:
            proc = subprocess.Popen(
                [*NEUROPIL, *args], env=self.env(), stdout=stdout, stderr=subprocess.STDOUT
            )
        run = Run(proc, log, self.proxy.bytes_under(BLOBS))
        self.runs.append(run)
        return run

    def served(self, run: Run) -> int:
        return self.proxy.bytes_under(BLOBS) - run.served_before


def _wait_for_record(run: Run, state: Path, above: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while _recorded(state) <= above:
        code = run.proc.poll()
        assert code is None, f"the download ended ({code}) before it was killed: {run.log}"
        assert time.monotonic() < deadline, f"no progress recorded within {timeout} s"
        time.sleep(0.05)


@dataclass
class Uploaded:
    path: Path
    sha256: str
    #: The asset's download URL, without scheme and host.
    url_path: str
    token: str


@pytest.fixture
def uploaded(fresh_server: ServerProcess, tmp_path: Path) -> Uploaded:
    token = fresh_server.add_user("admin", admin=True)
    fresh_server.start()
    source = tmp_path / "source.bin"
    sha256 = _write_random(source, SIZE)
    with Transport(fresh_server.api_url, token) as t:
        ident = t.post_json("dandisets/", {"name": "kill", "metadata": {}})["identifier"]
        asset = upload_file(t, dandiset_id=ident, path=source, asset_path="big.bin")
    return Uploaded(source, sha256, f"/api/assets/{asset['asset_id']}/download/", token)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(8 * MiB):
            digest.update(chunk)
    return digest.hexdigest()


def test_download_resumes_after_repeated_sigkill(
    fresh_server: ServerProcess, uploaded: Uploaded, tmp_path: Path
) -> None:
    source = uploaded.path
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    out = tmp_path / "out"
    target = out / "big.bin"
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    state = target.with_name(target.name + STATE_SUFFIX)
    with running_proxy(fresh_server.url) as proxy:
        proxy.rate = RATE
        cli = Downloader(proxy, proxy.url + uploaded.url_path, out, uploaded.token, tmp_path)
        for kill in range(KILLS):
            before = _recorded(state)
            run = cli.start()
            _wait_for_record(run, state, above=before)
            time.sleep(rng.uniform(0, 1.5))
            run.proc.send_signal(signal.SIGKILL)
            assert run.proc.wait(30) == -signal.SIGKILL
            # The record claims only bytes that are on disk, and this run added to it.
            ranges = _ranges(state)
            assert _recorded(state) > before, (kill, seed)
            assert _same_bytes(partial, source, ranges), (kill, seed, ranges)
            assert not target.exists()
            # It started from the last record and fetched only what that lacked.
            assert run.resumed() == before, (kill, seed)
            assert 0 < cli.served(run) <= SIZE - before, (kill, seed)

        before = _recorded(state)
        assert 0 < before < SIZE, seed
        last = cli.start()
        assert last.proc.wait(300) == 0, last.log.read_text()[-2000:]
        assert last.resumed() == before
        assert 0 < cli.served(last) <= SIZE - before  # the resumed run fetched only the rest

    assert target.stat().st_size == SIZE
    assert _sha256(target) == uploaded.sha256
    assert not partial.exists() and not state.exists()
