"""The three progress reporters: plain lines, the rich display, JSON lines."""

from __future__ import annotations

import io
import json

from rich.console import Console

from neuropil.cli.progress import JsonReporter, PlainReporter
from neuropil.cli.reporting import Summary
from neuropil.cli.rich_progress import RichReporter
from neuropil.client.events import BytesDone, FileDone, FileStarted


def feed(reporter: PlainReporter | RichReporter | JsonReporter) -> None:
    reporter.expect({"a.nwb": 10, "b.nwb": 5})
    reporter(FileStarted("a.nwb", 10, 0))
    reporter(BytesDone("a.nwb", 10))
    reporter(FileDone("a.nwb", "done", ""))
    reporter(FileStarted("b.nwb", 5, 0))
    reporter(FileDone("b.nwb", "failed", "etag mismatch [x]"))
    summary = Summary("upload", done=1, bytes=10, seconds=2.0)
    summary.fail("b.nwb", "etag mismatch [x]", "second reason")
    reporter.finish(summary)


EXPECTED_SUMMARY = [
    "Uploaded 1 file (10 B) in 2.0 s (5 B/s); 1 failed:",
    "  ✗ b.nwb: etag mismatch [x]",
    "      second reason",
]


def test_plain_reporter_prints_lines_and_summary() -> None:
    err, out = io.StringIO(), io.StringIO()
    feed(PlainReporter(err, out))
    assert err.getvalue().splitlines() == ["✓ a.nwb (done)", "✗ b.nwb: etag mismatch [x]"]
    assert out.getvalue().splitlines() == EXPECTED_SUMMARY


def test_rich_reporter_off_a_terminal_prints_the_same_text() -> None:
    err, out = io.StringIO(), io.StringIO()
    feed(RichReporter(Console(file=err, width=200), Console(file=out, width=200)))
    assert err.getvalue().splitlines() == ["✓ a.nwb (done)", "✗ b.nwb: etag mismatch [x]"]
    assert out.getvalue().splitlines() == EXPECTED_SUMMARY


def test_rich_reporter_on_a_terminal_shows_failures_and_summary() -> None:
    err, out = io.StringIO(), io.StringIO()
    reporter = RichReporter(
        Console(file=err, width=200, force_terminal=True),
        Console(file=out, width=200, force_terminal=True),
    )
    assert reporter.live
    feed(reporter)
    assert "b.nwb: etag mismatch [x]" in err.getvalue()
    assert "a.nwb (done)" not in err.getvalue()  # the bars show finished files, not lines
    assert "1 failed" in out.getvalue() and "second reason" in out.getvalue()


def test_json_reporter() -> None:
    out = io.StringIO()
    feed(JsonReporter(out))
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["event"] for r in records] == [
        "plan", "file_started", "progress", "file_done", "file_started", "file_done", "summary",
    ]  # fmt: skip
    assert records[-1]["failures"][0]["reasons"] == ["etag mismatch [x]", "second reason"]
