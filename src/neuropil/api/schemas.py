"""JSON Schemas of the API's success bodies, for the OpenAPI document (issue 16).

Documentation only: the handlers build their answers with :mod:`neuropil.api.serializers` and
encode them with orjson (docs/design/performance.md); nothing validates an answer against
these at run time. The tests do (``tests/support/openapi.py`` and the schemathesis run), so a
serializer that changes shape fails them until its schema here follows.

A route declares its body with ``responses=ok("Name")``: a ``$ref`` to
``#/components/schemas/Name``, which :func:`neuropil.api.openapi.install` adds to the
document from :data:`COMPONENTS`. The shapes are DANDI's (reference section 4) where DANDI
defines them. Conventions: ``required`` names the keys always present; ``null`` is in a
``type`` only where a serializer writes ``None``; objects accept properties not listed (DANDI's
clients ignore extra fields, and shapes grow). Metadata documents (a version's, an asset's)
are user data overlaid with computed fields: only the computed fields are declared.
"""

from __future__ import annotations

from typing import Any

from neuropil.api.json_schema import (
    BOOLEAN,
    COUNT,
    IDENTIFIER,
    OBJECT,
    STRING,
    TIMESTAMP,
    URL,
    Properties,
    Schema,
    array,
    nullable,
    obj,
    page,
    ref,
    values,
)
from neuropil.db.models import AssetStatus, EmbargoStatus, UserStatus, VersionStatus, ZarrStatus
from neuropil.services.embargo import EMBARGOED_ACCESS, OPEN_ACCESS
from neuropil.tables import TABLES

__all__ = ["COMPONENTS", "ok", "ref"]

# -- users, dandisets, versions (reference sections 3.1, 4.1, 4.2) ---------------------------
_USER: Properties = {"username": STRING, "name": STRING}
_DANDISET_HEAD: Properties = {
    "identifier": IDENTIFIER,
    "created": TIMESTAMP,
    "modified": TIMESTAMP,
    "contact_person": {**STRING, "description": "The first contact person's name, or ''."},
    "embargo_status": values(EmbargoStatus),
    "star_count": COUNT,
    "is_starred": BOOLEAN,
}
_VERSION_SHORT: Properties = {
    "version": {**STRING, "description": "draft, or a published version 0.YYMMDD.HHMM."},
    "name": STRING,
    "asset_count": COUNT,
    "size": COUNT,
    "status": values(VersionStatus),
    "created": TIMESTAMP,
    "modified": TIMESTAMP,
}
_VERSION_DETAIL: Properties = {
    **_VERSION_SHORT,
    "active_uploads": COUNT,
    "release_notes": STRING,
}
_VERSION_FULL: Properties = {**_VERSION_DETAIL, "dandiset": ref("DandisetSummary")}
_FIELD_ERROR: Properties = {"field": STRING, "message": STRING}
_ACCESS = obj(
    "Who may read the bytes: open, or embargoed (until a date).",
    {
        "schemaKey": {"const": "AccessRequirements"},
        "status": {"type": "string", "enum": [OPEN_ACCESS, EMBARGOED_ACCESS]},
        "embargoedUntil": {"type": "string", "format": "date"},
    },
    optional=("embargoedUntil",),
)
_METADATA_BASE: Properties = {
    "schemaKey": {},  # the stored value, when the document has one
    "schemaVersion": {},
    # A URL naming schemaVersion, which is the client's say (not checked to be a version).
    "@context": STRING,
    "id": STRING,
    "identifier": STRING,
    "access": {**array(_ACCESS), "minItems": 1, "maxItems": 1},
}

USERS: dict[str, Schema] = {
    "User": obj("An account.", {**_USER, "admin": BOOLEAN, "status": values(UserStatus)}),
    "Owner": obj(
        "An owner of a dandiset; `email` only for its owners, reviewers and administrators.",
        {**_USER, "email": nullable(STRING)},
    ),
    "OwnerList": {**array(ref("Owner")), "description": "The owners of a dandiset."},
    "Token": {**STRING, "description": "The caller's API token (a JSON string)."},
}
DANDISETS: dict[str, Schema] = {
    "DandisetSummary": obj("A dandiset, without its versions.", _DANDISET_HEAD),
    "VersionSummary": obj("A version, short form (in dandiset lists).", _VERSION_SHORT),
    "VersionDetail": obj("A version with its uploads and release notes.", _VERSION_DETAIL),
    "Version": obj("A version with its dandiset (the versions list, publish).", _VERSION_FULL),
    "DandisetListItem": obj(
        "A dandiset in a list, with its draft and its latest published version (short form).",
        {
            **_DANDISET_HEAD,
            "most_recent_published_version": nullable(ref("VersionSummary")),
            "draft_version": ref("VersionSummary"),
        },
    ),
    "Dandiset": obj(
        "A dandiset, with its draft and its latest published version.",
        {
            **_DANDISET_HEAD,
            "most_recent_published_version": nullable(ref("VersionDetail")),
            "draft_version": ref("VersionDetail"),
        },
    ),
    "VersionMetadata": obj(
        "A version's metadata (dandischema's Dandiset, or PublishedDandiset once "
        "published): the stored document with the computed fields set.",
        {
            **_METADATA_BASE,
            "name": STRING,
            "version": STRING,
            "url": URL,
            "repository": URL,
            "dateCreated": TIMESTAMP,
            "manifestLocation": array(URL),
            "assetsSummary": OBJECT,
            "citation": STRING,
            "doi": STRING,
        },
        optional=("doi",),
    ),
    "VersionInfo": obj(
        "A version with its dandiset, metadata and validation errors (polled by clients "
        "until it is valid).",
        {
            **_VERSION_FULL,
            "asset_validation_errors": array(
                obj(
                    "An asset's error, or a note that it is still being validated.",
                    {**_FIELD_ERROR, "path": STRING},
                )
            ),
            "version_validation_errors": array(obj("A metadata error.", _FIELD_ERROR)),
            "metadata": ref("VersionMetadata"),
            "contact_person": STRING,
        },
    ),
    "DandisetPage": page("DandisetListItem"),
    "VersionPage": page("Version"),
}

# -- assets (reference sections 3.4, 4.3, 7.4) ---------------------------------------------
_ASSET: Properties = {
    "asset_id": STRING,
    "blob": nullable(STRING),
    "zarr": nullable(STRING),
    "path": STRING,
    "size": COUNT,
    "created": TIMESTAMP,
    "modified": TIMESTAMP,
    "metadata": ref("AssetMetadata"),
}

ASSETS: dict[str, Schema] = {
    "AssetMetadata": obj(
        "An asset's full metadata (dandischema's Asset, or PublishedAsset once published): "
        "the stored document with the computed fields set; `contentUrl`, `contentSize` and "
        "`digest` when it has content.",
        {
            **_METADATA_BASE,
            "path": STRING,
            "contentUrl": array(URL),
            "contentSize": COUNT,
            "digest": {**OBJECT, "additionalProperties": STRING},
        },
        optional=("contentUrl", "contentSize", "digest"),
    ),
    "Asset": obj(
        "An asset in a list: its blob or its Zarr; `metadata` with ?metadata=true.",
        _ASSET,
        optional=("metadata",),
    ),
    "AssetDetail": obj("An asset with its metadata.", _ASSET),
    "AssetValidation": obj(
        "An asset's validation status and errors.",
        {"status": values(AssetStatus), "validation_errors": array(obj("An error.", _FIELD_ERROR))},
    ),
    "AssetPath": obj(
        "A direct child of a folder: a folder, or a file (`asset` set).",
        {
            "path": STRING,
            "version": {"type": "integer", "description": "The version's internal key."},
            "aggregate_files": COUNT,
            "aggregate_size": COUNT,
            "asset": nullable(obj("The file's asset.", {"asset_id": STRING, "url": nullable(URL)})),
        },
    ),
    "AssetPage": page("Asset", lazy=True),
    "AssetPathPage": page("AssetPath"),
}

# -- uploads and blobs (reference sections 3.5, 5) -----------------------------------------
_PART: Properties = {
    "part_number": {"type": "integer", "minimum": 1},
    "size": COUNT,
    "upload_url": URL,
}
_UPLOAD: Properties = {
    "upload_id": STRING,
    "dandiset": IDENTIFIER,
    "etag": STRING,
    "size": COUNT,
    "created": TIMESTAMP,
}

UPLOADS: dict[str, Schema] = {
    "UploadInitialization": obj(
        "An upload started: PUT each part's bytes to its URL.",
        {"upload_id": STRING, "parts": array(obj("A part to upload.", _PART))},
    ),
    "UploadCompletion": obj(
        "POST `body` (S3's CompleteMultipartUpload XML) to `complete_url`.",
        {"complete_url": URL, "body": STRING},
    ),
    "Blob": obj(
        "A blob; `sha256` is null until the server has computed it.",
        {"blob_id": STRING, "etag": STRING, "sha256": nullable(STRING), "size": COUNT},
    ),
    "Upload": obj("The caller's upload in progress (neuropil).", _UPLOAD),
    "UploadDetail": obj(
        "An upload in progress with its parts: which arrived, and fresh URLs (neuropil).",
        {
            **_UPLOAD,
            "parts": array(
                obj(
                    "A part; `etag` once it arrived.",
                    {**_PART, "uploaded": BOOLEAN, "etag": STRING},
                    optional=("etag",),
                )
            ),
        },
    ),
    "UploadPage": page("Upload"),
}

# -- Zarr archives (reference section 3.6) -------------------------------------------------
ZARRS: dict[str, Schema] = {
    "Zarr": obj(
        "A Zarr archive; `checksum` is null until it is Complete.",
        {
            "name": STRING,
            "dandiset": IDENTIFIER,
            "zarr_id": STRING,
            "status": values(ZarrStatus),
            "checksum": nullable(STRING),
            "file_count": COUNT,
            "size": COUNT,
        },
    ),
    "ZarrPage": page("Zarr"),
    "ZarrUploadUrls": {**array(URL), "description": "Where to PUT each file, in the order asked."},
    "ZarrFileListing": obj(
        "Files of a Zarr, S3-like; `next` is the URL of the following ones.",
        {
            "next": nullable(URL),
            "results": array(
                obj(
                    "A file: its key in the Zarr, and its md5 (unquoted) as ETag.",
                    {"Key": STRING, "LastModified": TIMESTAMP, "ETag": STRING, "Size": COUNT},
                )
            ),
        },
    ),
    "ZarrArchiveUpload": obj("The files of a tar stream stored (neuropil).", {"files": COUNT}),
}

# -- instance, search, reviewers, tables ---------------------------------------------------
_REVIEW_LINK: Properties = {
    "id": {"type": "integer"},
    "label": STRING,
    "created": TIMESTAMP,
    "expires": nullable(TIMESTAMP),
    "expired": BOOLEAN,
    "created_by": nullable(STRING),
}
_SERVICE = obj("A service of the instance.", {"url": URL})


def _row(name: str) -> dict[str, Any]:
    """A row of the table ``name``: every column, any cell may be null."""
    cells = {
        c.name: {
            **nullable({"type": "integer" if c.kind == "int" else "string"}),
            "description": c.doc,
        }
        for c in TABLES[name]
    }
    return obj(f"A row of the {name} table.", cells)


OTHERS: dict[str, Schema] = {
    "ServerInfo": obj(
        "The instance (DANDI's server-info): the official client checks its version "
        "against `cli-minimal-version` and uses `services.api.url` from then on.",
        {
            "instance_config": obj(
                "dandischema's instance configuration.",
                {
                    "instance_name": STRING,
                    "instance_identifier": nullable(STRING),
                    "instance_url": URL,
                    "doi_prefix": nullable(STRING),
                    "licenses": array(STRING),
                },
            ),
            "schema_version": STRING,
            "schema_url": URL,
            "allowed_schema_versions": array(STRING),
            "version": STRING,
            "cli-minimal-version": STRING,
            "cli-requires-python": STRING,
            "cli-bad-versions": array(STRING),
            "services": obj("The instance's services.", {"api": _SERVICE, "webui": _SERVICE}),
        },
    ),
    "SearchResult": obj(
        "A page of matching dandisets, best first, with their matching assets and facet "
        "counts over the whole result (neuropil).",
        {
            "count": COUNT,
            "page": {"type": "integer"},
            "page_size": {"type": "integer"},
            "results": array(
                obj(
                    "A matching dandiset; `assets`: its first matching assets.",
                    {
                        "identifier": IDENTIFIER,
                        "name": STRING,
                        "version": STRING,
                        "score": {"type": "number"},
                        "snippet": STRING,
                        "asset_count": COUNT,
                        "assets": array(
                            obj("An asset.", {"path": STRING, "asset_id": STRING, "size": COUNT})
                        ),
                    },
                )
            ),
            "facets": {
                **OBJECT,
                "description": "Per facet, its values and how many dandisets have each.",
                "additionalProperties": array(obj("A value.", {"value": STRING, "count": COUNT})),
            },
        },
    ),
    "Reviewer": obj(
        "A named reviewer of an embargoed dandiset (neuropil).",
        {**_USER, "expires": nullable(TIMESTAMP), "created": TIMESTAMP},
    ),
    "ReviewerList": {**array(ref("Reviewer")), "description": "A dandiset's named reviewers."},
    "ReviewLink": obj("A review link, without its token (neuropil).", _REVIEW_LINK),
    "ReviewLinkList": {**array(ref("ReviewLink")), "description": "A dandiset's review links."},
    "NewReviewLink": obj(
        "A new review link: its token, shown this once, and where it works (neuropil).",
        {**_REVIEW_LINK, "token": STRING, "url": URL, "api_url": URL},
    ),
    "TableRows": {
        **array({"anyOf": [_row(name) for name in TABLES]}),
        "description": "A table as JSON: one object per row, keys in column order.",
    },
}

#: The component schemas of the OpenAPI document, by name.
COMPONENTS: dict[str, Schema] = {
    name: {"title": name, **schema}
    for name, schema in (USERS | DANDISETS | ASSETS | UPLOADS | ZARRS | OTHERS).items()
}


def ok(name: str, status: int = 200) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route whose ``status`` answer is JSON of the schema ``name``."""
    return {
        status: {
            "description": COMPONENTS[name]["description"],
            "content": {"application/json": {"schema": ref(name)}},
        }
    }
