"""What the command line says when something fails: what went wrong and what to do, per error
class (:mod:`neuropil.errors`), never the raw ``POST …/publish/ -> 404: Not found.``.

A :class:`~neuropil.errors.RemoteError` carries the request's URL, method and the server's
own words; :func:`explain` names the object from the URL (``dandiset 000123``), the archive
from the configured instances (no request is sent), and adds the next step for its class.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from neuropil.client.instances import Instance, Registry
from neuropil.client.tokens import where_keys_come_from
from neuropil.errors import (
    NeuropilError,
    NotFound,
    RemoteBadRequest,
    RemoteConflict,
    RemoteError,
    RemoteForbidden,
    RemoteLocked,
    RemoteNotFound,
    RemoteServerError,
    UsageError,
)

#: (pattern on the URL path after ``/api/``, what it names); the first match wins.
_SUBJECTS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), s)
    for p, s in (
        (
            r"dandisets/(?P<d>\d{6})/versions/[^/]+/assets/(?P<a>[^/]+)/",
            "asset {a} of dandiset {d}",
        ),
        (r"dandisets/(?P<d>\d{6})/versions/draft/publish/", "dandiset {d}"),
        (r"dandisets/(?P<d>\d{6})/versions/draft/", "dandiset {d} (draft)"),
        (r"dandisets/(?P<d>\d{6})/versions/(?P<v>[^/]+)/", "dandiset {d} version {v}"),
        (r"dandisets/(?P<d>\d{6})/", "dandiset {d}"),
        (r"dandisets/$", "the dandisets"),
        (r"assets/(?P<a>[^/]+)/", "asset {a}"),
        (r"uploads/", "the upload"),
        (r"zarr/(?P<z>[^/]+)/", "Zarr {z}"),
        (r"auth/token/", "your API key"),
    )
)
_VERBS = {"GET": "reading", "HEAD": "reading", "PUT": "changing", "DELETE": "deleting"}


def explain(exc: NeuropilError) -> str:
    """The message a person sees for ``exc``."""
    if isinstance(exc, RemoteError):
        return _remote(exc)
    if isinstance(exc, NotFound) and "neuropil ls" not in str(exc):
        return f"{exc}. Check the id with `neuropil ls NAME_OR_URL` (the dandisets you can see)."
    return str(exc)


def _remote(exc: RemoteError) -> str:
    instance = _instance(exc.url)
    where = f"{instance.name} ({instance.api_url})" if instance else _origin(exc.url)
    ref = instance.name if instance else _origin(exc.url)
    what = _subject(exc.url, exc.method)
    said = f' The server said: "{exc.detail}".' if exc.detail else ""
    code = f" (HTTP {exc.status_code})" if exc.status_code else ""  # for searching logs
    if isinstance(exc, RemoteNotFound):
        return (
            f"{_cap(what)} not found on {where}{code}.{said} Check the id with "
            f"`neuropil ls {ref}` (the dandisets you can see); drafts of embargoed dandisets "
            "show only to owners who give their API key."
        )
    if isinstance(exc, RemoteForbidden) and exc.status_code == 401:
        keys = where_keys_come_from(instance) if instance else "get a key from the archive"
        return (
            f"{where} did not accept your API key{code}.{said} It is unknown there (made by "
            f"another archive, or replaced since) or was not sent. To fix: {keys}; then "
            f"`neuropil login {ref}`."
        )
    if isinstance(exc, RemoteForbidden):
        return (
            f"{where} does not let you do this to {what}{code}.{said} Only a dandiset's owners "
            "(and the archive's admins) may change it, and only approved accounts may write: "
            "ask an owner to add you, or an admin to approve your account."
        )
    verb = _verb(exc.method, exc.url)
    if isinstance(exc, RemoteBadRequest):
        return f"{where} refused {verb} {what}{code}: {exc.detail or exc.message}"
    if isinstance(exc, RemoteConflict):
        return (
            f"{where} refused {verb} {what}, which conflicts with what is there{code}: "
            f"{exc.detail or exc.message}"
        )
    if isinstance(exc, RemoteLocked):
        return f"{_cap(what)} is busy on {where}{code}.{said} Try again in a minute."
    if isinstance(exc, RemoteServerError):
        return (
            f"{where} failed while {verb} {what}{code}.{said} Try again; if it keeps failing, "
            "tell the archive's admins (their server log has the reason)."
        )
    if exc.status_code == 0:
        return (
            f"Could not reach {where}: {exc.message}. Is the archive running, and is the URL "
            "right? (`neuropil instances` lists the archives neuropil knows.)"
        )
    return f"{where} refused {verb} {what}{code}.{said}"


def _instance(url: str) -> Instance | None:
    if not url:
        return None
    try:
        return Registry().by_url(url)
    except (UsageError, OSError):  # an unreadable config must not hide the real error
        return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else (url or "the archive")


def _subject(url: str, method: str) -> str:
    path = urlsplit(url).path
    tail = path.split("/api/", 1)[1] if "/api/" in path else path.lstrip("/")
    for pattern, text in _SUBJECTS:
        match = pattern.match(tail)
        if match:
            if text == "the dandisets" and method == "POST":
                return "a new dandiset"
            return text.format(**match.groupdict())
    return path or url


def _verb(method: str, url: str) -> str:
    if url.rstrip("/").endswith("/publish"):
        return "publishing"
    return _VERBS.get(method, "creating" if method == "POST" else "the request for")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
