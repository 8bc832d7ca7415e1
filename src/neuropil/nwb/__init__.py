"""NWB files on the client side: their fields, asset metadata, and DANDI's naming scheme.

- :mod:`neuropil.nwb.fields` reads the raw fields with h5py (fast, never crashes on a bad
  value);
- :mod:`neuropil.nwb.metadata` turns them into dandischema ``BareAsset`` metadata and
  reports what it could not interpret (:func:`extract_asset_metadata`);
- :mod:`neuropil.nwb.organize` (names) and :mod:`neuropil.nwb.placement` (files) implement
  ``neuropil organize``.

The names below are imported on first use: ``organize`` must not pay for dandischema.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Extraction": "neuropil.nwb.metadata",
    "MetadataProblem": "neuropil.nwb.metadata",
    "extract_asset_metadata": "neuropil.nwb.metadata",
    "NotNwbFile": "neuropil.nwb.fields",
    "NwbFields": "neuropil.nwb.fields",
    "read_fields": "neuropil.nwb.fields",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
