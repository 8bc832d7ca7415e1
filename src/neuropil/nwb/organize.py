"""DANDI's file naming scheme: which name each NWB file gets in an organized dandiset.

The rules are the official client's (``dandi organize``, dandi-cli 0.81), so a dandiset
organized by either tool has the same names. In order, a file name is built from:

==================  ===========  ==========================================================
field               format       included
==================  ===========  ==========================================================
subject_id          ``sub-X``    always (a file without one cannot be organized)
session_id          ``_ses-X``   when the files organized together have more than one value
tissue_sample_id    ``_tis-X``   same rule
slice_id            ``_slice-X`` same rule
cell_id             ``_cell-X``  same rule
description         ``_desc-X``  only to tell colliding files apart
probe_ids           ``_probe-X`` only to tell colliding files apart (ids joined with ``+``)
obj_id              ``_obj-X``   only to tell colliding files apart (crc32 of object_id)
modalities          ``_X``       whenever the file has any (``behavior+ecephys``)
extension           ``.nwb``     always
==================  ===========  ==========================================================

"Included" is decided over the whole batch, which is why organizing files one at a time
can give different names than organizing them together. See ``docs/design/organize.md``.
"""

from __future__ import annotations

import binascii
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from neuropil.errors import LocalFileError, UsageError
from neuropil.nwb.fields import NwbFields
from neuropil.nwb.terms import modalities

Inclusion = Literal["required", "additional", "disambiguation", "required_if_not_empty"]


@dataclass(frozen=True)
class LayoutField:
    name: str
    format: str
    inclusion: Inclusion


LAYOUT_FIELDS: tuple[LayoutField, ...] = (
    LayoutField("subject_id", "sub-{}", "required"),
    LayoutField("session_id", "_ses-{}", "additional"),
    LayoutField("tissue_sample_id", "_tis-{}", "additional"),
    LayoutField("slice_id", "_slice-{}", "additional"),
    LayoutField("cell_id", "_cell-{}", "additional"),
    LayoutField("description", "_desc-{}", "disambiguation"),
    LayoutField("probe_ids", "_probe-{}", "disambiguation"),
    LayoutField("obj_id", "_obj-{}", "disambiguation"),
    LayoutField("modalities", "_{}", "required_if_not_empty"),
    LayoutField("extension", "{}", "required"),
)
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in LAYOUT_FIELDS)
#: Characters a label may not contain (``_`` separates entities); each becomes ``-``.
_UNSAFE = re.compile(r"[_*\\/<>:|\"'?%@;,\s]")


class OrganizeImpossible(LocalFileError):
    """The files cannot all be given distinct names from their metadata."""


@dataclass
class Entry:
    """One file to organize: its layout values and, once named, its ``target`` path."""

    source: str
    values: dict[str, Any]
    session_start_time: datetime | None = None
    object_id: str | None = None
    #: ``external_file`` media the NWB file points at (organize cannot relink them yet)
    media: tuple[str, ...] = ()
    #: fields to include whenever non-empty (``--required-field`` and disambiguation)
    forced: list[str] = field(default_factory=list)
    target: str = ""

    @property
    def subject_id(self) -> str | None:
        value = self.values.get("subject_id")
        return value if isinstance(value, str) else None


def entry_from_fields(source: str, nwb: NwbFields) -> Entry:
    """The layout values of an NWB file (``source`` is the path as the user gave it)."""
    subject = nwb.subject
    values: dict[str, Any] = {
        "subject_id": subject.subject_id if subject else None,
        "session_id": nwb.session_id,
        "tissue_sample_id": nwb.samples.get("tissue_sample_id"),
        "slice_id": nwb.samples.get("slice_id"),
        "cell_id": nwb.samples.get("cell_id"),
        "description": None,  # no NWB field fills it, as in the official client
        "probe_ids": tuple(nwb.probe_ids) or None,
        "obj_id": None,  # computed only when needed
        "modalities": modalities(nwb.nd_types),
    }
    return Entry(source, values, nwb.session_start_time, nwb.object_id, nwb.external_media)


def sanitize(value: str, field_name: str) -> str:
    """A value made safe as a label: unsafe characters and (except in the extension) dots
    become ``-``; ``+`` (the list separator) is kept."""
    value = _UNSAFE.sub("-", value)
    return value if field_name == "extension" else value.replace(".", "-")


def obj_id(object_id: str) -> str:
    """The short id of a file's ``object_id``: its crc32 in base 36, lower case."""
    number = binascii.crc32(object_id.encode("ascii"))
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def is_undefined(value: Any) -> bool:
    return value is None or (hasattr(value, "__len__") and len(value) == 0)


def assign_names(entries: Sequence[Entry], required_fields: Iterable[str] = ()) -> None:
    """Give every entry its ``target`` (``sub-<id>/<file name>``), as ``dandi organize``.

    Every entry must have a subject_id (filter with :func:`missing_subject` first). Raises
    :class:`OrganizeImpossible` when names stay ambiguous after every disambiguation field.
    """
    required = list(required_fields)
    unknown = sorted(set(required) - set(FIELD_NAMES))
    if unknown:
        raise UsageError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(FIELD_NAMES)}")
    if not all(e.values.get("session_id") for e in entries):
        _fill_session_ids(entries)
    for entry in entries:
        entry.values["extension"] = _extension(entry.source)
        for name in ("subject_id", "session_id"):
            value = entry.values.get(name)
            if value:
                entry.values[name] = sanitize(str(value), name)
        entry.forced.extend(required)
    _name_all(entries)
    _disambiguate(entries)


def missing_subject(entry: Entry) -> bool:
    return not entry.subject_id


def _extension(source: str) -> str:
    name = source.replace("\\", "/").rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


def _fill_session_ids(entries: Sequence[Entry]) -> None:
    """Session ids from the start time (``YYYYMMDD``, plus ``THHMMSS`` unless every start
    time in the batch is midnight) for the files that have none."""
    times = [e.session_start_time for e in entries if e.session_start_time is not None]
    midnight_only = all((t.hour, t.minute, t.second) == (0, 0, 0) for t in times)
    for entry in entries:
        start = entry.session_start_time
        if entry.values.get("session_id") or start is None:
            continue
        session = f"{start.year}{start.month:02d}{start.day:02d}"
        if not midnight_only:
            session += f"T{start.hour:02d}{start.minute:02d}{start.second:02d}"
        entry.values["session_id"] = session


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _name_all(entries: Sequence[Entry]) -> None:
    distinct = {f.name: {_hashable(e.values.get(f.name)) for e in entries} for f in LAYOUT_FIELDS}
    for entry in entries:
        name = ""
        for spec in LAYOUT_FIELDS:
            include = (
                spec.inclusion in ("required", "required_if_not_empty")
                or (spec.inclusion == "additional" and len(distinct[spec.name]) > 1)
                or spec.name in entry.forced
            )
            value = entry.values.get(spec.name)
            if not include or is_undefined(value):
                continue
            if isinstance(value, list | tuple):
                value = "+".join(map(str, value))
            name += spec.format.format(sanitize(str(value), spec.name))
        entry.target = f"sub-{entry.values['subject_id']}/{name}"


def collisions(entries: Sequence[Entry]) -> dict[str, list[str]]:
    """Target -> the sources that would all get it (only targets shared by several)."""
    counts = Counter(e.target for e in entries)
    return {
        target: [e.source for e in entries if e.target == target]
        for target, count in counts.items()
        if count > 1
    }


def _disambiguate(entries: Sequence[Entry]) -> None:
    clashing = collisions(entries)
    tried: list[str] = []
    for spec in LAYOUT_FIELDS:
        if not clashing:
            return
        if spec.inclusion != "disambiguation":
            continue
        tried.append(spec.name)
        if spec.name == "obj_id":
            _assign_obj_ids(entries, clashing)
        for target, sources in clashing.items():
            helps = any(
                not is_undefined(e.values.get(spec.name)) for e in entries if e.source in sources
            )
            if helps:
                for entry in entries:
                    if entry.target == target:
                        entry.forced.append(spec.name)
            _name_all(entries)
        clashing = collisions(entries)
    if clashing:
        listing = "\n".join(f"  {t}: {', '.join(s)}" for t, s in clashing.items())
        raise OrganizeImpossible(
            f"{len(clashing)} of {len(entries)} target paths are still not unique after "
            f"adding {', '.join(tried)}:\n{listing}\nGive these files distinct metadata "
            "(session_id, or a probe) in the NWB files"
        )


def _assign_obj_ids(entries: Sequence[Entry], clashing: dict[str, list[str]]) -> None:
    seen: dict[str, tuple[str, str]] = {}  # obj_id -> (object_id, source)
    for entry in entries:
        if entry.target not in clashing:
            continue
        if not entry.object_id:
            raise OrganizeImpossible(
                f"{len(clashing)} target paths are not unique and {entry.source} has no "
                "object_id to tell it apart; re-save it with NWB >= 2.1 (pynwb >= 1.1)"
            )
        short = obj_id(entry.object_id)
        if short in seen:
            other_object, other_source = seen[short]
            what = "the same object_id" if other_object == entry.object_id else "colliding crc32"
            raise OrganizeImpossible(
                f"{entry.source} and {other_source} have {what} ({entry.object_id}): if they "
                "are copies of one file, organize only one of them"
            )
        seen[short] = (entry.object_id, entry.source)
        entry.values["obj_id"] = short
