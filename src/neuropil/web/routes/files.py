"""The file browser (``/dandiset/{id}/{version}/files?location=path/``) and asset actions.

``location`` names a folder (its children are listed, folders with their aggregate size and
file count) or a file (its page: download link, metadata, a streaming snippet, "Open with"
links). Owners of a draft can rename (move) and delete assets here.

``/dandiset/{id}/{version}/files/{asset_id}/download`` is the browser's download of a file:
it knows the reader by the session (or a review link's cookie), which the API does not read,
so the Download links of an embargoed dandiset point at it; those of an open one point at
the API's download URL, the one users copy. Both answer with the same redirect
(:func:`neuropil.services.downloads.redirect`).

``/dandiset/{id}/{version}/files/{asset_id}/zarr/{key}`` is the same for one file of a Zarr
asset (:func:`neuropil.services.downloads.zarr_file`): the Zarr panel of an embargoed
dandiset links there, as the key URL ``/zarr/<id>/<key>`` reads no session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from starlette.responses import RedirectResponse, Response

from neuropil.core.review_links import REVIEW_PARAM
from neuropil.errors import NotFound
from neuropil.services import asset_admin, assets, browse, downloads
from neuropil.services.assets import AssetRecord
from neuropil.services.metadata import asset_metadata
from neuropil.web import viewers
from neuropil.web.errors import page_router
from neuropil.web.file_summary import file_summary
from neuropil.web.render import render
from neuropil.web.routes.dandiset import VersionPage, load_version
from neuropil.web.routes.paging import Paging, page_number
from neuropil.web.routes.preview import preview_section
from neuropil.web.state import FormDep, Web, WebDep, field
from neuropil.web.zarr_panel import zarr_panel

router = page_router()

PAGE_SIZE = 100
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")


def crumbs(location: str) -> list[tuple[str, str]]:
    """``a/b/c`` -> ``[("a", "a/"), ("b", "a/b/"), ("c", "a/b/c/")]``."""
    parts = [p for p in location.strip("/").split("/") if p]
    return [(p, "/".join(parts[: i + 1]) + "/") for i, p in enumerate(parts)]


def snippet(path: str, url: str) -> str | None:
    """Python that streams the file with neuropil (NWB and HDF5 files only)."""
    low = path.lower()
    if low.endswith(".nwb"):
        return f'import neuropil\n\nnwbfile = neuropil.open_nwb("{url}")\nprint(nwbfile)'
    if low.endswith(HDF5_SUFFIXES):
        return f'import neuropil\n\nfile = neuropil.open("{url}")\nprint(list(file))'
    return None


@router.get("/dandiset/{identifier}/{version}/files")
@router.get("/dandiset/{identifier}/{version}/files/")
def files_page(identifier: str, version: str, request: Request, web: WebDep) -> Response:
    location = (request.query_params.get("location") or "").strip("/")
    page = load_version(web, identifier, version)
    if location and browse.is_file(
        web.ctx, user=web.reader, identifier=identifier, version=version, path=location
    ):
        return _file_page(web, page, location)
    number = page_number(request.query_params.get("page"))
    folder = browse.folder(
        web.ctx,
        user=web.reader,
        identifier=identifier,
        version=version,
        path=location,
        offset=(number - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    return render(
        web,
        "files.html",
        page=page,
        folder=folder,
        crumbs=crumbs(location),
        paging=Paging(number, PAGE_SIZE, folder.total),
        download_href=download_href(web, page),
    )


def download_href(web: Web, page: VersionPage) -> Callable[[str], str]:
    """Where a Download link of this version's files points, by asset id: for an embargoed
    dandiset this app's download route (the API would not know the signed-in reader), for
    an open one the API's download URL."""
    if page.embargo is None:
        return web.urls.asset_download
    files = f"{web.root}/dandiset/{page.identifier}/{page.version}/files"
    return lambda asset_id: f"{files}/{quote(asset_id)}/download"


@router.api_route(
    "/dandiset/{identifier}/{version}/files/{asset_id}/download", methods=["GET", "HEAD"]
)
def download(identifier: str, version: str, asset_id: str, web: WebDep) -> Response:
    """302 to the file's bytes (a signed URL for an embargoed file), for whoever may read
    the dandiset's pages: anonymous readers of an embargoed one are sent to sign in."""
    record = assets.get_asset(
        web.ctx, user=web.reader, identifier=identifier, version=version, asset_id=asset_id
    )
    return _redirect(web, downloads.redirect(web.ctx, web.urls, asset=record))


@router.api_route(
    "/dandiset/{identifier}/{version}/files/{asset_id}/zarr/{key:path}", methods=["GET", "HEAD"]
)
def zarr_key(identifier: str, version: str, asset_id: str, key: str, web: WebDep) -> Response:
    """302 to the bytes of one file of a Zarr asset (a signed URL when embargoed), for
    whoever may read the dandiset's pages, as :func:`download`."""
    record = assets.get_asset(
        web.ctx, user=web.reader, identifier=identifier, version=version, asset_id=asset_id
    )
    to = downloads.zarr_file(web.ctx, web.urls, user=web.reader, asset=record, key=key)
    return _redirect(web, to)


def _redirect(web: Web, to: downloads.Redirect) -> Response:
    # Decided for this reader's session: no cache may keep it for anyone else.
    headers = {**to.headers, "Cache-Control": "private, no-store"}
    return web.apply(RedirectResponse(to.location, status_code=302, headers=headers))


def zarr_files_route(web: Web, page: VersionPage, record: AssetRecord) -> str | None:
    """Where the Zarr panel's links go: for an embargoed dandiset this app's route to the
    Zarr's files (the key URL would not know the signed-in reader), for an open one
    ``None`` (its key URLs)."""
    if page.embargo is None or record.zarr is None:
        return None
    files = f"{web.root}/dandiset/{page.identifier}/{page.version}/files"
    return f"{files}/{quote(record.asset_id)}/zarr"


def _file_page(web: Web, page: VersionPage, path: str) -> Response:
    _, found, _ = assets.list_assets(
        web.ctx,
        user=web.reader,
        identifier=page.identifier,
        version=page.version,
        path=path,
        with_metadata=True,
        limit=1,
        count=False,
    )
    if not found or found[0].path != path:
        raise NotFound(f"No file {path!r} in version {page.version}.")
    record = found[0]
    # What the page shows and the snippet streams, outside the browser: the API's URL. It
    # answers a review link's reader by the link's token (the API reads no cookie).
    download = web.urls.asset_download(record.asset_id)
    needs_key = page.embargo is not None
    if needs_key and web.user is None and web.review_token:
        download += "?" + urlencode({REVIEW_PARAM: web.review_token})
        needs_key = False
    asset_status: str | None = None
    problems: list[dict[str, Any]] = []
    if page.insider:
        asset_status, problems = assets.get_asset_validation(
            web.ctx,
            user=web.reader,
            identifier=page.identifier,
            version=page.version,
            asset_id=record.asset_id,
        )
    zarr = zarr_panel(web, record, via=zarr_files_route(web, page, record))
    metadata = asset_metadata(record, web.urls)
    return render(
        web,
        "file.html",
        page=page,
        asset=record,
        crumbs=crumbs(path),
        download=download,
        download_href=download_href(web, page)(record.asset_id),
        download_needs_key=needs_key,
        metadata=metadata,
        summary=file_summary(metadata),
        snippet=snippet(path, download),
        zarr=zarr,
        # Outside viewers cannot read embargoed bytes, and must not be handed a review token.
        viewer_links=[]
        if page.embargo is not None
        else viewers.links(
            viewers.available(web.ctx.settings),
            url=zarr.url if zarr else download,
            asset_id=record.asset_id,
            dandiset=page.identifier,
            version=page.version,
            path=path,
        ),
        asset_status=asset_status,
        problems=problems,
        preview=preview_section(web, page.identifier, page.version, path),
    )


def _files_url(identifier: str, location: str) -> str:
    return f"/dandiset/{identifier}/draft/files?location={quote(location, safe='/')}"


@router.post("/dandiset/{identifier}/draft/files/rename")
def rename_asset(identifier: str, web: WebDep, form: FormDep) -> Response:
    record = asset_admin.rename_asset(
        web.ctx,
        user=web.user,
        identifier=identifier,
        version="draft",
        asset_id=field(form, "asset_id"),
        new_path=field(form, "new_path"),
    )
    return web.redirect(_files_url(identifier, record.path), flash=f"Renamed to {record.path}.")


@router.post("/dandiset/{identifier}/draft/files/delete")
def delete_asset(identifier: str, web: WebDep, form: FormDep) -> Response:
    path = field(form, "path")
    assets.delete_asset(
        web.ctx,
        user=web.user,
        identifier=identifier,
        version="draft",
        asset_id=field(form, "asset_id"),
    )
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    try:
        browse.folder(
            web.ctx, user=web.user, identifier=identifier, version="draft", path=parent, limit=0
        )
    except NotFound:
        parent = ""  # the folder held only this file and is gone with it
    return web.redirect(
        _files_url(identifier, parent + "/" if parent else ""), flash=f"Deleted {path}."
    )
