"""``neuropil index``: build a ``.lindi.json`` index of a local or remote HDF5/NWB file.

The index is the one a neuropil server builds after upload (:func:`neuropil.index.build_index`):
readers (``neuropil.open(index=...)``, ``lindi.LindiH5pyFile.from_lindi_file``) get the whole
object tree from it in one read and fetch chunks by byte range from where its refs point.
The output appears whole or not at all: it is written to a temporary file next to it and
renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, cast
from urllib.parse import urlsplit

import click

from neuropil.cli.client_options import handle_errors


def _is_url(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https")


def _build(source: str, url: str | None) -> dict[str, Any]:
    from neuropil.index import build_index
    from neuropil.stream import RemoteFile

    if _is_url(source):
        with RemoteFile(source) as remote:
            # RemoteFile is a raw binary file: all build_index needs is read/seek.
            return build_index(cast(BinaryIO, remote), url=url or source)
    path = Path(source)
    if not path.is_file():
        raise click.ClickException(f"{source}: no such file (give a path or an http(s) URL)")
    return build_index(path, url=url or str(path.resolve()))


def _write_atomically(text: str, output: Path) -> None:
    """Write ``text`` to ``output`` by rename, so a crash leaves no partial index."""
    directory = output.parent
    if not directory.is_dir():
        raise click.ClickException(f"cannot write {output}: {directory} is not a directory")
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, output)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _summary(index: dict[str, Any]) -> str:
    refs = index["refs"]
    chunks = sum(1 for v in refs.values() if isinstance(v, list))
    arrays = sum(1 for k in refs if k.endswith(".zarray"))
    groups = sum(1 for k in refs if k.endswith(".zgroup"))
    return f"{groups} groups, {arrays} datasets, {chunks} chunk refs"


@click.command()
@click.argument("source", metavar="FILE_OR_URL")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Where to write the index (conventionally NAME.lindi.json).",
)
@click.option(
    "--url",
    default=None,
    metavar="URL",
    help="Where readers fetch the file's bytes (what chunk refs point at). Default: the "
    "source URL, or the absolute path of a local file.",
)
@handle_errors
def index(source: str, output: Path, url: str | None) -> None:
    """Build a LINDI-compatible .lindi.json index of an HDF5/NWB FILE_OR_URL.

    Every group, dataset and attribute is in the index and every chunk is referenced by
    byte range (no chunk-count cut-off). Remote files are read lazily: only their metadata
    is downloaded. Exits with status 1, writing nothing, when the input is not HDF5, is
    truncated or uses a feature the index cannot express.
    """
    from neuropil.index import dumps_index

    built = _build(source, url)
    text = dumps_index(built)
    _write_atomically(text, output)
    click.echo(f"{output}: {_summary(built)} ({len(text.encode()):,} bytes)")
