"""Build a ``.lindi.json``-compatible index of an HDF5 (NWB) file.

The index is a Zarr v2 view of the file as a reference file system: every group becomes
``.zgroup``/``.zattrs``, every dataset ``.zarray``/``.zattrs`` plus one ref per chunk
pointing into the file (``["{{u1}}", offset, size]``) or inline data. LINDI's reader
(``lindi.LindiH5pyFile.from_reference_file_system``) and :mod:`neuropil.index.reader` both
read it. Unlike LINDI, every chunk of every dataset is listed, however many there are.

The walk uses h5py's low-level link API: a link's kind (hard, soft, external) is known
without resolving it, so soft links are recorded as ``_SOFT_LINK`` rather than followed,
and a hard-link cycle is detected instead of recursing forever.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, BinaryIO

import h5py

from neuropil.errors import CorruptHdf5, UnsupportedHdf5
from neuropil.index._dataset_refs import attributes, dataset_refs
from neuropil.index._format import FORMAT_VERSION, SOFT_LINK, URL_TEMPLATE, ZGROUP, join
from neuropil.index._indexed_file import SourceFile, open_hdf5
from neuropil.index._json_values import References
from neuropil.index._layouts import IndexOptions


def build_index(
    source: str | Path | BinaryIO,
    *,
    url: str,
    options: IndexOptions | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """Index the HDF5 file ``source`` (a path or a seekable binary file object).

    ``url`` is where readers will fetch the file's bytes from; chunk refs name it through
    the template ``{{u1}}``. Raises :class:`~neuropil.errors.NotHdf5` for other files,
    :class:`~neuropil.errors.CorruptHdf5` for truncated or damaged ones and
    :class:`~neuropil.errors.UnsupportedHdf5` for features the format cannot express
    (external links, filters without a numcodecs twin, region references, ...). ``name``
    stands for the file in error messages (default: its path or file object's name).
    """
    with open_hdf5(source, name=name) as (src, file):
        walker = _Walker(file, src, options or IndexOptions())
        try:
            walker.group("", file, ancestors=frozenset())
        except (OSError, RuntimeError) as exc:  # h5py's translation of HDF5 library errors
            raise CorruptHdf5(f"{src.name} could not be read completely: {exc}") from exc
    return {"version": FORMAT_VERSION, "templates": {URL_TEMPLATE: url}, "refs": walker.refs}


def write_index(index: dict[str, Any], path: str | Path) -> None:
    """Write an index as compact JSON with sorted keys (stable bytes for equal indexes)."""
    Path(path).write_text(dumps_index(index), encoding="utf-8")


def dumps_index(index: dict[str, Any]) -> str:
    """The JSON text :func:`write_index` writes; ``allow_nan`` is off because the format
    spells NaN/Inf as strings, so a bare NaN would be a builder bug."""
    return json.dumps(index, sort_keys=True, separators=(",", ":"), allow_nan=False)


class _Walker:
    """Collects the refs of one file, group by group."""

    def __init__(self, file: h5py.File, src: SourceFile, options: IndexOptions) -> None:
        self.refs: dict[str, Any] = {}
        self._src = src
        self._options = options
        self._references = References(file)

    def group(self, prefix: str, group: h5py.Group, *, ancestors: frozenset[int]) -> None:
        """Record ``group`` at key ``prefix`` and everything below it."""
        self.refs[join(prefix, ".zgroup")] = dict(ZGROUP)
        attrs = attributes(group, self._references)
        if attrs:
            self.refs[join(prefix, ".zattrs")] = attrs
        inside = ancestors | {h5py.h5o.get_info(group.id).addr}
        for name in _link_names(group.id):
            self._link(prefix, group, name, ancestors=inside)

    def _link(
        self, prefix: str, group: h5py.Group, name: bytes, *, ancestors: frozenset[int]
    ) -> None:
        key = join(prefix, name.decode("utf-8"))
        path = "/" + key
        kind = group.id.links.get_info(name).type
        if kind == h5py.h5l.TYPE_SOFT:
            target = group.id.links.get_val(name).decode("utf-8")
            self.refs[join(key, ".zgroup")] = dict(ZGROUP)
            self.refs[join(key, ".zattrs")] = {SOFT_LINK: {"path": target}}
        elif kind == h5py.h5l.TYPE_EXTERNAL:
            filename, target = (part.decode("utf-8") for part in group.id.links.get_val(name))
            raise UnsupportedHdf5(
                f"{path} is an external link (to {target} in {filename}); the index cannot "
                "point into other files"
            )
        elif kind == h5py.h5l.TYPE_HARD:
            self._object(key, group, name, ancestors=ancestors)
        else:
            raise UnsupportedHdf5(f"{path} is a user-defined link (type {kind}), not supported")

    def _object(
        self, key: str, group: h5py.Group, name: bytes, *, ancestors: frozenset[int]
    ) -> None:
        info = h5py.h5o.get_info(group.id, name)
        if info.type == h5py.h5o.TYPE_GROUP:
            if info.addr in ancestors:
                raise UnsupportedHdf5(f"/{key} is a hard link to one of its own parent groups")
            self.group(key, group[name], ancestors=ancestors)
        elif info.type == h5py.h5o.TYPE_DATASET:
            self.refs.update(
                dataset_refs(
                    group[name], key, src=self._src, refs=self._references, options=self._options
                )
            )
        # Committed datatypes (TYPE_NAMED_DATATYPE) hold no data; LINDI skips them too.


def _link_names(gid: h5py.h5g.GroupID) -> list[bytes]:
    """Link names in name order: the order h5py's ``keys()`` gives, whatever the file's."""
    names: list[bytes] = []

    def collect(name: bytes) -> None:
        names.append(name)

    gid.links.iterate(collect, idx_type=h5py.h5.INDEX_NAME, order=h5py.h5.ITER_INC)
    return names
