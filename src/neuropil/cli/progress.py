"""Progress for transfers: a rich display for people, a JSON event stream for scripts.

Both consume the engines' events (:mod:`neuropil.client.events`), which arrive one at a time,
and end with a :class:`Summary`. The rich display shows overall bytes, rate, ETA and files
done, with a bar of its own for every file of at least 64 MiB; failures are printed as they
happen, with their reason. On a console that is not a terminal (a log file, cron) it prints
one line per finished file instead of redrawing bars.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from neuropil.client.events import BytesDone, FileDone, FileStarted, ProgressEvent

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


# -- JSON lines ------------------------------------------------------------------------------


class JsonReporter:
    """One JSON object per line: ``file_started``, ``progress``, ``file_done``, ``summary``
    (``progress`` carries the increment ``bytes`` and the file's running total ``done``)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream or sys.stdout
        self._lock = threading.Lock()
        self._done: dict[str, int] = {}

    def _emit(self, record: Mapping[str, Any]) -> None:
        with self._lock:
            self._stream.write(json.dumps(record) + "\n")
            self._stream.flush()

    def expect(self, sizes: Mapping[str, int]) -> None:
        self._emit({"event": "plan", "files": len(sizes), "bytes": sum(sizes.values())})

    def __call__(self, event: ProgressEvent) -> None:
        if isinstance(event, FileStarted):
            self._done[event.path] = event.resumed
            self._emit(
                {
                    "event": "file_started",
                    "path": event.path,
                    "size": event.size,
                    "resumed": event.resumed,
                }
            )
        elif isinstance(event, BytesDone):
            total = self._done.get(event.path, 0) + event.n
            self._done[event.path] = total
            self._emit({"event": "progress", "path": event.path, "bytes": event.n, "done": total})
        elif isinstance(event, FileDone):
            self._done.pop(event.path, None)
            self._emit(
                {
                    "event": "file_done",
                    "path": event.path,
                    "status": event.status,
                    "message": event.message,
                }
            )

    def note(self, message: str) -> None:
        self._emit({"event": "note", "message": message})

    def pause(self) -> None:
        pass

    def finish(self, summary: Summary) -> None:
        self._emit(summary.as_json())


# -- rich ------------------------------------------------------------------------------------


class _FilesColumn(TextColumn):
    def __init__(self) -> None:
        super().__init__("{task.fields[files]}")


class RichReporter:
    """Overall bytes, rate, ETA and files done; per-file bars for large files."""

    def __init__(self, console: Console, summary_console: Console | None = None) -> None:
        self.console = console
        self.summary_console = summary_console or console
        self.live = console.is_terminal
        self._sizes: dict[str, int] = {}
        self._moved: dict[str, int] = {}  # bytes counted into the overall bar, per file
        self._bars: dict[str, TaskID] = {}
        self._finished = 0
        self._progress = Progress(
            TextColumn("{task.description}", justify="left"),
            BarColumn(bar_width=None),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            _FilesColumn(),
            console=console,
            transient=False,
            disable=not self.live,
        )
        self._overall = self._progress.add_task("total", total=0, files="")
        self._started = False

    def _start(self) -> None:
        if self.live and not self._started:
            self._progress.start()
            self._started = True

    def expect(self, sizes: Mapping[str, int]) -> None:
        for path, size in sizes.items():
            if path not in self._sizes:
                self._sizes[path] = size
        self._refresh_totals()
        self._start()

    def _refresh_totals(self) -> None:
        files = f"{self._finished}/{len(self._sizes)} files"
        self._progress.update(self._overall, total=sum(self._sizes.values()), files=files)

    def _advance(self, path: str, n: int) -> None:
        self._moved[path] = self._moved.get(path, 0) + n
        self._progress.advance(self._overall, n)
        bar = self._bars.get(path)
        if bar is not None:
            self._progress.advance(bar, n)

    def __call__(self, event: ProgressEvent) -> None:
        if isinstance(event, FileStarted):
            self._started_file(event)
        elif isinstance(event, BytesDone):
            self._advance(event.path, event.n)
        elif isinstance(event, FileDone):
            self._done_file(event)

    def _started_file(self, event: FileStarted) -> None:
        if event.path not in self._sizes:
            self._sizes[event.path] = event.size
            self._refresh_totals()
        self._start()
        if self.live and event.size >= LARGE_FILE:
            self._bars[event.path] = self._progress.add_task(
                _short(event.path), total=event.size, files=""
            )
        if event.resumed:
            self._advance(event.path, event.resumed)

    def _done_file(self, event: FileDone) -> None:
        size = self._sizes.setdefault(event.path, 0)
        rest = size - self._moved.pop(event.path, 0)
        if event.status == "failed":
            self._sizes[event.path] = size - rest  # the bar can still reach its end
        elif rest > 0:
            self._progress.advance(self._overall, rest)
        bar = self._bars.pop(event.path, None)
        if bar is not None:
            self._progress.remove_task(bar)
        self._finished += 1
        self._refresh_totals()
        self._print_file(event)

    def _print_file(self, event: FileDone) -> None:
        path = escape(event.path)
        why = f": {escape(event.message)}" if event.message else ""
        if event.status == "failed":
            self.console.print(f"[red]✗ {path}[/red]{why}", soft_wrap=True)
        elif not self.live:
            mark = "✓" if event.status == "done" else "-"
            self.console.print(
                f"{mark} {path} ({event.status}){why}", highlight=False, soft_wrap=True
            )

    def note(self, message: str) -> None:
        self.console.print(message, highlight=False, soft_wrap=True)

    def pause(self) -> None:
        if self._started:
            self._progress.stop()
            self._started = False
            self.live = False  # from now on, plain lines

    def finish(self, summary: Summary) -> None:
        self.pause()
        render_summary(self.summary_console, summary)


def _short(path: str, width: int = 40) -> str:
    return path if len(path) <= width else "…" + path[-(width - 1) :]


def render_summary(console: Console, summary: Summary) -> None:
    """``Downloaded 3 files (1.2 MB) in 0.4 s (3.0 MB/s); 1 skipped; 1 failed:`` + reasons."""
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
        parts.append(f"[red]{summary.failed} failed[/red]")
    line = "; ".join(parts) + (":" if summary.failures else "")
    console.print(line, highlight=False, soft_wrap=True)
    for path, reasons in summary.failures:
        first, *more = reasons or ("(no reason given)",)
        console.print(
            f"  [red]✗[/red] {escape(path)}: {escape(first)}", highlight=False, soft_wrap=True
        )
        for reason in more:
            console.print(f"      {escape(reason)}", highlight=False, soft_wrap=True)
    for note in summary.notes:
        console.print(escape(note), highlight=False, soft_wrap=True)


def make_reporter(json_lines: bool) -> Reporter:
    """JSON lines on stdout, or the rich display (bars on stderr, the summary on stdout)."""
    if json_lines:
        return JsonReporter()
    return RichReporter(Console(stderr=True), Console())


class Timer:
    """Seconds since creation (for the summary)."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self._t0
