"""The service functions behind a file page's contents and its preview images.

Both find the asset through :func:`neuropil.services.assets.list_assets`, so who may see a
preview is decided exactly as who may see the asset (the dandiset's visibility), in one
place. An image is made in two steps: :func:`locate_preview` checks access and names the
image (its validator, and whether it may be cached for good), so a revalidation costs no
reading; :func:`render_preview` reads and draws it, a few at a time across the process.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from neuropil._version import __version__
from neuropil.core.ids import DRAFT
from neuropil.db.models import User
from neuropil.errors import BadRequest, CorruptHdf5, NeuropilError, NotFound, Overloaded
from neuropil.index import IndexFile
from neuropil.services import assets, indexes
from neuropil.services.assets import AssetRecord, BlobRecord
from neuropil.services.context import Context
from neuropil.services.metadata import announces_index
from neuropil.services.preview import planner
from neuropil.services.preview.extract import extract
from neuropil.services.preview.model import Node, Plan
from neuropil.services.preview.source import IndexTooLarge, load_index, open_blob
from neuropil.services.preview.tree import walk

log = logging.getLogger(__name__)

#: Previews drawn at once in this process; others wait up to WAIT seconds, then get 503.
CONCURRENT = 2
WAIT = 10.0
#: Changes when the drawing changes, so validators of older images stop matching.
RENDERING = "1"
_SLOTS = threading.BoundedSemaphore(CONCURRENT)

State = Literal["built", "building", "failed", "too-large"]


@dataclass(frozen=True)
class Overview:
    """What a file page shows of an HDF5 file's contents."""

    asset_id: str
    state: State
    message: str = ""
    tree: Node | None = None
    plans: tuple[Plan, ...] = ()


@dataclass(frozen=True)
class PreviewTarget:
    """An image the caller may see: which asset and object, its validator, its lifetime."""

    asset: AssetRecord
    blob: BlobRecord
    object: str
    etag: str
    #: The image can never change for this URL (a published version, or the asset id named).
    immutable: bool


def _asset(
    ctx: Context, *, user: User | None, identifier: str, version: str, path: str
) -> AssetRecord:
    _, found, _ = assets.list_assets(
        ctx,
        user=user,
        identifier=identifier,
        version=version,
        path=path,
        with_metadata=True,
        limit=1,
        count=False,
    )
    if not found or found[0].path != path:
        raise NotFound(f"No file {path!r} in version {version}.")
    return found[0]


def file_overview(
    ctx: Context, *, user: User | None, identifier: str, version: str, path: str
) -> Overview | None:
    """The object tree and the previews on offer, or ``None`` for files that are not
    HDF5/NWB (by name or format) or are Zarr stores: their pages show nothing of this."""
    asset = _asset(ctx, user=user, identifier=identifier, version=version, path=path)
    if asset.blob is None or not announces_index(asset.path, asset.metadata_):
        return None
    try:
        loaded = load_index(ctx, asset.blob)
    except indexes.IndexPending:
        return Overview(asset.asset_id, "building", "This file is being indexed.")
    except IndexTooLarge as exc:
        return Overview(asset.asset_id, "too-large", exc.message)
    except indexes.NoIndex as exc:
        if exc.state == indexes.NOT_HDF5:
            return None
        return Overview(asset.asset_id, "failed", exc.message)
    except NeuropilError as exc:  # the store failed, or the index is unreadable
        return Overview(asset.asset_id, "failed", f"The contents cannot be shown: {exc}")
    try:
        with open_blob(ctx.store, asset.blob, loaded) as file:
            tree = walk(file, loaded.refs)
    except (NeuropilError, KeyError, ValueError, TypeError) as exc:
        return Overview(asset.asset_id, "failed", f"The contents cannot be shown: {exc}")
    return Overview(asset.asset_id, "built", tree=tree, plans=tuple(planner.plan_all(tree)))


def locate_preview(
    ctx: Context,
    *,
    user: User | None,
    identifier: str,
    version: str,
    path: str,
    object_path: str,
    asset_id: str | None = None,
) -> PreviewTarget:
    """Check that the caller may see the file and name its preview of ``object_path``.

    ``asset_id`` pins the image to one content: a draft's file replaced since the page
    was made is another asset, and its old image URL answers 404 rather than new pixels.
    """
    asset = _asset(ctx, user=user, identifier=identifier, version=version, path=path)
    if asset_id is not None and asset_id != asset.asset_id:
        raise NotFound(f"{path} has changed since this link was made; reload its page.")
    if asset.blob is None:
        raise NotFound(f"{path} is a Zarr store: it has no preview.")
    if not object_path.startswith("/") or len(object_path) > 4096:
        raise NotFound(f"No object {object_path[:200]!r} in {path}.")
    tag = f"{asset.asset_id}\n{object_path}\n{__version__}\n{RENDERING}"
    etag = hashlib.sha256(tag.encode()).hexdigest()[:32]
    immutable = version != DRAFT or asset_id is not None
    return PreviewTarget(asset, asset.blob, object_path, etag, immutable)


def render_preview(ctx: Context, target: PreviewTarget) -> bytes:
    """The PNG of a located preview.

    Raises ``IndexPending`` (503) while the file is being indexed, ``NotFound`` when the
    object does not exist or has no preview, ``Overloaded`` when too many are being drawn,
    and ``CorruptHdf5`` when the file's data cannot be read as its index says.
    """
    loaded = load_index(ctx, target.blob)
    if not _SLOTS.acquire(timeout=WAIT):
        raise Overloaded("Too many previews are being drawn; retry shortly.", retry_after=2)
    started = time.monotonic()
    try:
        with open_blob(ctx.store, target.blob, loaded) as file:
            plan = _plan(file, loaded.refs, target)
            try:
                data = extract(file, plan)
            except BadRequest as exc:  # the data are not what the index says (a bomb...)
                raise CorruptHdf5(f"{target.object[:200]} cannot be previewed: {exc}") from exc
            except (KeyError, IndexError, ValueError, TypeError) as exc:  # odd data
                log.info("preview of %s failed", target.object, exc_info=True)
                raise CorruptHdf5(f"{target.object[:200]} cannot be previewed: {exc}") from exc
        # matplotlib is imported on the first preview, not at start-up (about 1.3 s of it).
        from neuropil.services.preview.render import render_png

        png = render_png(plan, data)
    finally:
        _SLOTS.release()
    log.debug("preview %s (%s) in %.3f s", target.object, plan.kind, time.monotonic() - started)
    return png


def _plan(file: IndexFile, refs: Mapping[str, Any], target: PreviewTarget) -> Plan:
    try:
        node = walk(file, refs, target.object, depth=1)
    except (KeyError, ValueError, TypeError) as exc:
        raise NotFound(f"No object {target.object[:200]!r} in {target.asset.path}.") from exc
    plan = planner.plan_for(node)
    if plan is None:
        raise NotFound(f"{target.object[:200]} has no preview.")
    return plan
