"""``neuropil metadata`` (show or replace draft metadata) and ``neuropil publish``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from neuropil.cli.client_options import FAILED, handle_errors, token_option
from neuropil.client import publishing
from neuropil.client.archive import Archive
from neuropil.client.instances import Registry
from neuropil.client.tokens import require_token, resolve_token
from neuropil.client.urls import Target, parse_url
from neuropil.errors import InvalidUrl, LocalFileError


def _dandiset_target(url: str, registry: Registry) -> Target:
    target = parse_url(url, registry)
    if target.dandiset_id is None:
        raise InvalidUrl(f"{url} does not name a Dandiset")
    return target


def _print_errors(title: str, errors: list[publishing.FieldError]) -> None:
    if not errors:
        return
    click.echo(title, err=True)
    for e in errors:
        click.echo(f"  ✗ {e}", err=True)


def _print_state(state: publishing.VersionState) -> None:
    if state.publishable:
        click.echo(f"The draft is {state.status}: ready to publish.")
        return
    click.echo(f"The draft is {state.status}.")
    _print_errors("Metadata errors (fix before publishing):", state.version_errors)
    real = [e for e in state.asset_errors if e.message != publishing.BEING_VALIDATED]
    _print_errors("Asset errors:", real)


@click.command()
@click.argument("url", metavar="URL")
@click.option(
    "--set",
    "source",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="Replace the draft's metadata with this YAML or JSON file ('-' for stdin).",
)
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml")
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="After --set, wait for the draft's validation and show what stands in the way of "
    "publishing.",
)
@token_option
@handle_errors
def metadata(url: str, source: Path | None, fmt: str, wait: bool, token: str | None) -> None:
    """Show a version's metadata, or replace the draft's with --set FILE.yaml.

    The server strips and recomputes computed fields (identifier, citation, assetsSummary,
    ...). Errors that make the file unusable are refused with each field named (exit 1);
    fields that are only required for publishing are listed after saving."""
    registry = Registry()
    target = _dandiset_target(url, registry)
    ident = str(target.dandiset_id)
    if source is None:
        key = resolve_token(target.instance, token)
        with Archive(target.instance.api_url, key, registry=registry) as archive:
            md = archive.dandiset(ident, target.version).metadata
        _dump(md, fmt)
        return
    if target.version not in (None, "draft"):
        raise InvalidUrl(f"version {target.version} is published; only the draft can change")
    new = _load(source)
    key = require_token(target.instance, token)
    with Archive(target.instance.api_url, key, registry=registry) as archive:
        try:
            state = publishing.set_metadata(archive.transport, ident, new)
        except publishing.MetadataRejected as exc:
            click.echo(f"The server refused the metadata of dandiset {ident}:", err=True)
            for e in exc.errors or [publishing.FieldError("", str(exc))]:
                click.echo(f"  ✗ {e}", err=True)
            raise SystemExit(FAILED) from exc
        click.echo(f"Saved the metadata of dandiset {ident}'s draft.")
        if wait:
            state = publishing.wait_until_validated(archive.transport, ident, timeout=60)
        _print_state(state)


def _load(source: Path) -> dict[str, Any]:
    import yaml

    text = sys.stdin.read() if str(source) == "-" else source.read_text()
    try:
        data = yaml.safe_load(text)  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise LocalFileError(f"{source} is not valid YAML or JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise LocalFileError(f"{source} must hold a mapping of metadata fields, not {type(data)}")
    return data


def _dump(md: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(md, indent=2, ensure_ascii=False))
    else:
        import yaml

        click.echo(yaml.safe_dump(md, sort_keys=False, allow_unicode=True), nl=False)


@click.command()
@click.argument("url", metavar="URL")
@click.option("--notes", default=None, help="Release notes for the new version.")
@click.option(
    "--wait/--no-wait",
    default=False,
    help="Wait for validation to finish before asking, and for the new version to exist.",
)
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Seconds to wait.")
@token_option
@handle_errors
def publish(url: str, notes: str | None, wait: bool, timeout: float, token: str | None) -> None:
    """Publish the draft of a Dandiset as a new immutable version (0.YYMMDD.HHMM).

    Refused, with the reasons, while the draft or an asset is invalid, still being validated
    (use --wait), unchanged since the last version, or being published."""
    registry = Registry()
    target = _dandiset_target(url, registry)
    ident = str(target.dandiset_id)
    key = require_token(target.instance, token)
    with Archive(target.instance.api_url, key, registry=registry) as archive:
        transport = archive.transport
        if wait:
            state = publishing.wait_until_validated(transport, ident, timeout=timeout)
            if not state.publishable and state.status != "Published":
                _print_state(state)
                raise SystemExit(FAILED)
        try:
            version = publishing.publish(
                transport, ident, release_notes=notes, wait=wait, timeout=timeout
            )
        except publishing.NotPublishable as exc:
            click.echo(f"Dandiset {ident} cannot be published: {exc}", err=True)
            if exc.state is not None:
                _print_state(exc.state)
            raise SystemExit(FAILED) from exc
        if version is None:
            click.echo(f"Publishing dandiset {ident} (the server works on it in the background).")
            return
        ds = archive.dandiset(ident, version)
        click.echo(f"Published dandiset {ident} version {version}: {ds.url}")
        doi = ds.metadata.get("doi")
        if doi:
            click.echo(f"DOI: {doi}")
