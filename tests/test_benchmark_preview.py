"""The preview benchmark's verdict is on every run of a preview, not only its median."""

from __future__ import annotations

from typing import Any

from benchmarks import preview
from benchmarks.common import HEADERS, summary


def _result(*runs: list[float]) -> dict[str, Any]:
    previews = [
        {
            "path": f"sub-m/sub-m_ses-{i}_ecephys.nwb",
            "object": "/units",
            "kind": "raster",
            "size": [720, 300],
            "request_seconds": summary(samples),
            "drawing_seconds": summary([s / 2 for s in samples]),
        }
        for i, samples in enumerate(runs)
    ]
    slowest = max(max(samples) for samples in runs)
    return {
        "reps": len(runs[0]),
        "files": len(runs),
        "target_seconds": preview.TARGET_SECONDS,
        "previews": previews,
        "slowest_request_seconds": slowest,
        "all_under_target": slowest < preview.TARGET_SECONDS,
    }


def test_one_slow_run_misses_the_target() -> None:
    rows = preview.rows(_result([0.1, 0.2, 0.15], [0.1, 1.2, 0.1]))
    assert all(len(row) == len(HEADERS) for row in rows)
    assert [row[-1] for row in rows] == ["ok", "MISS (max)", "MISS"]
    assert rows[0][0] == "preview sub-m_ses-0" and rows[0][4] == "100-200 ms"
