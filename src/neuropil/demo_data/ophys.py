"""The two-photon session as NWB, laid out as DANDI's ophys files are.

- ``acquisition/TwoPhotonSeries``: the raw movie (uint16, chunked by 20 frames), on an
  ``ImagingPlane`` with its ``OpticalChannel`` and microscope;
- ``processing/ophys/ImageSegmentation/PlaneSegmentation``: one image mask per ROI;
- ``processing/ophys/Fluorescence/RoiResponseSeries`` and
  ``processing/ophys/DfOverF/RoiResponseSeries``: frames x ROIs;
- ``processing/ophys/SummaryImages``: the ``mean`` and ``max`` projections.

The values come from :mod:`neuropil.demo_data.calcium`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neuropil.demo_data.calcium import Imaging, ImagingShape, simulate
from neuropil.demo_data.sessions import DemoSession, new_nwbfile, write_nwbfile

if TYPE_CHECKING:
    from pynwb import NWBFile


def write_ophys_session(
    path: Path,
    session: DemoSession,
    *,
    rng: np.random.Generator,
    shape: ImagingShape | None = None,
) -> Path:
    """Simulate the imaging session and write it to ``path``."""
    shape = shape or ImagingShape()
    nwb = new_nwbfile(session, rng)
    imaging = simulate(shape, rng)
    plane = _imaging_plane(nwb, shape)
    movie = _add_movie(nwb, plane, imaging, shape)
    module = nwb.create_processing_module(
        "ophys", "Segmentation, fluorescence and ΔF/F of the two-photon movie."
    )
    segmentation = _add_segmentation(module, plane, movie, imaging)
    _add_traces(module, segmentation, imaging, shape)
    _add_summary_images(module, imaging, shape)
    return write_nwbfile(nwb, path)


def _imaging_plane(nwb: NWBFile, shape: ImagingShape) -> Any:
    from pynwb.ophys import OpticalChannel

    microscope = nwb.create_device(
        name="Microscope",
        description="Resonant-scanning two-photon microscope, 16x 0.8 NA objective.",
    )
    channel = OpticalChannel(
        name="OpticalChannel", description="Green channel: GCaMP6f emission.", emission_lambda=510.0
    )
    return nwb.create_imaging_plane(
        name="ImagingPlane",
        optical_channel=channel,
        imaging_rate=shape.rate,
        description="CA1 stratum pyramidale, 180 µm below the window.",
        device=microscope,
        excitation_lambda=920.0,
        indicator="GCaMP6f",
        location="CA1",
        grid_spacing=[shape.pixel_size, shape.pixel_size],
        grid_spacing_unit="meters",
    )


def _add_movie(nwb: NWBFile, plane: Any, imaging: Imaging, shape: ImagingShape) -> Any:
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from pynwb.ophys import TwoPhotonSeries

    series = TwoPhotonSeries(
        name="TwoPhotonSeries",
        description="Raw two-photon movie (photon counts), motion corrected.",
        data=H5DataIO(
            imaging.movie,
            compression="gzip",
            shuffle=True,
            chunks=(min(20, shape.frames), shape.height, shape.width),
        ),
        imaging_plane=plane,
        rate=shape.rate,
        starting_time=0.0,
        unit="n.a.",
        field_of_view=[shape.height * shape.pixel_size, shape.width * shape.pixel_size],
    )
    nwb.add_acquisition(series)
    return series


def _add_segmentation(module: Any, plane: Any, movie: Any, imaging: Imaging) -> Any:
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from pynwb.ophys import ImageSegmentation

    segmentation = ImageSegmentation(name="ImageSegmentation")
    module.add(segmentation)
    rois = segmentation.create_plane_segmentation(
        name="PlaneSegmentation",
        description="Somata found in the mean image; masks weight each pixel from 0 to 1.",
        imaging_plane=plane,
        reference_images=movie,
    )
    for mask in imaging.masks:
        rois.add_roi(image_mask=mask)
    # Mostly zeros: compressed, the masks are a few kB instead of 400.
    rois["image_mask"].set_data_io(H5DataIO, {"compression": "gzip"})
    return rois


def _add_traces(module: Any, rois: Any, imaging: Imaging, shape: ImagingShape) -> None:
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from pynwb.ophys import DfOverF, Fluorescence, RoiResponseSeries

    traces = (
        (
            Fluorescence(name="Fluorescence"),
            imaging.fluorescence,
            "a.u.",
            "Mean photon count in each ROI's mask.",
        ),
        (DfOverF(name="DfOverF"), imaging.dff, "n.a.", "ΔF/F over each ROI's 20th percentile."),
    )
    for container, data, unit, description in traces:
        module.add(container)  # first, so that the series' ROIs share an ancestor with it
        container.add_roi_response_series(
            RoiResponseSeries(
                name="RoiResponseSeries",
                description=description,
                data=H5DataIO(data, compression="gzip"),
                rois=rois.create_roi_table_region(
                    region=list(range(len(imaging.masks))), description="all ROIs"
                ),
                unit=unit,
                rate=shape.rate,
                starting_time=0.0,
            )
        )


def _add_summary_images(module: Any, imaging: Imaging, shape: ImagingShape) -> None:
    from pynwb.base import Images
    from pynwb.image import GrayscaleImage

    per_cm = 0.01 / shape.pixel_size
    module.add(
        Images(
            name="SummaryImages",
            description="Projections of the motion-corrected movie.",
            images=[
                GrayscaleImage(
                    name="mean",
                    data=imaging.mean_image,
                    resolution=per_cm,
                    description="Mean over frames.",
                ),
                GrayscaleImage(
                    name="max",
                    data=imaging.max_image,
                    resolution=per_cm,
                    description="Maximum over frames.",
                ),
            ],
        )
    )
