"""The object tree of an indexed file, as :class:`~.model.Node` values, within bounds.

Everything comes from the index (names, shapes, types, attributes, the chunk grid); no
chunk is read. Soft links are listed with their target and not walked into, so the walk
is finite on any file; a link to a dataset carries that dataset's shape and grid (previews
read through it). At most :data:`~.model.MAX_NODES` objects and
:data:`~.model.MAX_MEMBERS` members per group are listed, the rest counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import h5py
import numpy as np

from neuropil.index import IndexFile
from neuropil.services.preview.model import MAX_MEMBERS, MAX_NODES, Node

#: Attributes that previews use; nothing else is copied out of a file.
NUMBER_ATTRS = ("rate", "conversion", "offset", "resolution")
TEXT_ATTRS = ("unit",)
MAX_TEXT = 80


class _Budget:
    def __init__(self, nodes: int) -> None:
        self.left = nodes

    def take(self) -> bool:
        self.left -= 1
        return self.left >= 0


def walk(file: IndexFile, refs: Mapping[str, Any], path: str = "/", *, depth: int = 64) -> Node:
    """The tree below ``path`` (its members ``depth`` levels down). ``KeyError`` if missing."""
    link = file.get(path, getlink=True) if path != "/" else None
    if isinstance(link, h5py.SoftLink):
        return _link(file, path, link, refs)
    return _node(file[path], path, refs, depth, _Budget(MAX_NODES))


def _link(group: Any, path: str, link: h5py.SoftLink, refs: Mapping[str, Any]) -> Node:
    """A soft link, not followed; one to a dataset describes it (previews read through it)."""
    target = _text(link.path)
    try:
        found = group[path]
    except (KeyError, ValueError):  # dangling, or a loop of links
        return Node(path, "link", target=target)
    if isinstance(found, h5py.Dataset):
        return replace(_dataset(found, path, refs, None), kind="link", target=target)
    return Node(path, "link", target=target)


def _node(obj: Any, path: str, refs: Mapping[str, Any], depth: int, budget: _Budget) -> Node:
    kind = _neurodata_type(obj)
    if isinstance(obj, h5py.Dataset):
        return _dataset(obj, path, refs, kind)
    members: list[Node] = []
    names = list(obj.keys()) if depth > 0 else []
    for name in names[:MAX_MEMBERS]:
        if not budget.take():
            break
        child = f"{path.rstrip('/')}/{name}"
        link = obj.get(name, getlink=True)
        if isinstance(link, h5py.SoftLink):
            members.append(_link(obj, child, link, refs))
        else:
            members.append(_node(obj[name], child, refs, depth - 1, budget))
    hidden = len(names) - len(members)
    return Node(path, "group", neurodata_type=kind, members=tuple(members), hidden=hidden)


def _dataset(ds: Any, path: str, refs: Mapping[str, Any], kind: str | None) -> Node:
    dtype = ds.dtype
    numeric = dtype.kind in "biuf" and dtype.fields is None
    return Node(
        path,
        "dataset",
        neurodata_type=kind,
        shape=tuple(int(n) for n in ds.shape),
        dtype=_dtype_text(dtype),
        numeric=numeric,
        itemsize=int(dtype.itemsize) if numeric else 0,
        chunks=_grid(refs, ds.id.key),
        attrs=_attrs(ds.attrs),
    )


def _grid(refs: Mapping[str, Any], key: str) -> tuple[int, ...] | None:
    """The Zarr chunk shape the index stores the dataset in (the chunks a read decodes)."""
    doc = refs.get(f"{key}/.zarray" if key else ".zarray")
    chunks = doc.get("chunks") if isinstance(doc, Mapping) else None
    if not isinstance(chunks, list) or not all(type(n) is int and n > 0 for n in chunks):
        return None
    return tuple(chunks)


def _attrs(attrs: Any) -> dict[str, float | str]:
    found: dict[str, float | str] = {}
    for name in NUMBER_ATTRS:
        value = _number(attrs.get(name))
        if value is not None:
            found[name] = value
    for name in TEXT_ATTRS:
        text = _text(attrs.get(name))
        if text:
            found[name] = text
    return found


def _neurodata_type(obj: Any) -> str | None:
    return _text(obj.attrs.get("neurodata_type")) or None


def _number(value: Any) -> float | None:
    if isinstance(value, np.ndarray) and value.shape in ((), (1,)):
        value = value.reshape(-1)[0]
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        return None
    number = float(value)
    return number if np.isfinite(number) else None


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value[:MAX_TEXT] if isinstance(value, str) else ""


def _dtype_text(dtype: np.dtype[Any]) -> str:
    if dtype.fields is not None:
        return "compound(" + ", ".join(dtype.names or ()) + ")"
    string = h5py.check_string_dtype(dtype)
    if string is not None:
        return "str" if string.encoding == "utf-8" else "ascii"
    if h5py.check_ref_dtype(dtype) is not None:
        return "reference"
    return str(dtype)
