"""Jinja2 templates: the environment, filters and the one function that renders a page."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from neuropil._version import __version__
from neuropil.web.state import Web

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")


def filesize(n: int | None) -> str:
    """Bytes in decimal units as DANDI shows them: ``1.2 MB``."""
    if n is None:
        return "-"
    size = float(n)
    for unit in _UNITS:
        if size < 1000 or unit == _UNITS[-1]:
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "-"


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def _make_env() -> Environment:
    env = Environment(
        loader=PackageLoader("neuropil.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["filesize"] = filesize
    env.filters["when"] = when
    env.filters["day"] = day
    env.filters["pretty_json"] = pretty_json
    env.filters["q"] = lambda s: quote(str(s), safe="/")
    env.filters["qs"] = lambda d: urlencode({k: v for k, v in d.items() if v not in (None, "")})
    env.globals["version"] = __version__
    return env


ENV = _make_env()


def render(web: Web, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with the page context every template can rely on."""
    page = ENV.get_template(template).render(
        web=web,
        user=web.user,
        reviewer=web.reviewer,
        root=web.root,
        base=web.base,
        flash=web.flash,
        instance=web.ctx.settings.instance_name,
        path=web.request.url.path,
        **context,
    )
    response = HTMLResponse(page, status_code=status)
    response.headers["Cache-Control"] = "no-store" if web.reader else "no-cache"
    return web.apply(response)  # type: ignore[return-value]
