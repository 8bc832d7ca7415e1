"""What every progress display shares: the :class:`Reporter` protocol the commands talk to,
the :class:`Summary` they end with, and the text lines the plain and rich displays print.

A leaf of :mod:`neuropil.cli`: :mod:`neuropil.cli.progress` (JSON and plain lines, and the
choice of display) and :mod:`neuropil.cli.rich_progress` (the terminal display) both build on
it, so neither imports the other's module to share a line of text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from neuropil.client.events import FileDone, ProgressEvent

#: Files at least this large get a progress bar of their own.
LARGE_FILE = 64 << 20


@dataclass
class Summary:
    """The outcome of a whole command: counts, bytes, time, every failure and its reason."""

    action: str
    done: int = 0
    skipped: int = 0
    #: (path, reasons): every reason a file failed, one per entry.
    failures: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    bytes: int = 0
    seconds: float = 0.0
    deleted: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def fail(self, path: str, *reasons: str) -> None:
        self.failures.append((path, reasons))

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_json(self) -> dict[str, Any]:
        return {
            "event": "summary",
            "action": self.action,
            "done": self.done,
            "skipped": self.skipped,
            "failed": self.failed,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "deleted": self.deleted,
            "failures": [
                {"path": p, "reason": "; ".join(r), "reasons": list(r)} for p, r in self.failures
            ],
            "notes": self.notes,
            "ok": self.ok,
        }


class Reporter(Protocol):
    """What the commands talk to; :func:`make_reporter` picks the implementation."""

    def expect(self, sizes: Mapping[str, int]) -> None:
        """Announce files to come (path → size), for totals and ETA."""

    def __call__(self, event: ProgressEvent) -> None: ...

    def note(self, message: str) -> None:
        """A line of information (kept out of the way of the bars)."""

    def pause(self) -> None:
        """Stop redrawing, e.g. before asking a question."""

    def finish(self, summary: Summary) -> None:
        """Stop, and report the summary."""


def human_size(n: float) -> str:
    """``1.5 MB``-style sizes (powers of 1000, as rich shows transfer sizes)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def summary_lines(
    summary: Summary,
    *,
    red: Callable[[str], str] = str,
    escape: Callable[[str], str] = str,
) -> list[str]:
    """``Downloaded 3 files (1.2 MB) in 0.4 s (3.0 MB/s); 1 skipped; 1 failed:`` + reasons.

    ``red`` and ``escape`` let the rich display add its markup to the same text.
    """
    verb = {"download": "Downloaded", "upload": "Uploaded"}.get(summary.action, "Done:")
    rate = summary.bytes / summary.seconds if summary.seconds > 0 else 0.0
    parts = [
        f"{verb} {summary.done} file{'s' if summary.done != 1 else ''} "
        f"({human_size(summary.bytes)}) in {summary.seconds:.1f} s ({human_size(rate)}/s)"
    ]
    if summary.skipped:
        parts.append(f"{summary.skipped} skipped")
    if summary.deleted:
        parts.append(f"{summary.deleted} deleted")
    if summary.failures:
        parts.append(red(f"{summary.failed} failed"))
    lines = ["; ".join(parts) + (":" if summary.failures else "")]
    for path, reasons in summary.failures:
        first, *more = reasons or ("(no reason given)",)
        lines.append(f"  {red('✗')} {escape(path)}: {escape(first)}")
        lines.extend(f"      {escape(reason)}" for reason in more)
    lines.extend(escape(note) for note in summary.notes)
    return lines


def file_line(event: FileDone, *, live: bool = False) -> str | None:
    """The line for a finished file: failures always, the rest only without live bars."""
    why = f": {event.message}" if event.message else ""
    if event.status == "failed":
        return f"✗ {event.path}{why}"
    if live:
        return None
    mark = "✓" if event.status == "done" else "-"
    return f"{mark} {event.path} ({event.status}){why}"


class Timer:
    """Seconds since creation (for the summary)."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self._t0
