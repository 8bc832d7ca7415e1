"""Request-scoped dependencies: the context, the caller and the external URLs."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import Depends, Request

from neuropil.db.models import User
from neuropil.services import auth
from neuropil.services.context import Context
from neuropil.services.urls import Urls


def get_ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def _peer_trusted(request: Request, allow: str) -> bool:
    if allow.strip() == "*":
        return True
    host = request.client.host if request.client else None
    if host is None:
        return False
    try:
        peer = ipaddress.ip_address(host)
    except ValueError:
        return False
    for item in allow.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            if peer in ipaddress.ip_network(item, strict=False):
                return True
        except ValueError:
            continue
    return False


def external_base(request: Request, ctx: Context) -> str:
    """``scheme://host[:port][/prefix]`` as the client sees this server.

    Honours ``X-Forwarded-Proto/Host/Port/Prefix`` from trusted proxies so every URL the
    API hands out (``next`` links, ``contentUrl``, upload URLs) works behind one.
    """
    if ctx.settings.public_url:
        return ctx.settings.public_url.rstrip("/")
    h = request.headers
    scheme = request.url.scheme
    host = h.get("host") or f"{request.url.hostname}:{request.url.port}"
    prefix = ""
    if _peer_trusted(request, ctx.settings.forwarded_allow_ips):
        scheme = h.get("x-forwarded-proto", scheme).split(",")[0].strip() or scheme
        fwd_host = h.get("x-forwarded-host", "").split(",")[0].strip()
        if fwd_host:
            host = fwd_host
        fwd_port = h.get("x-forwarded-port", "").split(",")[0].strip()
        if fwd_port.isdigit():
            bare = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            default = {"http": "80", "https": "443"}.get(scheme)
            host = bare if fwd_port == default else f"{bare}:{fwd_port}"
        prefix = h.get("x-forwarded-prefix", "").split(",")[0].strip().rstrip("/")
        if prefix and not prefix.startswith("/"):
            prefix = "/" + prefix
    return f"{scheme}://{host}{prefix}"


def get_urls(request: Request) -> Urls:
    ctx = get_ctx(request)
    return Urls(external_base(request, ctx), ctx.store)


def get_user(request: Request) -> User | None:
    """The caller from ``Authorization: token <key>``; no header means anonymous."""
    header = request.headers.get("authorization", "")
    keyword, _, key = header.partition(" ")
    if keyword.lower() != "token":
        return None
    key = key.strip()
    if not key:
        from neuropil.errors import NotAuthenticated

        raise NotAuthenticated("Invalid token header. No credentials provided.")
    return auth.user_for_token(get_ctx(request), key)


Ctx = Annotated[Context, Depends(get_ctx)]
CurrentUser = Annotated[User | None, Depends(get_user)]
ExternalUrls = Annotated[Urls, Depends(get_urls)]
