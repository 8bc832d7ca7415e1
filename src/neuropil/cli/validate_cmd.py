"""``neuropil validate``: the checks ``neuropil upload`` runs, without uploading.

Text output groups findings by file, coloured by severity as ``dandi validate`` colours them
(red errors, yellow warnings, blue hints); ``--format json`` prints a list of records shaped
like the official client's validation results. The exit status is 1 when any file has an
error, so ``neuropil validate && neuropil upload`` never uploads what upload would refuse.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from neuropil.errors import NeuropilError
from neuropil.validation.findings import SEVERITIES, Finding, at_least, validator_versions
from neuropil.validation.paths import Checked, validate_paths

COLOURS = {"ERROR": "red", "WARNING": "yellow", "HINT": "blue"}
#: Exit status when a file has an error (click uses 2 for usage errors).
FAILED = 1


@click.command()
@click.argument(
    "paths", nargs=-1, type=click.Path(exists=True, path_type=Path), metavar="[PATHS]..."
)
@click.option(
    "-f",
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: findings grouped by file; json: a list of dandi-style validation records.",
)
@click.option(
    "--min-severity",
    type=click.Choice(SEVERITIES, case_sensitive=False),
    default="HINT",
    show_default=True,
    help="Show only findings this severe or worse (errors always decide the exit status).",
)
@click.option(
    "-J",
    "--jobs",
    type=click.IntRange(min=1),
    default=min(4, os.cpu_count() or 1),
    show_default=True,
    help="NWB files checked at once (in separate processes).",
)
def validate(paths: tuple[Path, ...], output_format: str, min_severity: str, jobs: int) -> None:
    """Validate files (default: the current directory) as `neuropil upload` would.

    NWB files get pynwb's schema validation, nwbinspector's DANDI checks, metadata
    extraction (subject, species, age, session...) checked against DANDI's schema, and
    DANDI's file naming rules. Exits with 1 if any file has an error.
    """
    targets = list(paths) or [Path.cwd()]
    try:
        with _status(output_format):
            checked = validate_paths(targets, jobs=jobs)
    except NeuropilError as exc:
        raise click.ClickException(str(exc)) from exc
    if output_format == "json":
        versions = validator_versions()
        records = [
            f.record(c.directory, in_dandiset=c.in_dandiset, versions=versions)
            for c in checked
            for f in at_least(c.findings, min_severity)
        ]
        click.echo(json.dumps(records, indent=2))
    else:
        _print_text(checked, min_severity)
    if any(f.is_error for c in checked for f in c.findings):
        raise SystemExit(FAILED)


def _status(output_format: str) -> AbstractContextManager[Any]:
    """A spinner on stderr while checking, on a terminal and with text output only."""
    if output_format == "text" and sys.stderr.isatty():
        return Console(stderr=True).status("Validating…")
    return nullcontext()


def _print_text(checked: list[Checked], min_severity: str) -> None:
    console = Console(soft_wrap=True, highlight=False)
    files = errors = warnings = 0
    for group in checked:
        prefix = "" if group.in_dandiset else f"{group.directory}/"
        by_path: dict[str, list[Finding]] = {}
        for finding in group.findings:
            by_path.setdefault(finding.path, []).append(finding)
        files += len(group.files)
        errors += sum(1 for fs in by_path.values() if any(f.is_error for f in fs))
        warnings += sum(
            1
            for fs in by_path.values()
            if not any(f.is_error for f in fs) and any(f.severity == "WARNING" for f in fs)
        )
        for path, found in by_path.items():
            shown = at_least(found, min_severity)
            if not shown:
                continue
            name = path if os.path.isabs(path) else prefix + path
            console.print(Text(name, style="bold"))
            for f in shown:
                console.print(
                    Text.assemble(
                        "  ",
                        (f"{f.severity:<8}", COLOURS[f.severity]),
                        (f"[{f.id}] ", "dim"),
                        f.message,
                    )
                )
    console.print(_summary(files, errors, warnings))


def _summary(files: int, errors: int, warnings: int) -> Text:
    checked = f"{files} file{'s' if files != 1 else ''} checked"
    if errors:
        text = f"{checked}: {errors} with errors"
        if warnings:
            text += f", {warnings} more with warnings"
        return Text(text + ".", style="bold red")
    if warnings:
        return Text(f"{checked}: no errors, {warnings} with warnings.", style="bold yellow")
    return Text(f"{checked}: no errors found.", style="bold green")
