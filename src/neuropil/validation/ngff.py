"""OME-NGFF (OME-Zarr) metadata of a Zarr folder named ``*.ome.zarr`` or ``*.ngff``.

An OME-Zarr viewer finds an image by its root group's ``multiscales`` attribute (NGFF 0.4
and earlier: in ``.zattrs``; NGFF 0.5, a Zarr v3 group: under ``ome`` in ``zarr.json``'s
attributes): a list of pyramids, each naming its resolution levels (``datasets``) by the
path of an array in the group. A folder named as an OME-Zarr without it opens as a plain
Zarr but shows nothing in a viewer, so it is refused before upload, with the fix.

The other OME-Zarr roots are accepted as they are: high-content screening (``plate``,
``well``) and bioformats2raw's layout (``bioformats2raw.layout``, images in numbered
subgroups). ``dandi validate`` does not read NGFF metadata; these checks are neuropil's own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from neuropil.validation.findings import Finding

#: Names that say a Zarr folder is an OME-Zarr (``.ome.zarr`` is also a ``.zarr``).
NGFF_SUFFIXES = (".ome.zarr", ".ngff")
#: Root attributes of OME-Zarrs that are not a single image.
OTHER_ROOTS = ("plate", "well", "bioformats2raw.layout")
#: Problems of one ``multiscales`` named one by one; the rest are counted.
NAMED_PROBLEMS = 5


def is_ngff(asset_path: str) -> bool:
    """Whether the asset path names an OME-Zarr (``*.ome.zarr``, ``*.ngff``)."""
    return asset_path.lower().endswith(NGFF_SUFFIXES)


def check_ngff(
    attrs: Mapping[str, Any], is_array: Callable[[str], bool], asset_path: str, where: str
) -> list[Finding]:
    """Problems of the OME-NGFF metadata ``attrs`` of a root group (read from ``where``,
    ``.zattrs`` or ``zarr.json``); ``is_array(path)`` says whether the group holds an array
    at ``path``."""
    ome = attrs.get("ome")
    meta: Mapping[str, Any] = ome if isinstance(ome, Mapping) else attrs
    if "multiscales" not in meta:
        if any(name in meta for name in OTHER_ROOTS):
            return []
        return [
            Finding(
                asset_path,
                "ERROR",
                "NEUROPIL.NGFF_NO_MULTISCALES",
                f"named as an OME-Zarr, but its root group's attributes ({where}) have no "
                f"'multiscales' (nor {', '.join(repr(n) for n in OTHER_ROOTS)}), so OME-Zarr "
                "viewers cannot show it. Write the OME-NGFF metadata (ome-zarr-py's "
                "write_image does), or name the folder .zarr if it is not an OME-Zarr image.",
            )
        ]
    problems = _multiscales_problems(meta["multiscales"], is_array)
    if not problems:
        return []
    more = len(problems) - NAMED_PROBLEMS
    text = "; ".join(problems[:NAMED_PROBLEMS]) + (f" (and {more} more)" if more > 0 else "")
    return [
        Finding(
            asset_path,
            "ERROR",
            "NEUROPIL.NGFF_INVALID_MULTISCALES",
            f"its OME-NGFF 'multiscales' metadata ({where}) cannot be read: {text}.",
        )
    ]


def _multiscales_problems(value: object, is_array: Callable[[str], bool]) -> list[str]:
    if not isinstance(value, list) or not value:
        return ["'multiscales' must be a non-empty list of images"]
    problems: list[str] = []
    for i, image in enumerate(value):
        datasets = image.get("datasets") if isinstance(image, dict) else None
        if not isinstance(datasets, list) or not datasets:
            problems.append(f"multiscales[{i}] has no 'datasets' list")
            continue
        for j, level in enumerate(datasets):
            path = level.get("path") if isinstance(level, dict) else None
            if not isinstance(path, str) or not path:
                problems.append(f"multiscales[{i}].datasets[{j}] has no 'path'")
            elif not is_array(path):
                problems.append(
                    f"multiscales[{i}].datasets[{j}] names {path!r}, which is not an array "
                    "of the group"
                )
    return problems
