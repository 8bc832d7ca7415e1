"""Pieces of NWB files written with pynwb, shared by the suites that build their own files.

:mod:`tests.preview.nwb_files` (files to draw) and :mod:`tests.index.nwb_families` (one file
per neurodata type family, to index) both write two-photon imaging with ROIs: the same
microscope, plane and segmentation, at different sizes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hdmf.backends.hdf5.h5_utils import H5DataIO
from pynwb import NWBHDF5IO, NWBFile, ProcessingModule
from pynwb.icephys import IntracellularElectrode
from pynwb.ophys import (
    DfOverF,
    Fluorescence,
    ImageSegmentation,
    ImagingPlane,
    OpticalChannel,
    PlaneSegmentation,
    RoiResponseSeries,
    TwoPhotonSeries,
)

#: The imaging rate of :func:`add_two_photon`'s series and of :func:`add_roi_responses`.
IMAGING_RATE = 30.0


def write(nwb: NWBFile, path: Path) -> Path:
    """Write ``nwb`` to ``path`` with pynwb; returns ``path``."""
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def add_two_photon(
    nwb: NWBFile,
    frames: np.ndarray,
    *,
    chunks: tuple[int, int, int],
    plane_description: str,
    device_description: str | None = None,
) -> ImagingPlane:
    """A microscope (``scope``), one GCaMP6f plane in CA1 (``plane0``) and the acquired
    ``TwoPhotonSeries`` of ``frames``, gzip-compressed in ``chunks``; returns the plane."""
    device = nwb.create_device(name="scope", description=device_description)
    plane = nwb.create_imaging_plane(
        name="plane0",
        optical_channel=OpticalChannel(name="green", description="GCaMP", emission_lambda=525.0),
        description=plane_description,
        device=device,
        excitation_lambda=920.0,
        imaging_rate=IMAGING_RATE,
        indicator="GCaMP6f",
        location="CA1",
    )
    nwb.add_acquisition(
        TwoPhotonSeries(
            name="TwoPhotonSeries",
            data=H5DataIO(frames, compression="gzip", chunks=chunks),
            imaging_plane=plane,
            rate=IMAGING_RATE,
            unit="a.u.",
        )
    )
    return plane


def add_segmentation(
    module: ProcessingModule, plane: ImagingPlane, *, description: str
) -> tuple[ImageSegmentation, PlaneSegmentation]:
    """An ``ImageSegmentation`` in ``module`` with one empty ``PlaneSegmentation`` of
    ``plane``."""
    segmentation = ImageSegmentation()
    module.add(segmentation)
    planes = segmentation.create_plane_segmentation(
        name="PlaneSegmentation", description=description, imaging_plane=plane
    )
    return segmentation, planes


def add_square_rois(
    planes: PlaneSegmentation,
    count: int,
    *,
    shape: tuple[int, int],
    step: tuple[int, int],
    size: tuple[int, int],
) -> None:
    """``count`` image-mask ROIs of ``shape`` down the diagonal: ROI ``i`` is a rectangle of
    ``size`` pixels whose corner is at ``i * step``."""
    for roi in range(count):
        mask = np.zeros(shape, dtype=np.float32)
        top, left = roi * step[0], roi * step[1]
        mask[top : top + size[0], left : left + size[1]] = 1.0
        planes.add_roi(image_mask=mask)


def add_roi_responses(
    module: ProcessingModule,
    container: DfOverF | Fluorescence,
    planes: PlaneSegmentation,
    rois: list[int],
    data: np.ndarray,
    *,
    description: str,
) -> RoiResponseSeries:
    """``container`` in ``module`` with the ``RoiResponseSeries`` (dF/F at the imaging rate)
    of ROIs ``rois`` of ``planes``."""
    region = planes.create_roi_table_region(region=rois, description=description)
    module.add(container)
    series: RoiResponseSeries = container.create_roi_response_series(
        name="RoiResponseSeries", data=data, rois=region, unit="dF/F", rate=IMAGING_RATE
    )
    return series


def add_patch_electrode(nwb: NWBFile, *, description: str) -> IntracellularElectrode:
    """An amplifier (``amplifier``) and its intracellular electrode ``elec0``."""
    device = nwb.create_device(name="amplifier")
    electrode: IntracellularElectrode = nwb.create_icephys_electrode(
        name="elec0", description=description, device=device
    )
    return electrode
