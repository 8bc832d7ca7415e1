"""Size limits on the metadata documents the archive stores.

The request body limit (:mod:`neuropil.api.limits`) bounds one request; these bound what is
kept, whichever face wrote it, so no single field can be a megabyte that every listing,
search-index trigger and validation pass then carries. dandischema's own longest string
limit is 10,000 characters (``description``); a draft may exceed that until it is published
(a too-long string is "unfinished", not "wrong"), up to :data:`MAX_STRING`.
"""

from __future__ import annotations

from typing import Any

from neuropil.errors import BadRequest, PayloadTooLarge

#: Characters in any one string of a metadata document.
MAX_STRING = 100_000
#: Nesting of objects and lists (dandischema's models are a handful of levels deep).
MAX_DEPTH = 32


def check_metadata(metadata: Any, *, what: str = "metadata") -> None:
    """Refuse a document with a string longer than :data:`MAX_STRING` (413) or nested
    deeper than :data:`MAX_DEPTH` (400), naming the field."""
    stack: list[tuple[Any, str, int]] = [(metadata, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, str):
            if len(value) > MAX_STRING:
                raise PayloadTooLarge(
                    f"{what}.{where or '(value)'} is {len(value):,} characters long; the "
                    f"maximum is {MAX_STRING:,}. Shorten it, or link to a file instead."
                )
            continue
        if isinstance(value, dict | list) and depth > MAX_DEPTH:
            raise BadRequest(
                f"{what}.{where} is nested more than {MAX_DEPTH} levels deep; flatten it."
            )
        if isinstance(value, dict):
            for key, item in value.items():
                stack.append((key, where, depth + 1))  # keys are strings too
                stack.append((item, f"{where}.{key}" if where else str(key), depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
