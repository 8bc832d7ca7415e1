"""External URLs of API objects, built from the base URL the client reached."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from neuropil.storage import BlobStore


@dataclass(frozen=True)
class Urls:
    """``base`` is ``scheme://host[:port][/prefix]`` with no trailing slash; ``blob_base``
    (``NEUROPIL_BLOB_BASE_URL``), when set, is the other origin blob bytes are served from,
    so uploaded content never runs on the origin that holds the sessions."""

    base: str
    store: BlobStore
    blob_base: str | None = None

    @property
    def api(self) -> str:
        return f"{self.base}/api"

    @property
    def web(self) -> str:
        return self.base

    def asset_download(self, asset_id: str) -> str:
        return f"{self.api}/assets/{asset_id}/download/"

    def dandiset_web(self, identifier: str, version: str) -> str:
        return f"{self.web}/dandiset/{identifier}/{version}"

    def local_object(self, key: str) -> str:
        """neuropil's own object endpoint, used by stores that do not serve clients."""
        return f"{(self.blob_base or self.base).rstrip('/')}/store/{quote(key)}"

    def object_url(self, key: str) -> str:
        """The unsigned, anonymously readable URL of an object."""
        if self.store.capabilities.presigned_urls:
            return self.store.object_url(key)
        return self.local_object(key)
