"""``neuropil.open_zarr``: a remote Zarr as a read-only zarr-python group.

The store is a plain mapping over HTTP through neuropil's transport (retries, TLS, the token
only for the archive's own origin): key -> bytes, a missing key is a ``KeyError``. When the
Zarr has consolidated metadata (``.zmetadata``) the whole hierarchy is opened from that one
request; array chunks are fetched as they are read.

A review link's reader opens the Zarr's URL with ``?review=<token>``: keys are appended to
the URL's path, which would drop its query, so the token is taken off the URL and sent in a
header instead (:mod:`neuropil.core.review_links`), to the archive's origin only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from neuropil.core.review_links import split_review
from neuropil.errors import UnsupportedOperation, UsageError, WrongAssetKind
from neuropil.http import redirects
from neuropil.http.transport import Transport

#: Fetched-but-not-yet-read values kept (a batch of chunks zarr checks, then reads).
MAX_KEPT = 256


class HttpZarrStore(MutableMapping[str, bytes]):
    """A read-only zarr store over ``<base>/<key>`` URLs (``/zarr/<id>/`` on neuropil)."""

    def __init__(self, transport: Transport, base_url: str) -> None:
        self.transport = transport
        self.base_url = base_url.rstrip("/") + "/"
        self.requests = 0  # GETs sent (for tests and curious users)
        # zarr asks ``key in store`` and then ``store[key]``: the bytes the first fetched are
        # kept for the second, so a chunk costs one request, not two.
        self._fetched: dict[str, bytes] = {}

    def _get(self, key: str) -> bytes:
        self.requests += 1
        r = redirects.get(self.transport, self.base_url + key, ok=(404,))
        if r.status_code == 404:
            raise KeyError(key)
        return r.content

    def __getitem__(self, key: str) -> bytes:
        kept = self._fetched.pop(key, None)
        return kept if kept is not None else self._get(key)

    def __contains__(self, key: object) -> bool:
        try:
            data = self._get(str(key))
        except KeyError:
            return False
        if len(self._fetched) >= MAX_KEPT:
            self._fetched.clear()
        self._fetched[str(key)] = data
        return True

    def __setitem__(self, key: str, value: bytes) -> None:
        raise PermissionError("remote Zarrs are read-only: change them with `neuropil upload`")

    def __delitem__(self, key: str) -> None:
        raise PermissionError("remote Zarrs are read-only: change them with `neuropil upload`")

    def __iter__(self) -> Iterator[str]:
        raise UnsupportedOperation(
            "listing a remote Zarr needs the archive's files API: open it with consolidated "
            "metadata, or list keys with `neuropil ls`"
        )

    def __len__(self) -> int:
        raise UnsupportedOperation(
            "listing a remote Zarr needs the archive's files API: open it with consolidated "
            "metadata, or list keys with `neuropil ls`"
        )


def zarr_base_url(asset: dict[str, Any]) -> str:
    """The key URL prefix of a Zarr asset, from its metadata's ``contentUrl``."""
    urls = (asset.get("metadata") or asset).get("contentUrl") or []
    for url in urls:
        if "/zarr/" in str(url) and str(url).endswith("/"):
            return str(url)
    raise WrongAssetKind(
        "This asset names no Zarr URL (is it a Zarr asset on a neuropil archive?)."
    )


def open_group(transport: Transport, base_url: str) -> Any:
    """The zarr group at ``base_url``: consolidated metadata when present, in one request."""
    try:
        import zarr
    except ImportError as exc:  # an optional dependency of the client
        raise UsageError("open_zarr needs zarr-python: pip install 'zarr<3'") from exc
    store = HttpZarrStore(transport, base_url)
    try:
        return zarr.open_consolidated(store, mode="r")
    except KeyError:  # no .zmetadata
        return zarr.open_group(store, mode="r")


def open_zarr(source: str | Mapping[str, Any], *, token: str | None = None) -> Any:
    """A Zarr as a read-only zarr-python group.

    ``source`` is a Zarr's key URL (``https://archive/zarr/<zarr_id>/``) or a Zarr asset as
    the API shows it (its metadata's ``contentUrl`` names that URL). ``token`` is sent to
    that archive only (for embargoed data); so is a review link's token, given as the URL's
    ``?review=<token>``."""
    url = source if isinstance(source, str) else zarr_base_url(dict(source))
    url, review = split_review(url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{url!r} is not an http(s) URL of a Zarr.")
    # The group reads chunks lazily, long after this returns: the transport stays open.
    transport = Transport(f"{parts.scheme}://{parts.netloc}/api", token, review=review)
    return open_group(transport, url)
