"""The dandiset page (``/dandiset/{id}[/{version}]``) and its citation exports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from neuropil.core.ids import DRAFT
from neuropil.db.models import User
from neuropil.services import dandisets, versions, visibility
from neuropil.services.context import Context
from neuropil.services.embargo import EmbargoState, embargo_state
from neuropil.services.metadata import contributors, version_metadata
from neuropil.web import citation
from neuropil.web.errors import page_router
from neuropil.web.render import render
from neuropil.web.state import Web, WebDep

router = page_router()

MAX_VERSIONS = 200


@dataclass
class VersionPage:
    """What the dandiset page and the pages below it need about one version."""

    view: versions.VersionView
    metadata: dict[str, Any]
    #: The reader may change the dandiset (owners, administrators).
    owner: bool
    #: The reader sees what owners see (owners, administrators, reviewers).
    insider: bool = False
    #: ``None`` for an open dandiset.
    embargo: EmbargoState | None = None

    @property
    def identifier(self) -> str:
        return self.view.head.dandiset.identifier

    @property
    def version(self) -> str:
        return self.view.version.version

    @property
    def is_draft(self) -> bool:
        return self.version == DRAFT


def load_version(web: Web, identifier: str, version: str, *, errors: bool = False) -> VersionPage:
    info = dandisets.get_dandiset(web.ctx, user=web.reader, identifier=identifier)
    access = visibility.access(web.ctx, user=web.reader, dandiset=info.dandiset)
    view = versions.get_version(
        web.ctx,
        user=web.reader,
        identifier=identifier,
        version=version,
        with_errors=errors and access.insider,
    )
    md = version_metadata(
        view.version, view.head.dandiset, web.urls, instance_name=web.ctx.settings.instance_name
    )
    return VersionPage(view, md, access.owner, access.insider, embargo_state(info.dandiset))


def summary_names(items: object) -> list[str]:
    """The names of an ``assetsSummary`` list (species, approaches, techniques)."""
    if not isinstance(items, list):
        return []
    return [str(i.get("name")) for i in items if isinstance(i, dict) and i.get("name")]


_names = summary_names


def summary_of(page: VersionPage) -> dict[str, Any]:
    s = page.metadata.get("assetsSummary") or {}
    return {
        "species": _names(s.get("species")),
        "approaches": _names(s.get("approach")),
        "techniques": _names(s.get("measurementTechnique")),
        "variables": [str(v) for v in s.get("variableMeasured") or []],
        "files": page.view.stats.asset_count,
        "size": page.view.stats.size,
    }


def all_versions(ctx: Context, user: User | None, identifier: str) -> list[str]:
    _, _, rows = versions.list_versions(
        ctx, user=user, identifier=identifier, order="-created", offset=0, limit=MAX_VERSIONS
    )
    names = [v.version for v, _ in rows if v.version != DRAFT]
    return [DRAFT, *names]


def _landing(web: Web, identifier: str, version: str) -> Response:
    page = load_version(web, identifier, version, errors=True)
    url = f"{web.base}/dandiset/{identifier}/{version}"
    return render(
        web,
        "dandiset.html",
        page=page,
        md=page.metadata,
        dandiset=page.view.head.dandiset,
        owners=page.view.head.dandiset.owners,
        contributors=contributors(page.metadata),
        summary=summary_of(page),
        versions=all_versions(web.ctx, web.reader, identifier),
        commands=[
            ("neuropil", f"neuropil download {url}"),
            ("dandi", f"dandi download {url}"),
        ],
        validation=page.view.version.validation_errors or [],
        asset_errors=page.view.asset_errors,
    )


@router.get("/dandiset/{identifier}")
@router.get("/dandiset/{identifier}/")
def dandiset_page(identifier: str, web: WebDep) -> Response:
    """The most recent published version, else the draft (as DANDI's page does)."""
    info = dandisets.get_dandiset(web.ctx, user=web.reader, identifier=identifier)
    version = info.published.version if info.published else DRAFT
    return _landing(web, identifier, version)


@router.get("/dandiset/{identifier}/{version}")
@router.get("/dandiset/{identifier}/{version}/")
def version_page(identifier: str, version: str, web: WebDep) -> Response:
    return _landing(web, identifier, version)


def _export(web: Web, identifier: str, version: str, kind: str) -> Response:
    page = load_version(web, identifier, version)
    publisher = f"{web.ctx.settings.instance_name} Archive"
    if kind == "bib":
        body, media = citation.bibtex(page.metadata, publisher=publisher), "application/x-bibtex"
    else:
        body, media = (
            citation.ris(page.metadata, publisher=publisher),
            "application/x-research-info-systems",
        )
    filename = f"{identifier}_{version}.{kind}"
    return Response(
        body,
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/dandiset/{identifier}/{version}/citation.bib")
def citation_bibtex(identifier: str, version: str, web: WebDep) -> Response:
    return _export(web, identifier, version, "bib")


@router.get("/dandiset/{identifier}/{version}/citation.ris")
def citation_ris(identifier: str, version: str, web: WebDep) -> Response:
    return _export(web, identifier, version, "ris")
