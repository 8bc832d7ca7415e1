"""neuropil: a self-hostable archive for neurophysiology data that speaks the DANDI REST API.

The package is layered; the file list reads from the bottom up:

* :mod:`neuropil.core` - small typed values shared by server, client and streaming code
  (digests, byte ranges, identifiers, asset paths, URL signing);
* :mod:`neuropil.storage` - blob storage behind one interface (local filesystem, memory, ...);
* :mod:`neuropil.db` - SQLAlchemy models, engine set-up and Alembic migrations;
* :mod:`neuropil.services` - keyword-only service functions owning permissions and transactions;
* :mod:`neuropil.jobs` - the durable background job queue (in-process workers by default);
* :mod:`neuropil.api` - thin FastAPI handlers speaking the DANDI REST API;
* :mod:`neuropil.client` - the HTTP client layer; :mod:`neuropil.cli` - the ``neuropil`` command.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from neuropil._version import __version__

if TYPE_CHECKING:
    from neuropil.client.archive import Archive
    from neuropil.client.opening import open, open_nwb
    from neuropil.client.tables import archive_info
    from neuropil.client.zarr_open import open_zarr

#: Public names loaded on first use, so ``import neuropil`` (and every CLI start) stays fast.
_LAZY = {
    "Archive": "neuropil.client.archive",
    "archive_info": "neuropil.client.tables",
    # Any name of a file, a path in a Dandiset too (the client loads only for those).
    "open": "neuropil.client.opening",
    "open_nwb": "neuropil.client.opening",
    "open_zarr": "neuropil.client.zarr_open",
}

__all__ = ["Archive", "__version__", "archive_info", "open", "open_nwb", "open_zarr"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'neuropil' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
