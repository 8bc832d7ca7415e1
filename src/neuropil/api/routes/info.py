"""Instance discovery: ``/server-info`` and ``/api/info/``."""

from __future__ import annotations

from typing import Any

from dandischema.consts import ALLOWED_INPUT_SCHEMAS, DANDI_SCHEMA_VERSION
from fastapi import Request

from neuropil._version import __version__
from neuropil.api import schemas
from neuropil.api.responses import JSON
from neuropil.api.routing import Router
from neuropil.server.request import Ctx, ExternalUrls

router = Router()

#: The oldest official client that works against neuropil (tested with 0.81).
CLI_MINIMAL_VERSION = "0.60.0"


def server_info(request: Request, ctx: Ctx, urls: ExternalUrls) -> dict[str, Any]:
    allowed = sorted(
        set(ALLOWED_INPUT_SCHEMAS) | {DANDI_SCHEMA_VERSION},
        key=lambda v: tuple(int(x) for x in v.split(".")),
    )
    return {
        "instance_config": {
            "instance_name": ctx.settings.instance_name,
            "instance_identifier": None,
            "instance_url": urls.web,
            "doi_prefix": None,
            "licenses": ["spdx:CC-BY-4.0", "spdx:CC0-1.0"],
        },
        "schema_version": DANDI_SCHEMA_VERSION,
        "schema_url": f"{urls.api}/schemas/?model=Dandiset",
        "allowed_schema_versions": allowed,
        "version": __version__,
        "cli-minimal-version": CLI_MINIMAL_VERSION,
        "cli-requires-python": ">=3.10",
        "cli-bad-versions": [],
        "services": {
            "api": {"url": urls.api},
            "webui": {"url": urls.web},
        },
    }


@router.get("/server-info", include_in_schema=False)
@router.get(
    "/api/info/",
    summary="Instance information (DANDI server-info)",
    responses=schemas.ok("ServerInfo"),
)
def info(request: Request, ctx: Ctx, urls: ExternalUrls) -> JSON:
    return JSON(server_info(request, ctx, urls))
