"""Benchmark 4: validation and publishing of dandisets with 10, 1,000 and 10,000 assets.

A real ``neuropil serve`` (SQLite). Per size: a dandiset with publishable metadata, four
small blobs uploaded through DANDI's upload protocol (and hashed by the server), then the
assets created over the API by eight concurrent clients, each asset a new path over one of
the blobs (as when many files share content; the metadata of each asset is its own).

Measured, as the official client sees it:

- **last upload -> Valid**: from the moment the last asset create returned until
  ``/info/`` shows the draft ``Valid`` with no ``asset_validation_errors`` (the condition
  of ``RemoteDandiset.wait_until_valid()``), polled every 20 ms;
- **metadata -> Valid**: then the dandiset metadata written again, as ``dandi upload``
  users do next (``set_raw_metadata``), until the draft is ``Valid`` once more;
- **publish**: from ``POST .../draft/publish/`` until the draft shows ``Published``, which
  is when the new version, its linked assets and its manifests are all committed.

Targets (issue 4): Valid within 2 s for 10 assets and 30 s for 10,000; publishing 10,000
assets within 10 s. DANDI's own validation runs every 60 s. The test suite only checks that
these states are reached (with generous timeouts): how fast is measured and judged here.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from tests.support.dandisets import publishable_metadata

from benchmarks.common import NeuropilServer, Workspace, log

SIZES = (10, 1_000, 10_000)
QUICK_SIZES = (10, 1_000)
CLIENTS = 8
BLOBS = 4
POLL = 0.02
VALID_TARGETS = {10: 2.0, 10_000: 30.0}
PUBLISH_TARGETS = {10_000: 10.0}

METADATA = publishable_metadata("The publish benchmark's dandiset.")
EDITED = publishable_metadata("The publish benchmark's dandiset, described again.")


def _client(api_url: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=api_url + "/", headers={"Authorization": f"token {token}"}, timeout=120
    )


def _upload_blobs(api_url: str, token: str, ident: str, contents: list[bytes]) -> list[str]:
    """The blobs through neuropil's own implementation of DANDI's upload protocol."""
    from neuropil.client.upload_protocol import upload_blob
    from neuropil.http.transport import Transport

    with (
        tempfile.TemporaryDirectory(prefix="publish-blobs-") as tmp,
        Transport(api_url, token) as t,
    ):
        blobs = []
        for i, data in enumerate(contents):
            path = Path(tmp) / f"blob-{i}"
            path.write_bytes(data)
            blobs.append(upload_blob(t, dandiset_id=ident, path=path).blob_id)
        return blobs


def _wait_hashed(c: httpx.Client, data: bytes) -> None:
    digest = hashlib.sha256(data).hexdigest()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = c.post("blobs/digest/", json={"algorithm": "dandi:sha2-256", "value": digest})
        if r.status_code == 200:
            return
        time.sleep(POLL)
    raise TimeoutError("the server did not hash the benchmark's blobs within 60 s")


def _info(c: httpx.Client, ident: str) -> dict[str, Any]:
    r = c.get(f"dandisets/{ident}/versions/draft/info/")
    r.raise_for_status()
    out: dict[str, Any] = r.json()
    return out


def _poll(c: httpx.Client, ident: str, done: Any, timeout: float) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if done(_info(c, ident)):
            return time.monotonic() - began
        time.sleep(POLL)
    raise TimeoutError(f"dandiset {ident} did not get there within {timeout:.0f} s")


def _create_assets(api_url: str, token: str, ident: str, blobs: list[str], n: int) -> float:
    """Create ``n`` assets with CLIENTS concurrent clients; returns assets per second."""

    def work(worker: int) -> None:
        with _client(api_url, token) as c:
            for i in range(worker, n, CLIENTS):
                md = {
                    "path": f"sub-{i // 50:04d}/sub-{i // 50:04d}_ses-{i % 50:02d}_ecephys.nwb",
                    "schemaKey": "Asset",
                    "encodingFormat": "application/x-nwb",
                }
                r = c.post(
                    f"dandisets/{ident}/versions/draft/assets/",
                    json={"metadata": md, "blob_id": blobs[i % len(blobs)]},
                )
                r.raise_for_status()

    began = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(work, range(CLIENTS)))
    return n / (time.monotonic() - began)


def measure(api_url: str, token: str, n: int) -> dict[str, Any]:
    with _client(api_url, token) as c:
        r = c.post("dandisets/", json={"name": f"publish benchmark {n}", "metadata": METADATA})
        r.raise_for_status()
        ident = r.json()["identifier"]
        contents = [os.urandom(4096 + i) for i in range(BLOBS)]
        blobs = _upload_blobs(api_url, token, ident, contents)
        for data in contents:
            _wait_hashed(c, data)
        log(f"publish: creating {n:,} assets in dandiset {ident}")
        rate = _create_assets(api_url, token, ident, blobs, n)
        valid_s = _poll(
            c,
            ident,
            lambda i: i["status"] == "Valid" and not i["asset_validation_errors"],
            timeout=300,
        )
        log(f"publish: {n:,} assets Valid {valid_s:.2f} s after the last upload")
        r = c.put(
            f"dandisets/{ident}/versions/draft/",
            json={"name": f"publish benchmark {n}", "metadata": EDITED},
        )
        r.raise_for_status()
        revalid_s = _poll(
            c,
            ident,
            lambda i: i["status"] == "Valid" and not i["asset_validation_errors"],
            timeout=300,
        )
        log(f"publish: Valid again {revalid_s:.2f} s after a metadata change; publishing")
        began = time.monotonic()
        p = c.post(f"dandisets/{ident}/versions/draft/publish/")
        p.raise_for_status()
        publish_s = (time.monotonic() - began) + _poll(
            c, ident, lambda i: i["status"] == "Published", timeout=300
        )
        versions = c.get(f"dandisets/{ident}/versions/", params={"order": "-created"}).json()
        latest = versions["results"][0]
        problems = []
        if latest["version"] == "draft" or latest["asset_count"] != n:
            problems.append(f"published version {latest['version']} has {latest['asset_count']}")
    return {
        "assets": n,
        "dandiset": ident,
        "create_rate": rate,
        "valid_s": valid_s,
        "revalid_s": revalid_s,
        "publish_s": publish_s,
        "version": latest["version"],
        "problems": problems,
    }


def run(ws: Workspace, *, sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    server = NeuropilServer(ws.path("publish-data"))
    token = server.add_user("bench")
    results = []
    with server:
        for n in sizes:
            results.append(measure(server.api_url, token, n))
    checks = {"neuropil": [p for r in results for p in r["problems"]]}
    return {"results": results, "checks": checks}


def _verdict(value: float, target: float | None) -> str:
    if target is None:
        return ""
    return "ok" if value <= target else "MISSED"


def rows(result: dict[str, Any]) -> list[list[Any]]:
    out = []
    for r in result["results"]:
        n = r["assets"]
        detail = f"{r['create_rate']:.0f} creates/s"
        vt, pt = VALID_TARGETS.get(n), PUBLISH_TARGETS.get(n)
        out.append(
            [
                f"publish {n:,} assets",
                "neuropil",
                "last upload -> Valid (s)",
                f"{r['valid_s']:.2f}",
                "-",
                detail,
                "",
                f"<= {vt:g} s" if vt else "",
                _verdict(r["valid_s"], vt),
            ]
        )
        out.append(
            [
                f"publish {n:,} assets",
                "neuropil",
                "metadata change -> Valid (s)",
                f"{r['revalid_s']:.2f}",
                "-",
                "",
                "",
                f"<= {vt:g} s" if vt else "",
                _verdict(r["revalid_s"], vt),
            ]
        )
        out.append(
            [
                f"publish {n:,} assets",
                "neuropil",
                "publish -> Published (s)",
                f"{r['publish_s']:.2f}",
                "-",
                r["version"],
                "",
                f"< {pt:g} s" if pt else "",
                _verdict(r["publish_s"], pt),
            ]
        )
    return out


LEGEND = (
    "Publish: one real server (SQLite), assets created by 8 concurrent API clients over 4 "
    "hashed blobs;\n  'last upload -> Valid' = until /info/ is Valid with no asset errors "
    "(wait_until_valid's test);\n  'metadata change -> Valid' = the dandiset metadata written "
    "again, until Valid once more;\n  'publish' = POST publish until the draft is Published "
    "(version, links, manifests committed)."
)
