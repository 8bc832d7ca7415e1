"""Moving data: ``neuropil download``, ``upload``, ``delete`` and ``create``.

Thin commands over :class:`neuropil.client.archive.Archive`; progress and the summary come
from :mod:`neuropil.cli.progress` and :mod:`neuropil.cli.reporting`. The exit status is 1
when any file failed (each failure is listed with its reason) or a deletion was refused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from neuropil.cli.client_options import (
    FAILED,
    authenticated_archive,
    handle_errors,
    instance_option,
    json_option,
    token_option,
    yes_option,
)
from neuropil.cli.confirm import Confirmer
from neuropil.cli.error_messages import explain
from neuropil.cli.progress import make_reporter
from neuropil.cli.reporting import Reporter, Summary, Timer
from neuropil.client.archive import Archive
from neuropil.client.download_records import DownloadResult
from neuropil.client.instances import Registry
from neuropil.client.policies import DOWNLOAD_EXISTING
from neuropil.client.tokens import require_token
from neuropil.client.upload_files import UploadReport
from neuropil.client.urls import Target, parse_url
from neuropil.errors import InvalidUrl, NeuropilError, UsageError
from neuropil.localfiles import find_dandiset_root, select_files

UPLOAD_EXISTING = ("error", "skip", "force", "overwrite", "refresh")


def parse_jobs(value: str, default_inner: int) -> tuple[int, int]:
    """``N`` or ``N:M`` (files at once : connections or part uploads per file)."""
    outer, _, inner = value.partition(":")
    try:
        jobs = (int(outer), int(inner) if inner else default_inner)
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected N or N:M (whole numbers)") from None
    if min(jobs) < 1:
        raise click.BadParameter(f"{value!r}: numbers must be at least 1")
    return jobs


def _finish(reporter: Reporter, summary: Summary, confirmer: Confirmer, timer: Timer) -> None:
    summary.seconds = timer.seconds
    if confirmer.refused:
        summary.notes.append(
            f"{len(confirmer.refused)} {confirmer.what} were not deleted: "
            "run again with --yes (or on a terminal) to delete them"
        )
    reporter.finish(summary)
    if not summary.ok or confirmer.refused:
        raise SystemExit(FAILED)


# -- download --------------------------------------------------------------------------------


@click.command()
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where to put the files (created if missing).",
)
@click.option(
    "-e",
    "--existing",
    type=click.Choice(DOWNLOAD_EXISTING),
    default="error",
    show_default=True,
    help="What to do with files that exist locally. Partial downloads resume regardless.",
)
@click.option(
    "-J",
    "--jobs",
    default="6:4",
    show_default=True,
    metavar="N[:M]",
    help="Files at once : connections per large file.",
)
@click.option(
    "--preserve-tree",
    is_flag=True,
    help="Keep full asset paths under <out>/<id>/ and write dandiset.yaml, whatever the URL.",
)
@click.option(
    "--sync", is_flag=True, help="Delete local files in the URL's scope that the server lacks."
)
@yes_option
@json_option
@token_option
@handle_errors
def download(
    urls: tuple[str, ...],
    output_dir: Path,
    existing: str,
    jobs: str,
    preserve_tree: bool,
    sync: bool,
    yes: bool,
    json_lines: bool,
    token: str | None,
) -> None:
    """Download Dandisets, folders, globs or single assets, verifying every byte.

    URL is any form the official client accepts (DANDI:000027, https://…/dandiset/000027,
    …/assets/?glob=…, dandi://NAME/000027/sub-1/, …), for any archive. Files land as with
    `dandi download`: a Dandiset in <out>/<id>/ with dandiset.yaml, a folder without its
    parent directories, a single asset under its name, a glob by full path.
    """
    files, connections = parse_jobs(jobs, 4)
    reporter = make_reporter(json_lines)
    confirmer = Confirmer(yes, "local files not on the server", before_asking=reporter.pause)
    summary, timer = Summary("download"), Timer()
    registry = Registry()
    archives: dict[str, Archive] = {}
    try:
        for url in urls:
            try:
                target = parse_url(url, registry)
                archive = _archive_for(archives, target, token, registry)
                selection = archive.select(target)
                reporter.expect({a.path: a.size for a in selection.assets})
                result = archive.download(
                    selection,
                    output_dir,
                    existing=existing,
                    jobs=files,
                    connections=connections,
                    preserve_tree=preserve_tree,
                    sync=sync,
                    confirm_delete=confirmer,
                    progress=reporter,
                )
            except NeuropilError as exc:
                summary.fail(url, explain(exc))
                continue
            _add_download(summary, result)
    finally:
        for archive in archives.values():
            archive.close()
    _finish(reporter, summary, confirmer, timer)


def _archive_for(
    archives: dict[str, Archive], target: Target, token: str | None, registry: Registry
) -> Archive:
    key = target.instance.api_url
    if key not in archives:
        archives[key] = Archive(key, token, registry=registry)
    return archives[key]


def _add_download(summary: Summary, result: DownloadResult) -> None:
    summary.done += result.done
    summary.skipped += result.skipped
    summary.bytes += result.bytes_fetched
    summary.failures.extend((f.path, (f.reason,)) for f in result.failures)
    summary.deleted += len(result.deleted)


# -- upload ----------------------------------------------------------------------------------


@click.command()
@click.argument(
    "paths", nargs=-1, type=click.Path(exists=True, path_type=Path), metavar="[PATHS]..."
)
@click.option(
    "-e",
    "--existing",
    type=click.Choice(UPLOAD_EXISTING),
    default="refresh",
    show_default=True,
    help="What to do with assets that exist on the server.",
)
@click.option(
    "-J",
    "--jobs",
    default="4:4",
    show_default=True,
    metavar="N[:M]",
    help="Files at once : part uploads per file.",
)
@click.option(
    "--validation",
    type=click.Choice(["require", "skip", "ignore"]),
    default="require",
    show_default=True,
    help="require: refuse invalid files (reasons shown); ignore: report only; skip: no checks.",
)
@click.option(
    "--sync", is_flag=True, help="Delete remote assets (in the paths' scope) missing locally."
)
@yes_option
@json_option
@instance_option
@token_option
@handle_errors
def upload(
    paths: tuple[Path, ...],
    existing: str,
    jobs: str,
    validation: str,
    sync: bool,
    yes: bool,
    json_lines: bool,
    instance: str | None,
    token: str | None,
) -> None:
    """Upload files (default: the current directory) into the draft of the Dandiset whose
    dandiset.yaml is in or above them."""
    files, parts = parse_jobs(jobs, 4)
    reporter = make_reporter(json_lines)
    confirmer = Confirmer(yes, "remote assets not present locally", before_asking=reporter.pause)
    summary, timer = Summary("upload"), Timer()
    root = find_dandiset_root(list(paths) or [Path.cwd()])
    selection = select_files(root, list(paths) or None)
    reporter.expect({f.asset_path: _size(f.path) for f in selection.files})
    with authenticated_archive(instance, token, writing="Uploading") as archive:
        report = archive.upload(
            list(paths) or None,
            root,
            existing=existing,
            jobs=files,
            part_jobs=parts,
            validation=validation,
            sync=sync,
            confirm_delete=confirmer,
            progress=reporter,
        )
    _add_upload(summary, report)
    _finish(reporter, summary, confirmer, timer)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _add_upload(summary: Summary, report: UploadReport) -> None:
    summary.done += len(report.uploaded) + len(report.deduplicated)
    summary.skipped += len(report.skipped)
    summary.bytes += report.bytes_sent
    summary.deleted += len(report.deleted)
    summary.failures.extend((f.path, f.reasons) for f in report.failed)
    refused = {f.path for f in report.failed}
    shown = [f for f in report.findings if f.path not in refused and f.severity != "HINT"]
    summary.notes.extend(f"{f.severity.lower()}: {f}" for f in shown)


# -- delete and create -----------------------------------------------------------------------


@click.command()
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@yes_option
@token_option
@handle_errors
def delete(urls: tuple[str, ...], yes: bool, token: str | None) -> None:
    """Delete assets, folders or whole Dandisets on the server (never local files).

    Assets are removed from the draft; a Dandiset can be deleted while it has no published
    version. Asks first, unless --yes; never asks when stdin is not a terminal."""
    registry = Registry()
    archives: dict[str, Archive] = {}
    try:
        _delete(urls, yes, token, registry, archives)
    finally:
        for archive in archives.values():
            archive.close()


def _delete(
    urls: tuple[str, ...],
    yes: bool,
    token: str | None,
    registry: Registry,
    archives: dict[str, Archive],
) -> None:
    plans = [_deletion(url, token, registry, archives) for url in urls]
    confirmer = Confirmer(yes, "items")
    listed = [label for _, labels in plans for label in labels]
    if not confirmer(listed):
        raise SystemExit(FAILED if confirmer.refused else 0)
    failures = 0
    for action, labels in plans:
        try:
            action()
        except NeuropilError as exc:
            failures += 1
            click.echo(f"✗ {', '.join(labels)}: {explain(exc)}", err=True)
    click.echo(f"Deleted {len(listed) - failures} of {len(listed)} items.")
    if failures:
        raise SystemExit(FAILED)


def _deletion(
    url: str, token: str | None, registry: Registry, archives: dict[str, Archive]
) -> tuple[Callable[[], None], list[str]]:
    """(a function that deletes, what it deletes) for one URL."""
    target = parse_url(url, registry)
    if target.version not in (None, "draft"):
        raise InvalidUrl(f"{url}: version {target.version} is published and cannot change")
    key = target.instance.api_url
    if key not in archives:
        archives[key] = Archive(key, require_token(target.instance, token), registry=registry)
    archive = archives[key]
    if target.kind == "dandiset":
        ds = archive.dandiset(str(target.dandiset_id), "draft")
        label = f"dandiset {ds.identifier} ({ds.name!r}, {ds.version.asset_count} assets)"
        return ds.delete, [label]
    assets = archive.select(target, version="draft").assets
    if not assets:
        raise UsageError(f"{url}: nothing to delete")

    def delete_all() -> None:
        for asset in assets:
            asset.delete()

    return delete_all, [f"{target.dandiset_id}/{a.path}" for a in assets]


@click.command()
@click.argument("name")
@click.option("--description", default=None, help="The Dandiset's description.")
@click.option("--embargo", is_flag=True, help="Create it embargoed (visible to owners only).")
@instance_option
@token_option
@handle_errors
def create(
    name: str, description: str | None, embargo: bool, instance: str | None, token: str | None
) -> None:
    """Create a Dandiset; prints its id, then its URL."""
    metadata = {"description": description} if description else None
    with authenticated_archive(instance, token, writing="Creating a dandiset") as archive:
        ds = archive.create_dandiset(name, metadata, embargo=embargo)
    click.echo(ds.identifier)
    click.echo(ds.url)
