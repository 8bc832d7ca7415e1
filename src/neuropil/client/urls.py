"""One parser for every way a user can name a Dandiset, a folder, an asset or a set of assets.

:func:`parse_url` accepts every form the official client's ``parse_dandi_url`` accepts, for
any host (see :data:`ACCEPTED_FORMS`), and resolves the server part to an
:class:`~neuropil.client.instances.Instance` through a
:class:`~neuropil.client.instances.Registry` (a known URL needs no network; an unknown host
is discovered once).

Differences from the official client, on purpose:

* ``NAME:ID`` and ``dandi://NAME/…`` accept configured instance names too, in any case, and
  ``dandi://`` also accepts the ``host[:port]`` name of an instance discovered earlier.
  ``NAME:ID/VERSION`` may go on with a path, as ``dandi://`` URLs do
  (``DANDI:000027/draft/sub-RAT123/``).
* ``gui.dandiarchive.org`` and ``*dandiarchive-org.netlify.app`` URLs are mapped to the
  ``dandi`` instance (deploy previews to ``dandi-sandbox``) and ``identifiers.org/DANDI:…``
  is read directly, instead of following HTTP redirects: parsing never needs the network for
  these. Other URLs that only make sense after a redirect are rejected, not followed.
* Servers may live under a path prefix (``https://host/prefix/api/…``), as neuropil allows.
* ``?path=`` and ``?glob=`` values are percent-decoded, and other query parameters
  (``order``, ``page``, …) are ignored rather than making the URL unparseable.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, unquote

from neuropil.client.instances import Instance, Registry
from neuropil.core.asset_urls import ASSET_URL, SERVER, VERSION_ASSET_URL
from neuropil.core.asset_urls import DANDISET_ID as _ID
from neuropil.core.asset_urls import VERSION as _VER
from neuropil.errors import InvalidUrl

Kind = Literal["dandiset", "folder", "item", "glob", "path_prefix", "asset_id"]

ZARR_EXTENSIONS = (".zarr", ".ngff")
#: Left as is when a path is written into a ``dandi://`` URL (``%`` and spaces are quoted).
_PATH_SAFE = "/-_.~!$&'()*+,;=:@"

ACCEPTED_FORMS = (
    "<INSTANCE>:<dandiset id>[/<version>[/<path>]]   e.g. DANDI:000027/draft, MYLAB:000001",
    "https://<server>[/api]/[#/]dandiset/<dandiset id>[/<version>][/files[?location=<path>]]",
    "https://<server>[/api]/dandisets/<dandiset id>[/versions[/<version>]]",
    "https://<server>[/api]/dandisets/<dandiset id>/versions/<version>/assets/?path=<prefix>",
    "https://<server>[/api]/dandisets/<dandiset id>/versions/<version>/assets/?glob=<glob>",
    "https://<server>[/api]/dandisets/<dandiset id>/versions/<version>/assets/<asset id>"
    "[/download]",
    "https://<server>[/api]/assets/<asset id>[/download]",
    "https://identifiers.org/DANDI:<dandiset id>[/<published version>]",
    "dandi://<instance name>/<dandiset id>[@<version>][/<path>]",
)


@dataclass(frozen=True)
class Target:
    """What a URL points at. ``version`` None means: the latest published version if there is
    one, else the draft (the caller decides, it needs the server). By ``kind``:

    * ``dandiset``: the whole Dandiset;
    * ``folder``: assets under ``path`` (which ends in ``/``);
    * ``item``: the one asset at ``path``; with ``zarr_path``, only the entries under that
      path inside the Zarr asset at ``path``;
    * ``glob``: assets matching ``glob`` (server-side ``glob=``);
    * ``path_prefix``: assets whose path starts with ``path`` (server-side ``path=``);
    * ``asset_id``: the asset ``asset_id`` (``dandiset_id`` None for ``/assets/<id>`` URLs).
    """

    instance: Instance
    kind: Kind
    dandiset_id: str | None = None
    version: str | None = None
    path: str | None = None
    glob: str | None = None
    asset_id: str | None = None
    zarr_path: str | None = None

    def __str__(self) -> str:
        """A short form for messages; for Dandisets and paths it is a ``dandi://`` URL that
        :func:`parse_url` reads back to an equal Target."""
        if self.dandiset_id is None:
            return f"{self.instance.api_url}/assets/{self.asset_id}/"
        text = f"dandi://{self.instance.name}/{self.dandiset_id}"
        if self.version:
            text += f"@{self.version}"
        if self.kind == "asset_id":
            return f"{text} (asset {self.asset_id})"
        if self.kind == "glob":
            return f"{text} (glob {self.glob})"
        inner = "/".join(p for p in (self.path, self.zarr_path) if p)
        return f"{text}/{quote(inner, safe=_PATH_SAFE)}" if inner else text


# --------------------------------------------------------------------------- patterns

# The server part and the asset-by-id forms are shared with the reader (core.asset_urls).
_SERVER = SERVER
_QUERY = r"(?:\?(?P<query>[^#]*))?"

Handler = Callable[[re.Match[str], Registry, bool], Target]


def _instance_name(match: re.Match[str], registry: Registry, glob: bool) -> Target:
    instance = registry.get(match["name"])
    location = unquote(match["location"] or "")
    return _located(instance, match["id"], match["version"], location, glob)


def _identifiers_org(match: re.Match[str], registry: Registry, _glob: bool) -> Target:
    return Target(registry.get("dandi"), "dandiset", match["id"], match["version"])


def _web(match: re.Match[str], registry: Registry, glob: bool) -> Target:
    instance = _server(match["server"], registry)
    location = _query_param(match["query"], "location")
    if location is not None and not glob:
        # The web UI's ?location= names a folder, or a Zarr asset (shown as a folder) or a
        # folder inside one: those are the Zarr and a path in it, never a folder of assets.
        zarr = location.rstrip("/")
        if zarr.endswith(ZARR_EXTENSIONS) or split_zarr_location(zarr) is not None:
            location = zarr
        elif not location.endswith("/"):
            location += "/"
    return _located(instance, match["id"], match["version"], location or "", glob)


def _api_dandiset(match: re.Match[str], registry: Registry, _glob: bool) -> Target:
    return Target(_server(match["server"], registry), "dandiset", match["id"], match["version"])


def _api_asset_listing(match: re.Match[str], registry: Registry, _glob: bool) -> Target:
    instance = _server(match["server"], registry)
    path = _query_param(match["query"], "path")
    pattern = _query_param(match["query"], "glob")
    ident, version = match["id"], match["version"]
    if path is not None and pattern is not None:
        raise InvalidUrl(f"{match.string}: give either ?path= or ?glob=, not both")
    if pattern:
        return Target(instance, "glob", ident, version, glob=pattern)
    if path:
        return Target(instance, "path_prefix", ident, version, path=path)
    return Target(instance, "dandiset", ident, version)


def _api_asset(match: re.Match[str], registry: Registry, _glob: bool) -> Target:
    instance = _server(match["server"], registry)
    ident = match.groupdict().get("id")
    version = match.groupdict().get("version")
    return Target(instance, "asset_id", ident, version, asset_id=unquote(match["asset_id"]))


def _dandi_scheme(match: re.Match[str], registry: Registry, glob: bool) -> Target:
    instance = registry.get(match["name"])
    location = unquote(match["location"] or "")
    return _located(instance, match["id"], match["version"], location, glob)


#: (pattern, handler); the first pattern that matches the whole text wins.
_PATTERNS: tuple[tuple[re.Pattern[str], Handler], ...] = (
    (
        re.compile(rf"(?P<name>[A-Za-z][\w.-]*):{_ID}(?:/{_VER}(?:/(?P<location>.*))?)?/?", re.S),
        _instance_name,
    ),
    (
        re.compile(rf"https?://identifiers\.org/DANDI:{_ID}(?:/(?P<version>\d+\.\d+\.\d+))?", re.I),
        _identifiers_org,
    ),
    (
        re.compile(rf"{_SERVER}(?:#/)?dandiset/{_ID}(?:/{_VER})?(?:/(?:files/?{_QUERY})?)?"),
        _web,
    ),
    (re.compile(rf"{_SERVER}dandisets/{_ID}/versions/{_VER}/assets/?{_QUERY}"), _api_asset_listing),
    (VERSION_ASSET_URL, _api_asset),
    (re.compile(rf"{_SERVER}dandisets/{_ID}(?:/(?:versions(?:/{_VER})?/?)?)?"), _api_dandiset),
    (ASSET_URL, _api_asset),
    (
        re.compile(rf"(?i:dandi)://(?P<name>[^/@]+)/{_ID}(?:@{_VER})?(?:/(?P<location>.*))?", re.S),
        _dandi_scheme,
    ),
)

#: Hosts that only redirect to a known instance: mapped without following the redirect.
_HOST_ALIASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"gui\.dandiarchive\.org"), "dandi"),
    (re.compile(r"deploy-preview-.*--gui-dandiarchive-org\.netlify\.app"), "dandi-sandbox"),
    (re.compile(r"[^/]*dandiarchive-org\.netlify\.app"), "dandi"),
)


# --------------------------------------------------------------------------- parsing


def parse_url(text: str, registry: Registry, *, glob: bool = False) -> Target:
    """Parse a Dandiset/asset URL or identifier into a :class:`Target`.

    ``glob=True`` reads the path of a web or ``dandi://`` URL as a glob pattern (the
    official client's ``--path-type glob``). Raises :class:`InvalidUrl` (naming the
    accepted forms) for anything else, :class:`UnknownInstance` for an unknown instance
    name, and :class:`RemoteError` when an unknown server cannot be discovered.
    """
    stripped = text.strip()
    for pattern, handler in _PATTERNS:
        match = pattern.fullmatch(stripped)
        if match is not None:
            return handler(match, registry, glob)
    raise InvalidUrl(_explain(stripped))


def _explain(text: str) -> str:
    forms = "\n".join(f"  - {form}" for form in ACCEPTED_FORMS)
    hint = ""
    if re.search(r"(?i)^https?://(gui\.dandiarchive\.org|identifiers\.org)/", text):
        hint = " (neuropil does not follow redirects; use the URL it redirects to)"
    return (
        f"cannot parse {text!r} as a Dandiset or asset URL{hint}.\n"
        f"Dandiset ids have 6 digits; versions are 'draft' or N.N.N. Accepted forms:\n{forms}"
    )


def _server(server: str, registry: Registry) -> Instance:
    host = re.sub(r"(?i)^https?://", "", server).split("/", 1)[0].lower()
    for pattern, name in _HOST_ALIASES:
        if pattern.fullmatch(host):
            return registry.get(name)
    return registry.discover(server)


def _query_param(query: str | None, key: str) -> str | None:
    """The percent-decoded value of ``key`` in a query string (``+`` stays ``+``)."""
    for pair in (query or "").split("&"):
        name, sep, value = pair.partition("=")
        if sep and unquote(name) == key:
            return unquote(value)
    return None


def _located(
    instance: Instance, ident: str, version: str | None, location: str, glob: bool
) -> Target:
    """A Target for a path inside a Dandiset, classified like the official client does."""
    location = location.lstrip("/")
    if not location:
        return Target(instance, "dandiset", ident, version)
    if glob:
        return Target(instance, "glob", ident, version, glob=location)
    if location.endswith("/"):
        return Target(instance, "folder", ident, version, path=location)
    split = split_zarr_location(location)
    if split is not None:
        return Target(instance, "item", ident, version, path=split[0], zarr_path=split[1])
    return Target(instance, "item", ident, version, path=location)


def split_zarr_location(location: str) -> tuple[str, str] | None:
    """``(zarr asset path, path inside it)`` when ``location`` goes inside a ``.zarr`` or
    ``.ngff`` component, else None (also when it names the Zarr itself)."""
    parts = [p for p in location.split("/") if p]
    for i, part in enumerate(parts):
        if part.endswith(ZARR_EXTENSIONS) and i + 1 < len(parts):
            return "/".join(parts[: i + 1]), "/".join(parts[i + 1 :])
    return None
