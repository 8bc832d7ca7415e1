"""Looking around: ``neuropil ls`` (remote) and ``neuropil digest`` (local files)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import yaml
from rich.console import Console
from rich.table import Table

from neuropil.cli.client_options import handle_errors, token_option
from neuropil.cli.reporting import human_size
from neuropil.client.archive import Archive
from neuropil.client.instances import Registry
from neuropil.client.models import Asset, Dandiset
from neuropil.client.urls import parse_url
from neuropil.core.digests import file_etag, file_sha256
from neuropil.errors import InvalidUrl

Record = dict[str, Any]


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def dandiset_record(ds: Dandiset) -> Record:
    return {
        "type": "dandiset",
        "identifier": ds.identifier,
        "version": ds.version_id,
        "name": ds.name,
        "asset_count": ds.version.asset_count,
        "size": ds.version.size,
        "status": ds.version.status,
        "embargo_status": ds.embargo_status,
        "modified": _time(ds.version.modified),
        "url": ds.url,
    }


def asset_record(asset: Asset) -> Record:
    return {
        "type": "asset",
        "path": asset.path,
        "size": asset.size,
        "asset_id": asset.asset_id,
        "created": _time(asset.created),
        "modified": _time(asset.modified),
    }


def _records(text: str, recursive: bool, token: str | None) -> Iterator[Record]:
    registry = Registry()
    try:
        target = parse_url(text, registry)
    except InvalidUrl:
        if not (re.match(r"(?i)https?://", text) or registry.find(text)):
            raise
        with Archive(text, token, registry=registry) as archive:  # a whole archive
            yield from (dandiset_record(d) for d in archive.dandisets())
        return
    with Archive(target.instance.api_url, token, registry=registry) as archive:
        selection = archive.select(target)
        if target.kind == "dandiset" and selection.dandiset is not None:
            yield dandiset_record(selection.dandiset)
            if not recursive:
                return
        for asset in selection.assets:
            record = asset_record(asset)
            if asset.zarr is not None:  # a folder of keys: how many, and their checksum
                zarr = archive.transport.get_json(f"zarr/{asset.zarr}/")
                record.update(
                    zarr=asset.zarr,
                    files=zarr["file_count"],
                    checksum=zarr["checksum"],
                    zarr_status=zarr["status"],
                )
            yield record


_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "dandiset": [
        ("identifier", "ID"),
        ("version", "Version"),
        ("name", "Name"),
        ("asset_count", "Assets"),
        ("size", "Size"),
        ("modified", "Modified"),
    ],
    "asset": [
        ("path", "Path"),
        ("size", "Size"),
        ("files", "Files"),
        ("modified", "Modified"),
        ("asset_id", "ID"),
    ],
}


def _cell(key: str, value: Any) -> str:
    if key == "size" and isinstance(value, int):
        return human_size(value)
    if key == "modified" and isinstance(value, str):
        return value[:19].replace("T", " ")
    return "" if value is None else str(value)


def _print_tables(records: Iterable[Record]) -> None:
    console = Console()
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(record["type"], []).append(record)
    for kind, rows in groups.items():
        table = Table(box=None, pad_edge=False, header_style="bold")
        # "Files" (of a Zarr) only when a Zarr is listed: no empty column for blobs.
        columns = [
            (k, t) for k, t in _COLUMNS[kind] if k != "files" or any("files" in r for r in rows)
        ]
        for _, title in columns:
            right = title in ("Size", "Assets", "Files")
            table.add_column(title, justify="right" if right else "left")
        for row in rows:
            table.add_row(*(_cell(k, row.get(k)) for k, _ in columns))
        console.print(table)


@click.command("ls")
@click.argument("url")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "yaml"]),
    default="table",
    show_default=True,
)
@click.option("-r", "--recursive", is_flag=True, help="With a Dandiset URL, list its assets too.")
@token_option
@handle_errors
def ls(url: str, fmt: str, recursive: bool, token: str | None) -> None:
    """List a Dandiset, the assets a folder/glob/asset URL names, or (given an instance name
    or server URL) the archive's Dandisets."""
    records = list(_records(url, recursive, token))
    if fmt == "json":
        click.echo(json.dumps(records, indent=2))
    elif fmt == "yaml":
        click.echo(yaml.safe_dump(records, sort_keys=False, allow_unicode=True), nl=False)
    else:
        _print_tables(records)


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


DIGESTS: dict[str, Callable[[Path], str]] = {
    "dandi-etag": file_etag,
    "sha256": file_sha256,
    "md5": _md5,
}


@click.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "-a",
    "--algorithm",
    "-d",
    "--digest",
    "algorithm",
    type=click.Choice(list(DIGESTS)),
    default="dandi-etag",
    show_default=True,
)
def digest(files: tuple[Path, ...], algorithm: str) -> None:
    """Print `path: digest` for local files (dandi-etag is what the archive checks)."""
    compute = DIGESTS[algorithm]
    for path in files:
        click.echo(f"{path}: {compute(path)}")
