"""The raw fields of an NWB file, read straight from HDF5.

The official client reads them through ``pynwb`` (``NWBHDF5IO(...).read()``), which builds
every container of the file and takes a tenth of a second or more per file; reading the few
groups and attributes below with ``h5py`` is several times faster and does not depend on the
file's extensions being loadable. Every field is optional: a missing or malformed value
becomes ``None`` (and an unparsable date is kept in :attr:`NwbFields.unparsed` so the caller
can say what was wrong), never an exception. Only a file that is not NWB at all raises
:class:`NotNwbFile`.

Where the official client's answer depends on how it walks the file (the neurodata types,
the probe ids), the walk here follows the same rules, so names derived from these fields are
the names ``dandi organize`` gives.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neuropil.errors import BadRequest

#: The lab-metadata group (by name, as the official client looks it up) that carries the
#: intracellular sample ids: ndx-dandi-icephys's ``DandiIcephysMetadata``.
ICEPHYS_METADATA = "DandiIcephysMetadata"
SAMPLE_FIELDS = ("tissue_sample_id", "slice_id", "cell_id")
#: Image series types whose ``external_file`` points at media outside the NWB file.
IMAGE_SERIES_TYPES = frozenset(
    {"ImageSeries", "ImageMaskSeries", "OpticalSeries", "TwoPhotonSeries", "OnePhotonSeries"}
)


class NotNwbFile(BadRequest):
    """The file cannot be read as NWB: not HDF5, damaged, or HDF5 without NWB's markers."""


@dataclass(frozen=True)
class NeurodataType:
    """One ``neurodata_type`` attribute found in the file."""

    name: str
    namespace: str | None
    path: str


@dataclass(frozen=True)
class SubjectFields:
    subject_id: str | None = None
    species: str | None = None
    sex: str | None = None
    age: str | None = None
    #: NWB >= 2.6 ``age`` attribute ``reference``: ``birth`` or ``gestational``.
    age__reference: str | None = None
    date_of_birth: datetime | None = None
    genotype: str | None = None
    strain: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class NwbFields:
    """What neuropil reads from one NWB file (all optional except the file facts)."""

    path: Path
    size: int
    mtime: datetime
    nwb_version: str | None = None
    object_id: str | None = None
    identifier: str | None = None
    session_id: str | None = None
    session_start_time: datetime | None = None
    session_description: str | None = None
    experiment_description: str | None = None
    keywords: tuple[str, ...] | None = None
    experimenter: tuple[str, ...] | None = None
    institution: str | None = None
    lab: str | None = None
    related_publications: tuple[str, ...] | None = None
    subject: SubjectFields | None = None
    #: ``probe_id`` of each device that has one (extension probes), in the file's order.
    probe_ids: tuple[int | str, ...] = ()
    device_names: tuple[str, ...] = ()
    electrode_groups: tuple[str, ...] = ()
    #: tissue_sample_id / slice_id / cell_id from ``DandiIcephysMetadata`` lab metadata.
    samples: dict[str, str] = field(default_factory=dict)
    neurodata_types: tuple[NeurodataType, ...] = ()
    number_of_electrodes: int | None = None
    number_of_units: int | None = None
    #: HDF5 external links (``path -> file``): NWB that the official client refuses.
    external_links: tuple[str, ...] = ()
    #: ``external_file`` entries of image series in ``/acquisition`` (media next to the file).
    external_media: tuple[str, ...] = ()
    #: Field -> raw text, for dates present in the file that could not be parsed.
    unparsed: dict[str, str] = field(default_factory=dict)

    @property
    def nd_types(self) -> list[str]:
        """The official client's ``nd_types``: sorted type names (``NWBFile`` left out),
        each with ``" (n)"`` appended when it occurs more than once."""
        counts = Counter(t.name for t in self.neurodata_types if t.name != "NWBFile")
        return [f"{n} ({c})" if c > 1 else n for n, c in sorted(counts.items())]


def read_fields(path: Path) -> NwbFields:
    """Read the fields of the NWB file at ``path``.

    Raises :class:`NotNwbFile` when the file is not HDF5, cannot be opened, or has neither
    an ``nwb_version`` nor an ``NWBFile`` root; :class:`FileNotFoundError` when it is absent.
    """
    stat = os.stat(path)
    mtime = datetime.fromtimestamp(stat.st_mtime, UTC)
    if not h5py.is_hdf5(path):
        raise NotNwbFile(f"{path} is not an NWB file: it is not HDF5 (no HDF5 signature)")
    try:
        h5 = h5py.File(path, "r")
    except (OSError, ValueError) as exc:
        raise NotNwbFile(f"{path} cannot be read as HDF5 (truncated or damaged?): {exc}") from exc
    with h5:
        try:
            return _read(h5, Path(path), stat.st_size, mtime)
        except (OSError, RuntimeError) as exc:  # h5py errors on damaged objects
            raise NotNwbFile(f"{path} is a damaged HDF5 file: {exc}") from exc


def _read(h5: h5py.File, path: Path, size: int, mtime: datetime) -> NwbFields:
    version = _nwb_version(h5)
    root_type = _text(h5.attrs.get("neurodata_type"))
    if version is None and root_type != "NWBFile":
        raise NotNwbFile(
            f"{path} is HDF5 but not NWB: it has no nwb_version attribute and its root is "
            "not an NWBFile"
        )
    unparsed: dict[str, str] = {}
    general = _group(h5, "general")
    return NwbFields(
        path=path,
        size=size,
        mtime=mtime,
        nwb_version=version,
        object_id=_text(h5.attrs.get("object_id")),
        identifier=_dataset_text(h5, "identifier"),
        session_id=_dataset_text(general, "session_id"),
        session_start_time=_date(h5, "session_start_time", "session_start_time", unparsed),
        session_description=_dataset_text(h5, "session_description"),
        experiment_description=_dataset_text(general, "experiment_description"),
        keywords=_dataset_texts(general, "keywords"),
        experimenter=_dataset_texts(general, "experimenter"),
        institution=_dataset_text(general, "institution"),
        lab=_dataset_text(general, "lab"),
        related_publications=_dataset_texts(general, "related_publications"),
        subject=_subject(general, unparsed),
        probe_ids=tuple(_probe_ids(general)),
        device_names=tuple(_member_names(_group(general, "devices"))),
        electrode_groups=tuple(_electrode_groups(general)),
        samples=_samples(general),
        neurodata_types=tuple(_scan_types(h5)),
        number_of_electrodes=_table_rows(
            _group(_group(general, "extracellular_ephys"), "electrodes")
        ),
        number_of_units=_table_rows(_group(h5, "units")),
        external_links=tuple(_external_links(h5)),
        external_media=tuple(_external_media(h5)),
        unparsed=unparsed,
    )


# -- value decoding ----------------------------------------------------------------------------
def _text(value: Any) -> str | None:
    """A scalar text value (bytes, str, numpy scalar or one-element array) or None."""
    if isinstance(value, np.ndarray):
        if value.size != 1:
            return None
        value = value.reshape(()).item()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        return value
    return None


def _texts(value: Any) -> tuple[str, ...] | None:
    """A list of texts (an array, or one scalar as a one-element list) or None."""
    if isinstance(value, np.ndarray) and value.ndim >= 1:
        items = [_text(v) for v in value.ravel()]
        if any(i is None for i in items):
            return None
        return tuple(i for i in items if i is not None)
    one = _text(value)
    return None if one is None else (one,)


def _read_dataset(parent: h5py.Group | None, name: str) -> Any:
    if parent is None:
        return None
    try:
        obj = parent.get(name)
        if not isinstance(obj, h5py.Dataset):
            return None
        return obj[()]
    except (OSError, KeyError, TypeError, ValueError):
        return None


def _dataset_text(parent: h5py.Group | None, name: str) -> str | None:
    return _text(_read_dataset(parent, name))


def _dataset_texts(parent: h5py.Group | None, name: str) -> tuple[str, ...] | None:
    return _texts(_read_dataset(parent, name))


def _group(parent: h5py.Group | None, name: str) -> h5py.Group | None:
    if parent is None:
        return None
    try:
        obj = parent.get(name)
    except (OSError, KeyError):
        return None
    return obj if isinstance(obj, h5py.Group) else None


def _member_names(group: h5py.Group | None) -> Iterator[str]:
    if group is None:
        return
    for name in group:
        if isinstance(_group(group, name), h5py.Group):
            yield name


def _parse_datetime(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def _date(
    parent: h5py.Group | None, name: str, field_name: str, unparsed: dict[str, str]
) -> datetime | None:
    text = _dataset_text(parent, name)
    if text is None:
        return None
    parsed = _parse_datetime(text)
    if parsed is None:
        unparsed[field_name] = text
    return parsed


def _nwb_version(h5: h5py.File) -> str | None:
    version = h5.attrs.get("nwb_version")
    if version is not None:
        return _text(version) or str(version)
    return _dataset_text(h5, "nwb_version")  # NWB 1.x kept it in a dataset


# -- groups ------------------------------------------------------------------------------------
def _subject(general: h5py.Group | None, unparsed: dict[str, str]) -> SubjectFields | None:
    group = _group(general, "subject")
    if group is None:
        return None
    reference = None
    age = group.get("age")
    if isinstance(age, h5py.Dataset):
        reference = _text(age.attrs.get("reference"))
    return SubjectFields(
        subject_id=_dataset_text(group, "subject_id"),
        species=_dataset_text(group, "species"),
        sex=_dataset_text(group, "sex"),
        age=_dataset_text(group, "age"),
        age__reference=reference,
        date_of_birth=_date(group, "date_of_birth", "subject.date_of_birth", unparsed),
        genotype=_dataset_text(group, "genotype"),
        strain=_dataset_text(group, "strain"),
        description=_dataset_text(group, "description"),
    )


def _probe_ids(general: h5py.Group | None) -> Iterator[int | str]:
    """``probe_id`` of the devices that have one, as the official client collects them
    (devices whose type defines ``probe_id``, e.g. the Allen Institute's ``EcephysProbe``)."""
    devices = _group(general, "devices")
    for name in _member_names(devices):
        device = _group(devices, name)
        if device is None:
            continue
        value = device.attrs.get("probe_id")
        if value is None:
            value = _read_dataset(device, "probe_id")
        if isinstance(value, np.ndarray) and value.size == 1:
            value = value.reshape(()).item()
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        if isinstance(value, int | str) and not isinstance(value, bool):
            yield value


def _electrode_groups(general: h5py.Group | None) -> Iterator[str]:
    ephys = _group(general, "extracellular_ephys")
    for name in _member_names(ephys):
        group = _group(ephys, name)
        if group is not None and _text(group.attrs.get("neurodata_type")) == "ElectrodeGroup":
            yield name


def _samples(general: h5py.Group | None) -> dict[str, str]:
    group = _group(general, ICEPHYS_METADATA)
    if group is None:
        return {}
    out = {}
    for name in SAMPLE_FIELDS:
        value = _text(group.attrs.get(name))
        if value is None:
            value = _dataset_text(group, name)
        if value is not None:
            out[name] = value
    return out


def _table_rows(table: h5py.Group | None) -> int | None:
    ids = None if table is None else table.get("id")
    if isinstance(ids, h5py.Dataset) and ids.ndim == 1:
        return int(ids.shape[0])
    return None


def _scan_types(h5: h5py.File) -> Iterator[NeurodataType]:
    """Every group's ``neurodata_type``, walking the tree as the official client does:
    soft links are followed, so a linked group (an ElectrodeGroup's device, a series'
    imaging plane) counts again where it is linked. A link back to an ancestor is not
    followed (the official client would recurse forever)."""
    stack: list[tuple[h5py.Group, str, tuple[int, ...]]] = [(h5, "/", ())]
    while stack:
        group, path, ancestors = stack.pop()
        key = _object_key(group)
        if key in ancestors:
            continue
        kind = _text(group.attrs.get("neurodata_type"))
        if kind is not None:
            yield NeurodataType(kind, _text(group.attrs.get("namespace")), path)
        for name in group:
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                continue
            child = _group(group, name)
            if child is not None:
                stack.append((child, f"{path.rstrip('/')}/{name}", (*ancestors, key)))


def _object_key(group: h5py.Group) -> int:
    """Equal for two handles on the same HDF5 object (h5py hashes file number + address)."""
    return hash(group.id)


def _external_links(h5: h5py.File) -> Iterator[str]:
    found: list[str] = []

    def visit(name: str, link: Any) -> None:
        if isinstance(link, h5py.ExternalLink):
            found.append(f"/{name} -> {link.filename}")

    h5.visititems_links(visit)
    yield from found


def _external_media(h5: h5py.File) -> Iterator[str]:
    """``external_file`` entries of image series directly in ``/acquisition``, the ones the
    official client's organize refuses to leave behind without rewriting them."""
    acquisition = _group(h5, "acquisition")
    for name in _member_names(acquisition):
        series = _group(acquisition, name)
        if series is None:
            continue
        if _text(series.attrs.get("neurodata_type")) not in IMAGE_SERIES_TYPES:
            continue
        yield from _texts(_read_dataset(series, "external_file")) or ()
