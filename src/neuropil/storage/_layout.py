"""Checks of a multipart upload's part list, shared by every store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from neuropil.storage.base import PartInfo


def check_parts(
    arrived: Mapping[int, PartInfo], parts: Sequence[PartInfo], part_size: int | None
) -> int:
    """Check a CompleteMultipartUpload part list against what arrived; returns the total size.

    Raises ``ValueError`` naming the first part that is missing or has another ETag. With a
    part-size hint the list must also fit the layout: numbers 1..N in order, every part but
    the last exactly ``part_size`` bytes.
    """
    total = 0
    for i, want in enumerate(parts, start=1):
        if part_size is not None and want.part_number != i:
            raise ValueError(
                f"part {want.part_number} is listed where part {i} belongs; list the parts "
                "1..N in order"
            )
        got = arrived.get(want.part_number)
        if got is None:
            raise ValueError(f"part {want.part_number} has not been uploaded")
        if got.etag != want.etag.strip('"'):
            raise ValueError(f"part {want.part_number} has ETag {got.etag}, not {want.etag}")
        if part_size is not None and i < len(parts) and got.size != part_size:
            raise ValueError(
                f"part {i} has {got.size} bytes; every part but the last must have {part_size}"
            )
        total += got.size
    return total


def check_part_fits(part_number: int, size: int, part_size: int | None) -> None:
    """Refuse a part that outgrows the hinted part size (it would overwrite the next one)."""
    if part_size is not None and size > part_size:
        raise ValueError(
            f"part {part_number} is larger than the upload's part size ({part_size} bytes)"
        )
