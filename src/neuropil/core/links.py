"""An HDF5 file's index, advertised in HTTP: an RFC 8288 ``Link`` header, written and read here.

A neuropil server answers for an HDF5/NWB asset (its metadata, its download redirect, and its
blob's bytes) with::

    Link: <https://host/api/assets/{id}/index/>; rel="describedby";
          type="application/vnd.lindi+json"

(one line in HTTP).

``describedby`` is the registered relation for "the target describes the context" (IANA link
relations, from W3C POWDER), which is what an index is to its file. The media type names the
format, since a file may be described by other documents too: ``application/vnd.lindi+json``
(not registered; LINDI's own name for its ``.lindi.json`` format is this vendor tree). A reader
that knows nothing of neuropil's URLs finds the index in the first answer it gets, a redirect or
the first bytes, and needs no extra request to look for it.

A reader may also ask for the index in place of the bytes, by content negotiation: its first
ranged GET of a blob URL sends ``Accept:`` :data:`ACCEPT_INDEX`, and a server that holds the
file's index answers ``200`` with it (``Content-Type: application/vnd.lindi+json``), so the file
opens in that one request. Any other server ignores ``Accept`` and sends the bytes asked for.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

#: The relation of a file to its index.
INDEX_REL = "describedby"
#: The media type of a ``.lindi.json`` index, in ``Link: ...; type=``.
INDEX_MEDIA_TYPE = "application/vnd.lindi+json"
#: ``Accept`` of a ranged GET that would rather have the file's index than its bytes.
ACCEPT_INDEX = f"{INDEX_MEDIA_TYPE}, */*;q=0.1"

# One link-value: <uri> then ;-separated parameters (quoted strings may hold , and ;).
_LINK = re.compile(
    r'\s*<(?P<uri>[^>]*)>(?P<params>(?:\s*;\s*[^;,"=]+(?:=\s*(?:"[^"]*"|[^;,]*))?)*)'
)
_PARAM = re.compile(
    r'\s*;\s*(?P<name>[^=;,\s]+)\s*(?:=\s*(?:"(?P<quoted>[^"]*)"|(?P<token>[^;,\s]*)))?'
)


def index_link(url: str) -> str:
    """The ``Link`` header value advertising the index at ``url``."""
    return f'<{url}>; rel="{INDEX_REL}"; type="{INDEX_MEDIA_TYPE}"'


def find_index_link(header: str | None, base: str) -> str | None:
    """The absolute URL of the index a ``Link`` header advertises (relative URLs resolved
    against ``base``, the URL that answered), or ``None``. A link counts when its ``rel``
    includes ``describedby`` and its ``type`` is :data:`INDEX_MEDIA_TYPE`."""
    if not header:
        return None
    pos = 0
    while pos < len(header):
        match = _LINK.match(header, pos)
        if match is None:
            return None  # malformed from here on: ignore the rest
        params = {
            p["name"].lower(): (p["quoted"] if p["quoted"] is not None else p["token"] or "")
            for p in _PARAM.finditer(match["params"])
        }
        rels = params.get("rel", "").lower().split()
        if INDEX_REL in rels and params.get("type", "").lower() == INDEX_MEDIA_TYPE:
            return urljoin(base, str(match["uri"]).strip())
        pos = match.end()
        comma = header.find(",", pos)
        if comma < 0:
            return None
        pos = comma + 1
    return None


def prefers_index(accept: str | None) -> bool:
    """Whether an ``Accept`` header asks for the index before anything else: it names
    :data:`INDEX_MEDIA_TYPE` with a quality above every other media range it lists (browsers
    and plain clients, which send ``*/*`` or nothing, get the bytes)."""
    index_q, other_q = 0.0, 0.0
    for item in (accept or "").split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media.lower() == INDEX_MEDIA_TYPE:
            index_q = max(index_q, q)
        else:
            other_q = max(other_q, q)
    return index_q > 0 and index_q > other_q
