"""What the file page shows of a Zarr asset: it is a folder of keys, not one download.

Its links must work for whoever reads the page. The key URL (``/zarr/<id>/<key>``) reads an
API key, never the session: an open Zarr's links point at it (the URL users copy), an
embargoed one's at the web app's route to its files (``via``), which reads the session and
answers with a signed URL (:func:`neuropil.services.downloads.zarr_file`). The Zarr URL
itself, for scripts, then says it needs an API key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

from neuropil.core.zarr_paths import METADATA_NAMES
from neuropil.services.assets import AssetRecord
from neuropil.services.content import zarr_url
from neuropil.services.zarr import reading
from neuropil.web.state import Web

OPEN_SNIPPET = 'import neuropil\n\ngroup = neuropil.open_zarr("{url}")\nprint(group.tree())'
EMBARGOED_SNIPPET = (
    "import os\n\nimport neuropil\n\n"
    "# Embargoed: send the API key of an account that may read this dandiset.\n"
    'group = neuropil.open_zarr("{url}", token=os.environ["NEUROPIL_API_KEY"])\n'
    "print(group.tree())"
)


@dataclass(frozen=True)
class ZarrFileLink:
    """A link to one file of the Zarr (a metadata document at its root)."""

    key: str
    size: int
    href: str


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
    #: The metadata documents at the root (``.zgroup``, ``zarr.json``...), as links.
    metadata_files: list[ZarrFileLink]
    #: The key URL and outside viewers need an API key: the page says so.
    embargoed: bool = False


def zarr_panel(web: Web, record: AssetRecord, *, via: str | None = None) -> ZarrPanel | None:
    """The panel of a Zarr asset (``None`` for a blob). ``via`` is the web app's route to
    the Zarr's files (``…/files/{asset_id}/zarr``), given for an embargoed dandiset."""
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
    found = reading.present(web.ctx, user=web.reader, zarr_id=z.zarr_id, keys=METADATA_NAMES)
    links = [
        ZarrFileLink(
            f.key,
            f.size,
            f"{via}/{quote(f.key)}" if via else zarr_url(web.urls, z.zarr_id, f.key),
        )
        for f in found
    ]
    return ZarrPanel(
        url=url,
        status=z.status,
        file_count=z.file_count,
        size=z.size,
        checksum=z.checksum,
        attributes=attributes,
        snippet=(EMBARGOED_SNIPPET if via else OPEN_SNIPPET).format(url=url),
        published_snapshot=z.snapshot_of is not None,
        metadata_files=links,
        embargoed=via is not None,
    )
