"""``/api/dandisets/{id}/versions/{version}/tables/{name}/``: a version's tables in one request.

``name`` is ``files`` (the file manifest) or ``sessions`` (experiment metadata);
``?format=`` is ``json`` (default), ``csv`` or ``parquet`` (or named by ``Accept``). The
ETag names the rows, the format and the base URL the download URLs were built from, so a
client revalidating an unchanged table gets a 304.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import Request
from starlette.responses import Response

from neuropil.api import schemas
from neuropil.api.caller import CurrentUser
from neuropil.api.routing import Router
from neuropil.server.request import Ctx, ExternalUrls
from neuropil.services import tables
from neuropil.tables import formats

router = Router(prefix="/api/dandisets/{identifier}/versions/{version}/tables")


def _matches(if_none_match: str | None, tag: str) -> bool:
    seen = [t.strip().removeprefix("W/") for t in (if_none_match or "").split(",")]
    return tag in seen or "*" in seen


#: The document's 200 is each format's media type (not only JSON); 304 answers If-None-Match.
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The table, in the format asked for.",
        "content": {
            **{media: {} for media in formats.MEDIA_TYPES.values()},
            formats.MEDIA_TYPES[formats.JSON]: {"schema": schemas.ref("TableRows")},
        },
    },
    304: {"description": "Not modified: the ETag given in If-None-Match is current."},
}


@router.api_route(
    "/{name}/",
    methods=["GET", "HEAD"],
    summary="A table of the version (files, sessions)",
    responses=RESPONSES,
)
def get_table(
    request: Request,
    identifier: str,
    version: str,
    name: str,
    ctx: Ctx,
    user: CurrentUser,
    urls: ExternalUrls,
) -> Response:
    fmt = formats.parse_format(request.query_params.get("format"), request.headers.get("accept"))
    table = tables.version_table(
        ctx, user=user, identifier=identifier, version=version, name=name, urls=urls
    )
    tag = hashlib.sha256(f"{table.digest}\n{fmt}\n{urls.base}".encode()).hexdigest()[:40]
    filename = f"{table.identifier}_{table.version}_{table.name}.{fmt}"
    headers = {
        "ETag": f'"{tag}"',
        # Revalidate every time: a draft's table changes with its assets (a 304 is cheap).
        "Cache-Control": "no-cache",
        "Content-Disposition": f'inline; filename="{filename}"',
        "Vary": "Accept, Authorization",
    }
    if _matches(request.headers.get("if-none-match"), f'"{tag}"'):
        return Response(status_code=304, headers=headers)
    body = formats.encode(table.columns, table.rows, fmt)
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        body = b""
    return Response(body, media_type=formats.MEDIA_TYPES[fmt], headers=headers)
