"""What the file page shows of a Zarr asset: it is a folder of keys, not one download."""

from __future__ import annotations

import json
from dataclasses import dataclass

from neuropil.services.assets import AssetRecord
from neuropil.services.content import zarr_url
from neuropil.services.zarr import reading
from neuropil.web.state import Web


@dataclass(frozen=True)
class ZarrPanel:
    url: str
    status: str
    file_count: int
    size: int
    checksum: str | None
    #: ``.zattrs`` pretty-printed, when the Zarr has a small one.
    attributes: str | None
    snippet: str
    published_snapshot: bool


def zarr_panel(web: Web, record: AssetRecord) -> ZarrPanel | None:
    """The panel of a Zarr asset (``None`` for a blob)."""
    z = record.zarr
    if z is None:
        return None
    url = zarr_url(web.urls, z.zarr_id)
    raw = reading.small_file(web.ctx, user=web.reader, zarr_id=z.zarr_id, key=".zattrs")
    attributes = None
    if raw is not None:
        try:
            attributes = json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
        except ValueError:
            attributes = raw.decode("utf-8", "replace")
    snippet = f'import neuropil\n\ngroup = neuropil.open_zarr("{url}")\nprint(group.tree())'
    return ZarrPanel(
        url=url,
        status=z.status,
        file_count=z.file_count,
        size=z.size,
        checksum=z.checksum,
        attributes=attributes,
        snippet=snippet,
        published_snapshot=z.snapshot_of is not None,
    )
