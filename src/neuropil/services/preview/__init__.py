"""Built-in previews of HDF5/NWB files, drawn by the server from their index.

A file page shows the object tree (groups, datasets, shapes, types, NWB neurodata types)
and PNG previews of the common NWB types, both made from the blob's LINDI index and a few
bounded chunk reads from the store, never a download of the file:

- :mod:`.model`: nodes, plans and the bounds every preview stays within;
- :mod:`.tree`: the index's object tree as nodes; :mod:`.planner`: which object gets which
  preview and what exactly it reads; :mod:`.budget`: what a read costs in whole chunks;
- :mod:`.source`: the parsed index (cached) and the file opened over the blob store;
- :mod:`.extract` and :mod:`.render`: the reads, and the drawing (matplotlib, Agg);
- :mod:`.service`: the service functions the web pages call.

See ``docs/design/preview.md``.
"""

from neuropil.services.preview.model import Kind, Node, Plan, Read
from neuropil.services.preview.service import (
    Overview,
    PreviewTarget,
    file_overview,
    locate_preview,
    render_preview,
)

__all__ = [
    "Kind",
    "Node",
    "Overview",
    "Plan",
    "PreviewTarget",
    "Read",
    "file_overview",
    "locate_preview",
    "render_preview",
]
