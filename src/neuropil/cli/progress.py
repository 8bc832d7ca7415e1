"""Progress for transfers: a rich display for people, plain lines for logs, JSON for scripts.

All consume the engines' events (:mod:`neuropil.client.events`), which arrive one at a time,
and end with a :class:`~neuropil.cli.reporting.Summary` (:mod:`neuropil.cli.reporting` holds
what the displays share). Here: the JSON and plain displays, and :func:`make_reporter`,
which picks one. On a terminal the rich display
(:mod:`neuropil.cli.rich_progress`) shows overall bytes, rate, ETA and files done, with a bar
of its own for every file of at least 64 MiB. Elsewhere (a log file, cron, a pipe) one line is
printed per finished file, and rich is not even imported: a quick command's time is mostly
start-up. Failures are printed as they happen, with their reason, in every mode.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Mapping
from typing import IO, Any

from neuropil.cli.reporting import Reporter, Summary, file_line, summary_lines
from neuropil.client.events import BytesDone, FileDone, FileStarted, ProgressEvent

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


# -- plain lines -----------------------------------------------------------------------------


class PlainReporter:
    """Line-oriented output for a console that is not a terminal: one line per finished file
    on stderr, the summary on stdout."""

    def __init__(self, stream: IO[str] | None = None, summary_stream: IO[str] | None = None):
        self._stream = stream or sys.stderr
        self._summary_stream = summary_stream or sys.stdout
        self._lock = threading.Lock()

    def _print(self, stream: IO[str], line: str) -> None:
        with self._lock:
            stream.write(line + "\n")
            stream.flush()

    def expect(self, sizes: Mapping[str, int]) -> None:
        pass

    def __call__(self, event: ProgressEvent) -> None:
        if isinstance(event, FileDone):
            line = file_line(event)
            if line is not None:
                self._print(self._stream, line)

    def note(self, message: str) -> None:
        self._print(self._stream, message)

    def pause(self) -> None:
        pass

    def finish(self, summary: Summary) -> None:
        for line in summary_lines(summary):
            self._print(self._summary_stream, line)


def make_reporter(json_lines: bool) -> Reporter:
    """JSON lines on stdout; on a terminal the rich display (bars on stderr, the summary on
    stdout); otherwise plain lines."""
    if json_lines:
        return JsonReporter()
    if sys.stderr.isatty():
        # Imported here, not above: rich costs start-up time off a terminal, where it is unused.
        from neuropil.cli.rich_progress import make_rich_reporter

        return make_rich_reporter()
    return PlainReporter()
