"""``neuropil organize``: rename NWB files into DANDI's layout (``sub-X/sub-X_..._mod.nwb``)."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console

from neuropil.cli.client_options import FAILED, handle_errors
from neuropil.nwb.organize import FIELD_NAMES
from neuropil.nwb.placement import (
    FILES_MODES,
    FilesMode,
    InvalidPolicy,
    Plan,
    apply_plan,
    display_sources,
    plan_organize,
)


def _report(plan: Plan, mode: str, done: bool) -> dict[str, Any]:
    return {
        "dandiset": str(plan.dandiset),
        "files_mode": mode,
        "files": [
            {"source": p.source, "target": p.target, "status": "done" if done else "planned"}
            for p in plan.placements
        ]
        + [{"source": p.source, "target": p.target, "status": "in place"} for p in plan.in_place],
        "skipped": [{"source": s.source, "reason": s.reason} for s in plan.invalid],
    }


def _print(plan: Plan, mode: str) -> None:
    err = Console(stderr=True)
    for skipped in plan.invalid:
        err.print(f"[yellow]skipped[/] {skipped.source}: {skipped.reason}", highlight=False)
    if mode == "dry":
        sources = display_sources(plan, "dry")
        for p in plan.placements:
            click.echo(f"{sources[p.source]} -> {p.target}")
    out = Console()
    verb = "would organize" if mode == "dry" else f"organized ({mode})"
    summary = f"[bold]{len(plan.placements)}[/] files {verb} into {plan.dandiset}"
    if plan.in_place:
        summary += f"; {len(plan.in_place)} already in place"
    if plan.invalid:
        summary += f"; [yellow]{len(plan.invalid)} skipped[/]"
    (err if mode == "dry" else out).print(summary, highlight=False)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option(
    "-d",
    "--dandiset-path",
    "dandiset",
    type=click.Path(file_okay=False),
    default=None,
    help="The dandiset directory to organize into (default: the one holding dandiset.yaml "
    "in or above the current directory). For simulate it must not exist yet.",
)
@click.option(
    "-f",
    "--files-mode",
    type=click.Choice(FILES_MODES),
    default="auto",
    show_default=True,
    help="dry: print `source -> target`; simulate: a new tree of symlinks; copy, move, "
    "hardlink, symlink; auto: symlink, else hardlink, else copy.",
)
@click.option(
    "--required-field",
    "required_fields",
    type=click.Choice(FIELD_NAMES),
    multiple=True,
    help="Put this field in every file name where it is non-empty (repeatable).",
)
@click.option(
    "--invalid",
    type=click.Choice(["fail", "warn"]),
    default="fail",
    show_default=True,
    help="Files without a subject_id (or unreadable): fail the run, or skip them with a warning.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan/result as JSON.")
@handle_errors
def organize(
    paths: tuple[str, ...],
    dandiset: str | None,
    files_mode: FilesMode,
    required_fields: tuple[str, ...],
    invalid: InvalidPolicy,
    as_json: bool,
) -> None:
    """Name NWB files after their metadata, as DANDI lays out a dandiset.

    Files go to `sub-<subject>/sub-<subject>[_ses-<session>][_<entity>-<label>...]
    [_<modalities>].nwb` inside the dandiset, with exactly the names `dandi organize` gives.
    The session (and tissue/slice/cell) is in the name only when the files differ in it;
    probe ids, then a short object id, are added only to tell apart files that would
    otherwise collide. Nothing is changed when any target already exists.
    """
    plan = plan_organize(
        list(paths),
        dandiset,
        required_fields=required_fields,
        invalid=invalid,
        files_mode=files_mode,
    )
    if not (plan.placements or plan.in_place or plan.invalid):
        Console(stderr=True).print("[red]No .nwb files found under the given paths.[/]")
        raise SystemExit(FAILED)
    used = apply_plan(plan, files_mode)
    if as_json:
        click.echo(json.dumps(_report(plan, used, used != "dry"), indent=2))
    else:
        _print(plan, used)
