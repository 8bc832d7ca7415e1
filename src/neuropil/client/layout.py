"""Where downloaded files go, and what ``sync`` may delete: the official client's rules.

``dandi download`` puts a Dandiset at ``<out>/<id>/<path>`` with ``dandiset.yaml``, a folder
or path prefix without the URL's parent directories, a single asset under its basename, and
a glob's matches by full path; ``--preserve-tree`` keeps ``<out>/<id>/<full path>``. Its
``--sync`` deletes local files "under the download path" of the URL that the remote lacks;
:func:`sync_scope` is that rule as the official client documents it (its code checks the
URL's parent folder instead, which never matches the stripped local paths).
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from neuropil.client.events import Status
from neuropil.client.models import Dandiset
from neuropil.client.urls import Target


def local_path(target: Target, asset_path: str, *, preserve_tree: bool = False) -> str:
    """Where an asset goes, relative to the download root (``<out>/<id>`` for a Dandiset URL
    or with ``preserve_tree``, else ``<out>``): the whole path for a Dandiset, a glob or with
    ``preserve_tree``; the basename for a single asset; for a folder or path prefix, the path
    without the URL's parent directory (``a/b/`` downloads as ``b/…``)."""
    path = asset_path.lstrip("/")
    if preserve_tree or target.kind in ("dandiset", "glob"):
        return path
    if target.kind in ("item", "asset_id"):
        return posixpath.basename(path)
    prefix = _parent_prefix(target.path or "")
    return path[len(prefix) :] if path.startswith(prefix) else path


def _parent_prefix(url_path: str) -> str:
    parent = posixpath.dirname(url_path.strip("/"))
    return f"{parent}/" if parent else ""


def glob_regex(pattern: str) -> re.Pattern[str]:
    """The server's glob: ``*`` matches anything (also ``/``), case-insensitive."""
    return re.compile(re.escape(pattern).replace(r"\*", ".*"), re.IGNORECASE)


@dataclass(frozen=True)
class SyncScope:
    """The local paths (relative to the download root) a URL is responsible for: all lie
    under the folder ``base`` (``""``: the root) and satisfy ``contains``."""

    base: str
    contains: Callable[[str], bool]


def _folder_of(literal: str) -> str:
    return literal[: literal.rfind("/")] if "/" in literal else ""


def sync_scope(target: Target, *, preserve_tree: bool = False) -> SyncScope | None:
    """Which local files ``sync`` may delete when the remote no longer has them; None for
    single assets, which have no scope."""
    kind = target.kind
    if kind == "dandiset":
        return SyncScope("", lambda _rel: True)
    if kind in ("item", "asset_id"):
        return None
    if kind == "glob":
        pattern = target.glob or ""
        regex = glob_regex(pattern)
        return SyncScope(
            _folder_of(pattern.split("*", 1)[0]), lambda rel: regex.fullmatch(rel) is not None
        )
    url_path = target.path or ""
    prefix = url_path if preserve_tree else local_path(target, url_path)
    return SyncScope(_folder_of(prefix), lambda rel: rel.startswith(prefix))


def yaml_verdict(path: Path, ds: Dandiset, existing: str) -> tuple[Status, str] | None:
    """(status, message) when ``dandiset.yaml`` is left alone, None to (re)write it."""
    if not (path.exists() or path.is_symlink()):
        return None
    try:
        same = yaml.safe_load(path.read_text(encoding="utf-8")) == ds.metadata
    except (OSError, yaml.YAMLError):
        same = False
    if same:
        return "skipped", "no change"
    if existing == "error":
        return "failed", f"{path} already exists (choose another --existing policy)"
    if existing == "skip":
        return "skipped", "already exists"
    modified = ds.modified
    if existing == "refresh" and modified and path.stat().st_mtime >= modified.timestamp():
        return "skipped", "already exists (not older than the remote)"
    return None


def prune_empty_dirs(root: Path, dirs: Iterable[Path]) -> None:
    """Remove directories emptied by ``sync``, up to (not including) ``root``."""
    root = Path(os.path.abspath(root))
    for start in sorted({Path(os.path.abspath(d)) for d in dirs}, key=lambda p: -len(p.parts)):
        d = start
        while d != root and root in d.parents:
            try:
                d.rmdir()
            except OSError:
                break
            d = d.parent


def sorted_metadata(value: Any) -> Any:
    """Mappings with their keys sorted, recursively: ``dandiset.yaml`` lists keys in the
    same order as the official client writes them."""
    if isinstance(value, dict):
        return {k: sorted_metadata(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sorted_metadata(v) for v in value]
    return value
