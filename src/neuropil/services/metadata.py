"""Computed metadata: what the server strips from input and fills in on every read.

Stored metadata never holds computed fields; readers always get the full form, built
from the row and the URLs the client reached (so the archive works behind any proxy).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any, Protocol

from dandischema.consts import DANDI_SCHEMA_VERSION

from neuropil._version import __version__
from neuropil.core.citation import citation_name
from neuropil.core.ids import DRAFT
from neuropil.db.models import Dandiset, User, Version
from neuropil.services.content import BlobLike, ZarrLike, content_of
from neuropil.services.embargo import access_requirements, asset_access
from neuropil.services.urls import Urls

SCHEMA_VERSION = DANDI_SCHEMA_VERSION

ASSET_COMPUTED_FIELDS = (
    "id",
    "access",
    "path",
    "identifier",
    "contentUrl",
    "contentSize",
    "digest",
    "datePublished",
    "publishedBy",
    "@context",
)
VERSION_COMPUTED_FIELDS = (
    "name",
    "identifier",
    "version",
    "id",
    "url",
    "assetsSummary",
    "citation",
    "doi",
    "dateCreated",
    "datePublished",
    "publishedBy",
    "manifestLocation",
    "releaseNotes",
    "@context",
    "repository",
)


def context_url(schema_version: str) -> str:
    return (
        "https://raw.githubusercontent.com/dandi/schema/master/releases/"
        f"{schema_version}/context.json"
    )


def isoformat(dt: datetime) -> str:
    """DANDI's timestamp form: ISO-8601 with microseconds and ``Z``."""
    # isoformat() is several times faster than strftime, which shows in 1,000-asset pages.
    # The database's timestamps are UTC already (``db.types.UTCDateTime``): their offset
    # is written "+00:00", which becomes "Z", with no converted copies of the datetime.
    # ``isoformat()`` without arguments is about 3 times as fast as with ``timespec`` (its
    # keyword parsing); it leaves out a microsecond part of zero, which is then added.
    if dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    text = dt.isoformat()[:-6]  # without "+00:00"
    return text + "Z" if dt.microsecond else text + ".000000Z"


# -- the LINDI index of HDF5 assets ----------------------------------------------------------
#: The ``relatedResource`` entry naming an asset's ``.lindi.json`` index (dandischema has no
#: free-form field; ``Resource`` with ``dcite:HasMetadata`` validates). Readers find it by
#: this name (``neuropil.reading.INDEX_RESOURCE_NAME`` is the same string).
INDEX_RESOURCE_NAME = "LINDI index (.lindi.json)"
#: Assets the index is announced for: decided from the path and encoding format alone, so
#: a listing of 1,000 assets touches no store object. The endpoint answers honestly for
#: the rest of the story (503 while building, 404 with the reason when there is none).
HDF5_SUFFIXES = (".nwb", ".h5", ".hdf5", ".hdf", ".he5")
HDF5_FORMATS = frozenset({"application/x-nwb", "application/x-hdf5", "application/x-hdf"})


def index_url(urls: Urls, asset_id: str) -> str:
    """The asset's index endpoint (the JSON itself: no redirect to follow)."""
    return f"{urls.api}/assets/{asset_id}/index/"


def announces_index(path: str, metadata: dict[str, Any]) -> bool:
    """Whether an asset's metadata names an index: HDF5/NWB by name or encoding format."""
    return path.lower().endswith(HDF5_SUFFIXES) or metadata.get("encodingFormat") in HDF5_FORMATS


def index_resource(urls: Urls, asset_id: str) -> dict[str, Any]:
    return {
        "schemaKey": "Resource",
        "name": INDEX_RESOURCE_NAME,
        "url": index_url(urls, asset_id),
        "relation": "dcite:HasMetadata",
        "resourceType": "dcite:Dataset",
    }


def _is_index_resource(entry: object) -> bool:
    return (
        isinstance(entry, dict)
        and entry.get("name") == INDEX_RESOURCE_NAME
        and str(entry.get("url", "")).endswith("/index/")
    )


def _strip_index_resource(md: dict[str, Any]) -> None:
    """Drop the computed index entry from input (a client writing back what it read)."""
    related = md.get("relatedResource")
    if isinstance(related, list) and any(_is_index_resource(r) for r in related):
        kept = [r for r in related if not _is_index_resource(r)]
        if kept:
            md["relatedResource"] = kept
        else:
            del md["relatedResource"]


def _add_index_resource(md: dict[str, Any], urls: Urls, asset_id: str) -> None:
    related = md.get("relatedResource")
    entry = index_resource(urls, asset_id)
    if related is None:
        md["relatedResource"] = [entry]
    elif isinstance(related, list):
        md["relatedResource"] = [r for r in related if not _is_index_resource(r)] + [entry]
    # anything else is malformed stored metadata: left for validation to report


def _copied(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists and what they hold), as
    :func:`copy.deepcopy` makes one of a decoded document, in a fraction of its time (no
    memo of shared parts, which decoded JSON has none of; no dispatch by type). Other
    values are kept, not copied: JSON's are immutable."""
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copied(v) for v in value]
    return value


# -- assets ----------------------------------------------------------------------------------
def strip_asset_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    md = {k: _copied(v) for k, v in metadata.items() if k not in ASSET_COMPUTED_FIELDS}
    _strip_index_resource(md)
    md.setdefault("schemaKey", "Asset")
    md.setdefault("schemaVersion", SCHEMA_VERSION)
    return md


class AssetLike(Protocol):
    @property
    def asset_id(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def metadata_(self) -> dict[str, Any]: ...
    @property
    def blob(self) -> BlobLike | None: ...
    @property
    def zarr(self) -> ZarrLike | None: ...
    @property
    def embargoed(self) -> bool:
        """Its bytes are embargoed (:attr:`neuropil.services.assets.AssetRecord.embargoed`)."""

    @property
    def embargoed_until(self) -> date | None:
        """The end of the embargo of the dandiset holding it, if embargoed."""


def asset_metadata(asset: AssetLike, urls: Urls) -> dict[str, Any]:
    """The full metadata of an asset, as every read endpoint returns it."""
    # A shallow copy is enough: below, only top-level keys are set (no nested value of the
    # stored document is changed), so ``asset.metadata_`` stays as it was. A deep copy
    # took a fifth of the CPU of an asset page with metadata.
    md = dict(asset.metadata_)
    content = content_of(asset.blob, asset.zarr)
    md["id"] = f"dandiasset:{asset.asset_id}"
    md["access"] = [asset_access(asset.embargoed, asset.embargoed_until)]
    md["path"] = asset.path
    md["identifier"] = asset.asset_id
    if content is not None:
        md["contentUrl"] = content.content_urls(urls, asset.asset_id)
        md["contentSize"] = content.size
        md["digest"] = content.digest()
        implied = content.encoding_format()
        if implied:
            md["encodingFormat"] = implied
        if content.indexable and announces_index(asset.path, md):
            _add_index_resource(md, urls, asset.asset_id)  # as announced_index_url decides
    md.setdefault("schemaKey", "Asset")
    md.setdefault("schemaVersion", SCHEMA_VERSION)
    md["@context"] = context_url(md["schemaVersion"])
    return md


def announced_index_url(asset: AssetLike, urls: Urls) -> str | None:
    """The asset's index URL if its metadata names one (:func:`asset_metadata` decides the
    same way): what its responses advertise in a ``Link`` header."""
    content = content_of(asset.blob, asset.zarr)
    if content is None or not content.indexable:
        return None
    md = asset.metadata_
    implied = content.encoding_format()
    if implied:
        md = {**md, "encodingFormat": implied}
    return index_url(urls, asset.asset_id) if announces_index(asset.path, md) else None


def published_asset_metadata(
    asset: AssetLike, urls: Urls, activity: dict[str, Any]
) -> dict[str, Any]:
    """The full metadata as publishing would make it (what validation checks). Only an
    open dandiset is published, so the asset is open by then, whatever it is now."""
    md = asset_metadata(asset, urls)
    md["access"] = [asset_access(False, None)]
    if "datePublished" not in md:
        md["publishedBy"] = activity
        md["datePublished"] = activity["startDate"]
    return md


# -- dandisets and versions ------------------------------------------------------------------
def strip_version_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    md = {k: _copied(v) for k, v in metadata.items() if k not in VERSION_COMPUTED_FIELDS}
    access = md.get("access")
    if isinstance(access, list) and access and isinstance(access[0], dict):
        access[0].pop("schemaKey", None)
        access[0].pop("status", None)
    md.setdefault("schemaKey", "Dandiset")
    md.setdefault("schemaVersion", SCHEMA_VERSION)
    return md


#: dandischema's pattern of a person's name: "Last, First".
PERSON_NAME = re.compile(r"([\w\s\-\.']+),\s+([\w\s\-\.']+)")


def default_contributor(user: User) -> dict[str, Any]:
    """DANDI's default contributor: the creator as contact person, "Last, First"."""
    person: dict[str, Any] = {
        "name": citation_name(user.name or user.username),
        "roleName": ["dcite:ContactPerson"],
        "schemaKey": "Person",
        "affiliation": [],
        "includeInCitation": True,
    }
    if user.email:
        person["email"] = user.email
    return person


def contributors(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    """The contributor entries that are objects (stored metadata may be malformed: it is
    refused on PUT, but reads must never crash on it)."""
    raw = metadata.get("contributor")
    return [c for c in raw if isinstance(c, dict)] if isinstance(raw, list) else []


def contact_person(metadata: dict[str, Any]) -> str:
    for c in contributors(metadata):
        roles = c.get("roleName")
        name = c.get("name")
        if isinstance(roles, list) and "dcite:ContactPerson" in roles:
            return name if isinstance(name, str) else ""  # a draft may hold name: null
    return ""


def citation(
    metadata: dict[str, Any], *, name: str, version: str, year: int, url: str, instance_name: str
) -> str:
    """DANDI's citation: contributors in citation order, year, name, version, link (the DOI
    when there is one)."""
    authors = "; ".join(
        c["name"]
        for c in contributors(metadata)
        # dandischema defaults includeInCitation to true
        if c.get("includeInCitation", True) and isinstance(c.get("name"), str) and c["name"]
    )
    lead = f"{authors} " if authors else ""
    doi = metadata.get("doi")
    link = f"https://doi.org/{doi}" if isinstance(doi, str) and doi else url
    return f"{lead}({year}) {name} (Version {version}) [Data set]. {instance_name} Archive. {link}"


def empty_summary() -> dict[str, Any]:
    return {"schemaKey": "AssetsSummary", "numberOfBytes": 0, "numberOfFiles": 0}


def manifest_url(urls: Urls, identifier: str, version: str, name: str) -> str:
    return f"{urls.api}/dandisets/{identifier}/versions/{version}/manifests/{name}"


def manifest_location(urls: Urls, identifier: str, version: str) -> list[str]:
    """A draft's assets listing; a published version's ``assets.yaml`` manifest."""
    if version == DRAFT:
        return [f"{urls.api}/dandisets/{identifier}/versions/draft/assets/"]
    return [manifest_url(urls, identifier, version, "assets.yaml")]


def publish_activity(now: datetime, instance_name: str) -> dict[str, Any]:
    """``publishedBy``: a PublishActivity associated with this archive's software."""
    return {
        "id": uuid.uuid4().urn,
        "name": f"{instance_name} publish",
        "startDate": now.isoformat(),
        "endDate": now.isoformat(),
        "wasAssociatedWith": [
            {
                "id": uuid.uuid4().urn,
                "name": f"{instance_name} API",
                "version": __version__,
                "schemaKey": "Software",
            }
        ],
        "schemaKey": "PublishActivity",
    }


def doi_for(prefix: str | None, instance_name: str, identifier: str, version: str) -> str | None:
    """DANDI's DOI form, ``<prefix>/<instance>.<id>/<version>``, when a prefix is set."""
    if not prefix:
        return None
    return f"{prefix}/{instance_name.lower()}.{identifier}/{version}"


def version_metadata(
    version: Version,
    dandiset: Dandiset,
    urls: Urls,
    *,
    instance_name: str,
) -> dict[str, Any]:
    """The full metadata of a version (``GET .../versions/{v}/``): the stored fields (for a
    published version also ``publishedBy``, ``datePublished``, ``releaseNotes``) overlaid
    with the computed ones."""
    md: dict[str, Any] = _copied(version.metadata_)
    ident = dandiset.identifier
    url = urls.dandiset_web(ident, version.version)
    md.setdefault("schemaKey", "Dandiset")
    md.setdefault("schemaVersion", SCHEMA_VERSION)
    md["@context"] = context_url(md["schemaVersion"])
    md["manifestLocation"] = manifest_location(urls, ident, version.version)
    md["name"] = version.name
    md["identifier"] = f"{instance_name}:{ident}"
    md["version"] = version.version
    md["id"] = f"{instance_name}:{ident}/{version.version}"
    md["repository"] = urls.web
    md["url"] = url
    md["dateCreated"] = isoformat(dandiset.created)
    access = md.get("access") if isinstance(md.get("access"), list) else None
    first = access[0] if access and isinstance(access[0], dict) else {}
    first = {k: v for k, v in first.items() if k != "embargoedUntil"}  # computed below
    md["access"] = [{**first, **access_requirements(dandiset)}]
    md["assetsSummary"] = _copied(version.assets_summary) or empty_summary()
    if version.doi:
        md["doi"] = version.doi
    md["citation"] = citation(
        md,
        name=version.name,
        version=version.version,
        year=dandiset.created.year,
        url=url,
        instance_name=instance_name,
    )
    return md
