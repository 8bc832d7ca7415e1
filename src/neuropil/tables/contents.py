"""What an NWB file holds, read from its ``.lindi.json`` index without opening the HDF5 file.

The index (:mod:`neuropil.index`) is a Zarr v2 reference file system: its ``refs`` map every
group to ``<path>/.zgroup``, every dataset to ``<path>/.zarray`` (with its ``shape``) and
their attributes to ``<path>/.zattrs`` (``neurodata_type`` among them). That is enough to
count the rows of a table (the length of its ``id`` dataset) and to list the children of a
group, which is all :class:`NwbContents` needs; no chunk is read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

DEVICES = "general/devices"
ACQUISITION = "acquisition"
OPHYS = "general/optophysiology"
ICEPHYS = "general/intracellular_ephys"
ELECTRODE_IDS = "general/extracellular_ephys/electrodes/id"
UNIT_IDS = "units/id"
_NODE_SUFFIXES = ("/.zgroup", "/.zarray")


@dataclass(frozen=True)
class NwbContents:
    """Devices, electrodes, units, imaging planes and acquisition series of one NWB file.

    ``electrode_count`` is the number of rows of the extracellular electrodes table plus the
    number of intracellular electrodes; ``units_count`` the rows of ``/units``. Names are
    sorted.
    """

    devices: tuple[str, ...] = ()
    electrode_count: int = 0
    units_count: int = 0
    imaging_planes: tuple[str, ...] = ()
    acquisition: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NwbContents:
        return cls(
            devices=tuple(data.get("devices") or ()),
            electrode_count=int(data.get("electrode_count") or 0),
            units_count=int(data.get("units_count") or 0),
            imaging_planes=tuple(data.get("imaging_planes") or ()),
            acquisition=tuple(data.get("acquisition") or ()),
        )


def _meta(refs: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """A ``.zattrs``/``.zarray`` entry: inline JSON (a dict) or JSON text; {} otherwise."""
    value = refs.get(key)
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, Mapping) else {}


def _children(refs: Mapping[str, Any], parents: tuple[str, ...]) -> dict[str, list[str]]:
    """Names of the groups and datasets directly inside each of ``parents``, in one pass
    over the keys (an index of a large file has hundreds of thousands of chunk keys)."""
    found: dict[str, set[str]] = {p: set() for p in parents}
    for key in refs:
        if key.endswith(_NODE_SUFFIXES):
            parent, _, name = key[: key.rindex("/")].rpartition("/")
            if parent in found:
                found[parent].add(name)
    return {p: sorted(names) for p, names in found.items()}


def _rows(refs: Mapping[str, Any], ids: str) -> int:
    shape = _meta(refs, f"{ids}/.zarray").get("shape")
    if isinstance(shape, list) and shape and isinstance(shape[0], int):
        return shape[0]
    return 0


def _typed(refs: Mapping[str, Any], parent: str, names: list[str], type_: str) -> list[str]:
    return [n for n in names if _meta(refs, f"{parent}/{n}/.zattrs").get("neurodata_type") == type_]


def read_contents(index: Mapping[str, Any]) -> NwbContents:
    """The contents of the NWB file an index describes (an index dict, or its ``refs``)."""
    refs = index.get("refs")
    if not isinstance(refs, Mapping):
        refs = index
    tree = _children(refs, (DEVICES, ACQUISITION, OPHYS, ICEPHYS))
    icephys = _typed(refs, ICEPHYS, tree[ICEPHYS], "IntracellularElectrode")
    return NwbContents(
        devices=tuple(tree[DEVICES]),
        electrode_count=_rows(refs, ELECTRODE_IDS) + len(icephys),
        units_count=_rows(refs, UNIT_IDS),
        imaging_planes=tuple(_typed(refs, OPHYS, tree[OPHYS], "ImagingPlane")),
        acquisition=tuple(tree[ACQUISITION]),
    )
