"""How a review link's token travels in HTTP: its wire names, and the one parser of a URL
that carries it. Shared by the server, which reads the token (:mod:`neuropil.api.caller`),
and the client, which sends it (:mod:`neuropil.client.zarr_open`).

A review link gives read access to one embargoed dandiset to whoever holds its token
(``docs/design/embargo.md``). The token goes as ``?review=<token>`` (the URL owners hand
out), or in the :data:`REVIEW_HEADER` request header, for readers that build URLs of their
own below a base URL (zarr-python appends keys to the Zarr's URL and drops its query).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: The query parameter of a review link's token: ``?review=<token>``.
REVIEW_PARAM = "review"
#: The request header that carries the token as well, on any API read.
REVIEW_HEADER = "X-Neuropil-Review"


def split_review(url: str) -> tuple[str, str | None]:
    """``url`` without its ``review`` parameter, and that parameter's token (``None`` when
    it has none). The rest of the query is kept, in order."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    tokens = [value for name, value in query if name == REVIEW_PARAM]
    if not tokens:
        return url, None
    rest = urlencode([(name, value) for name, value in query if name != REVIEW_PARAM])
    return urlunsplit(parts._replace(query=rest)), tokens[-1] or None
