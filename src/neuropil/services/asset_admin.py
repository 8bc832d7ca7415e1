"""Owner actions on single assets that DANDI's web UI lacks: rename (move) an asset.

A rename is an asset replacement with a new path: assets are immutable, so the renamed
file gets a new asset id while the blob (the bytes) is shared, exactly as ``PUT`` on the
API does it. Published versions keep the old asset untouched.
"""

from __future__ import annotations

from neuropil.core.paths import validate_asset_path
from neuropil.db.models import User
from neuropil.errors import BadRequest, Unsupported
from neuropil.services import assets
from neuropil.services.context import Context
from neuropil.services.metadata import strip_asset_metadata


def rename_asset(
    ctx: Context,
    *,
    user: User | None,
    identifier: str,
    version: str,
    asset_id: str,
    new_path: str,
) -> assets.AssetRecord:
    """Move an asset of a draft to ``new_path``; returns the new asset record.

    Ownership, the draft's lock and path conflicts are checked by
    :func:`neuropil.services.assets.update_asset` in its own transaction.
    """
    new_path = validate_asset_path(new_path.strip())
    current = assets.get_asset(
        ctx, user=user, identifier=identifier, version=version, asset_id=asset_id
    )
    if current.blob_id is None:
        raise Unsupported("Only blob assets can be renamed; Zarr assets are not supported yet.")
    if current.path == new_path:
        raise BadRequest(f"The asset is already at {new_path!r}; enter a different path.")
    metadata = {**strip_asset_metadata(current.metadata_), "path": new_path}
    return assets.update_asset(
        ctx,
        user=user,
        identifier=identifier,
        version=version,
        asset_id=asset_id,
        metadata=metadata,
        blob_id=current.blob_id,
    )
