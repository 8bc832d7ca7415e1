"""DANDI's page-number pagination with ``next`` links the official client can parallelize."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Request

from neuropil.errors import BadRequest, NotFound
from neuropil.server.request import external_base, get_ctx

#: The largest page number: page x page size stays far inside a 64-bit offset.
MAX_PAGE = 10**9


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def page_params(request: Request) -> Page:
    settings = get_ctx(request).settings
    q = request.query_params
    raw_page, raw_size = q.get("page", "1"), q.get("page_size")
    if raw_page.strip().isdigit() and len(raw_page.strip().lstrip("0")) > len(str(MAX_PAGE)):
        raw_page = str(MAX_PAGE + 1)  # thousands of digits: int() would refuse, slowly
    try:
        number = int(raw_page)
    except ValueError as exc:
        raise NotFound("Invalid page.") from exc
    if number < 1:
        raise NotFound("Invalid page.")
    if number > MAX_PAGE:
        # The offset must fit a 64-bit database integer (SQLite overflows otherwise).
        raise BadRequest(f"page must be at most {MAX_PAGE}; ask for a smaller page number.")
    size = settings.default_page_size
    if raw_size not in (None, ""):
        try:
            size = int(raw_size) if len(raw_size) <= 20 else settings.max_page_size + 1
        except ValueError as exc:
            raise BadRequest(f"page_size must be a whole number, not {raw_size[:40]!r}.") from exc
        if size < 1:
            raise BadRequest("page_size must be at least 1.")
        if size > settings.max_page_size:
            raise BadRequest(
                f"page_size {size} is too large; the maximum is {settings.max_page_size}."
            )
    return Page(number, size)


def _page_url(request: Request, number: int) -> str:
    base = external_base(request, get_ctx(request))
    params = parse_qsl(request.url.query, keep_blank_values=True)
    replaced = False
    out = []
    for k, v in params:
        if k == "page":
            if not replaced:
                out.append(("page", str(number)))
                replaced = True
            continue
        out.append((k, v))
    if not replaced:
        out.append(("page", str(number)))
    path = request.scope.get("np.original_path", request.url.path)
    return f"{base}{path}?{urlencode(out)}"


def paginated(
    request: Request, page: Page, results: list[Any], *, count: int | None, has_next: bool
) -> dict[str, Any]:
    if page.number > 1 and not results:
        raise NotFound("Invalid page.")
    return {
        "count": count,
        "next": _page_url(request, page.number + 1) if has_next else None,
        "previous": _page_url(request, page.number - 1) if page.number > 1 else None,
        "results": results,
    }


def counted(request: Request, page: Page, results: list[Any], total: int) -> dict[str, Any]:
    return paginated(
        request, page, results, count=total, has_next=page.offset + len(results) < total
    )
