"""``/search?q=``: free text, DANDI's operators and facet filters; assets under each hit.

The engine is :func:`neuropil.services.search.search`; this page only renders its result.
A query the engine cannot parse comes back as :class:`~neuropil.errors.BadRequest`, whose
message (what to fix) is shown above the search box with status 400.
"""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from neuropil.errors import BadRequest
from neuropil.web.errors import page_router
from neuropil.web.render import render
from neuropil.web.routes.paging import Paging, page_number
from neuropil.web.state import WebDep

router = page_router()

PAGE_SIZE = 20
#: The operators listed in the help under the search box.
OPERATORS = (
    ("species:", "species:mouse"),
    ("approach:", "approach:electrophysiology"),
    ("technique:", 'technique:"spike sorting"'),
    ("file_type:", "file_type:nwb"),
    ("owner:", "owner:alice"),
    ("created_after:", "created_after:2024-01-01"),
    ("modified_before:", "modified_before:2025-06-30"),
)


def facet_query(query: str, key: str, value: str) -> str:
    """``query`` narrowed to one facet value (quoted when it holds spaces)."""
    term = f'{key}:"{value}"' if any(c.isspace() for c in value) else f"{key}:{value}"
    return f"{query} {term}".strip() if term not in query else query


@router.get("/search")
def search_page(request: Request, web: WebDep) -> Response:
    q = request.query_params
    query = (q.get("q") or q.get("search") or "").strip()
    number = page_number(q.get("page"))
    if not query:
        return render(
            web,
            "search.html",
            query="",
            result=None,
            error=None,
            paging=None,
            operators=OPERATORS,
            facet_query=facet_query,
        )
    from neuropil.services.search import search

    try:
        result = search(web.ctx, user=web.reader, query=query, page=number, page_size=PAGE_SIZE)
    except BadRequest as exc:
        return render(
            web,
            "search.html",
            status=400,
            query=query,
            result=None,
            error=exc.message,
            paging=None,
            operators=OPERATORS,
            facet_query=facet_query,
        )
    return render(
        web,
        "search.html",
        query=query,
        result=result,
        error=None,
        paging=Paging(number, PAGE_SIZE, result.total),
        operators=OPERATORS,
        facet_query=facet_query,
    )
