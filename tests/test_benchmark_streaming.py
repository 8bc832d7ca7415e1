"""Smoke test of the streaming benchmark (``benchmarks/streaming.py``) at a tiny size.

It runs the real thing end to end: a generated NWB file of a few MB uploaded to a real
``neuropil serve``, both indexes built, every reader through the latency proxy at 0 and
20 ms, one round. Timings at this size mean nothing; what is checked is that every reader
returns the right data, that the counters add up, and that the report and targets come out.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks import streaming
from benchmarks.common import Workspace

pytestmark = pytest.mark.slow


def test_streaming_benchmark_tiny(tmp_path: Path) -> None:
    settings = streaming.Settings.tiny()
    with Workspace(tmp_path) as ws:
        result = streaming.run(ws, settings=settings)

    assert result["checks"]["streaming"] == []
    assert set(result["latencies"]) == {"0", "20"}
    for per in result["latencies"].values():
        assert set(per) == set(streaming.METHODS)
        for reader, tasks in per.items():
            for task in streaming.TASKS:
                assert tasks[task]["seconds"] > 0, (reader, task)
            if reader == streaming.LOCAL:
                assert tasks["open"]["requests"] == 0
            else:
                assert tasks["open"]["requests"] >= 1
        # The index arrives in one GET and the open needs nothing else.
        assert per[streaming.INDEX]["open"]["requests"] == 1
        # The URLs a user holds find the server's own index in one request too.
        for reader in streaming.URL_READERS:
            assert per[reader]["open"]["requests"] == 1, reader
        # A slice through the index cannot fetch fewer bytes than the chunks it needs.
        assert per[streaming.INDEX]["slice"]["bytes"] >= result["floors"]["slice"]["bytes"]

    judged = streaming.targets(result)
    assert {t.verdict for t in judged} <= {"ok", "MISSED"}
    assert any(t.what == "open: 1 request" and t.ok for t in judged)
    report = result["notes"][0]
    assert "latency 20 ms per request" in report and "targets (issue 5)" in report
    assert len(streaming.rows(result)) == len(judged)
