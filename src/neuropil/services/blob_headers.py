"""The response headers of blob bytes: chosen by the server, never by the URL alone.

Blobs are arbitrary uploaded bytes. Served from the archive's own origin as ``text/html``
(or SVG, XML, JavaScript...) and ``inline``, one would run script with the signed-in
visitor's session: stored XSS. So:

- ``Content-Type`` and ``Content-Disposition`` come from :func:`choose`: ``inline`` only for
  media types on :data:`SAFE_INLINE` (images, PDF, plain text, JSON, audio, video); anything
  else is served as ``attachment`` and, unless on the list, as ``application/octet-stream``.
- On ``/store/`` URLs the ``response-content-*`` parameters that ask for these headers must be
  covered by the URL's signature (as S3 signs its ``response-*``); the asset downloads
  (:mod:`neuropil.services.downloads`) hand out such URLs, signed by
  :func:`neuropil.services.blob_urls.download_url`.
- Every object response carries :data:`OBJECT_SECURITY_HEADERS` (``nosniff`` and a
  sandboxing CSP), so even bytes a browser renders cannot script the origin.

Setting ``NEUROPIL_BLOB_BASE_URL`` serves blobs from another origin altogether.
"""

from __future__ import annotations

from collections.abc import Mapping

from neuropil.core.signing import EXPIRES_PARAM, SIGNATURE_PARAM, UrlSigner

#: Media types a browser may show in place: it renders them without running script.
SAFE_INLINE = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/bmp",
        "image/tiff",
        "application/pdf",
        "text/plain",
        "application/json",
        "video/mp4",
        "video/webm",
        "video/ogg",
        "audio/mpeg",
        "audio/ogg",
        "audio/wav",
        "audio/webm",
        "audio/flac",
    }
)
FALLBACK_TYPE = "application/octet-stream"
#: On every response that carries object bytes (blobs, manifests).
OBJECT_SECURITY_HEADERS: Mapping[str, str] = {
    "x-content-type-options": "nosniff",
    "content-security-policy": "sandbox; default-src 'none'",
}
#: The query parameters (S3's names) that ask for response headers.
CONTENT_TYPE_PARAM = "response-content-type"
DISPOSITION_PARAM = "response-content-disposition"
RESPONSE_PARAMS = (CONTENT_TYPE_PARAM, DISPOSITION_PARAM)


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def choose(content_type: str | None, disposition: str | None) -> tuple[str, str]:
    """The ``(Content-Type, Content-Disposition)`` to serve for a requested pair.

    The disposition's parameters (``filename=...``) are kept; only its type may change. A
    safe type is served bare (``text/plain``, no parameters to smuggle anything in).
    """
    media = _media_type(content_type)
    safe = media in SAFE_INLINE
    kind, sep, params = (disposition or "attachment").partition(";")
    if kind.strip().lower() != "inline" or not safe:
        kind = "attachment"
    return media if safe else FALLBACK_TYPE, f"{kind.strip()}{sep}{params}"


def requested(signer: UrlSigner, key: str, query: Mapping[str, str]) -> str | None:
    """Why the ``response-*`` parameters of a ``/store/`` read may not be used, or ``None``
    if there are none or the URL's signature covers them (HEAD is signed as GET)."""
    if not any(name in query for name in RESPONSE_PARAMS):
        return None
    names = (*RESPONSE_PARAMS, EXPIRES_PARAM, SIGNATURE_PARAM)
    signed = {k: v for k, v in query.items() if k in names}
    reason = signer.verify("GET", f"/store/{key}", signed)
    if reason is None:
        return None
    return (
        f"{reason} The response-content-* parameters are honoured only in the signed URLs "
        "the download endpoint (/api/assets/{id}/download/) hands out."
    )
