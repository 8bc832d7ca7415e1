"""Request-scoped dependencies both faces share: the context and the URLs a client sees.

The API (:mod:`neuropil.api`) and the web pages (:mod:`neuropil.web`) are siblings that never
import each other, so what both read from a request lives here, below them. Who the caller
is differs between them (an API token, a session cookie) and stays with each face.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Annotated

from fastapi import Depends, Request

from neuropil.services.context import Context
from neuropil.services.urls import Urls


def get_ctx(request: Request) -> Context:
    """The :class:`Context` the app was built around (``app.state.ctx``)."""
    ctx: Context = request.app.state.ctx
    return ctx


def _peer_trusted(request: Request, allow: str) -> bool:
    if allow.strip() == "*":
        return True
    host = request.client.host if request.client else None
    return host is not None and _trusted(host, allow)


@functools.lru_cache(maxsize=1024)
def _trusted(host: str, allow: str) -> bool:
    """Whether ``host`` is in ``allow`` (addresses and networks, comma-separated). Per
    request this parsed the list again; a server sees few peers (its proxies, above all)."""
    try:
        peer = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(peer in net for net in _networks(allow))


@functools.lru_cache(maxsize=16)
def _networks(allow: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for item in allow.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            continue
    return tuple(nets)


def external_base(request: Request, ctx: Context) -> str:
    """``scheme://host[:port][/prefix]`` as the client sees this server.

    Honours ``X-Forwarded-Proto/Host/Port/Prefix`` from trusted proxies so every URL the
    API hands out (``next`` links, ``contentUrl``, upload URLs) works behind one.
    """
    if ctx.settings.public_url:
        return ctx.settings.public_url.rstrip("/")
    h = request.headers
    scheme: str = request.scope["scheme"]  # (``request.url`` builds a URL object: 10 µs)
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


def client_address(request: Request, ctx: Context) -> str:
    """The caller's IP address: the peer, or behind a trusted proxy the last address in its
    ``X-Forwarded-For`` (the one the proxy itself saw; earlier ones are the client's say)."""
    peer = request.client.host if request.client else "unknown"
    if _peer_trusted(request, ctx.settings.forwarded_allow_ips):
        forwarded = request.headers.get("x-forwarded-for", "").split(",")[-1].strip()
        if forwarded:
            return forwarded
    return peer


def get_urls(request: Request) -> Urls:
    """The URLs this server hands out, as the client of ``request`` reaches them."""
    ctx = get_ctx(request)
    return Urls(external_base(request, ctx), ctx.store, ctx.settings.blob_base_url)


async def _ctx_dependency(request: Request) -> Context:
    # The dependencies are ``async`` (they do no I/O): FastAPI runs a plain ``def`` one in
    # the thread pool, one hop per dependency per request.
    return get_ctx(request)


async def _urls_dependency(request: Request) -> Urls:
    return get_urls(request)


Ctx = Annotated[Context, Depends(_ctx_dependency)]
ExternalUrls = Annotated[Urls, Depends(_urls_dependency)]
