"""The rich progress display for a terminal (:func:`neuropil.cli.progress.make_reporter`
picks it); the lines it prints come from :mod:`neuropil.cli.reporting`."""

from __future__ import annotations

from collections.abc import Mapping

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

from neuropil.cli.reporting import LARGE_FILE, Summary, file_line, summary_lines
from neuropil.client.events import BytesDone, FileDone, FileStarted, ProgressEvent


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
        line = file_line(event, live=self.live)
        if line is not None:
            style = "red" if event.status == "failed" else None
            self.console.print(escape(line), style=style, highlight=False, soft_wrap=True)

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
    def red(text: str) -> str:
        return f"[red]{text}[/red]"

    for line in summary_lines(summary, red=red, escape=escape):
        console.print(line, highlight=False, soft_wrap=True)


def make_rich_reporter() -> RichReporter:
    return RichReporter(Console(stderr=True), Console())
