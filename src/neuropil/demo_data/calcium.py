"""A small two-photon movie of GCaMP-expressing CA1 somata, and its analysis.

Pure numpy, no NWB: :mod:`neuropil.demo_data.ophys` writes the result. Each cell is a ring
(GCaMP stays out of the nucleus) whose brightness follows calcium transients (fast rise,
~0.6 s decay) after Poisson bursts; the background is smooth neuropil crossed by two dark
blood vessels; photon shot noise goes on top. The analysis is what a segmentation pipeline
leaves in a file: the masks, each ROI's mean fluorescence, ΔF/F over a low percentile
baseline, and the mean and maximum projections.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ImagingShape:
    """Size of the demo movie: 400 frames of 64 x 64 pixels at 10 Hz is 40 s, ~1.5 MB."""

    height: int = 64
    width: int = 64
    frames: int = 400
    rate: float = 10.0  # frames per second
    rois: int = 24
    pixel_size: float = 1.5e-6  # m


@dataclass(frozen=True)
class Imaging:
    """The movie and what a pipeline extracted from it."""

    movie: np.ndarray  # frames x height x width, uint16 photon counts
    masks: np.ndarray  # rois x height x width, float32 in [0, 1]
    fluorescence: np.ndarray  # frames x rois, float32
    dff: np.ndarray  # frames x rois, float32
    mean_image: np.ndarray  # height x width, float32
    max_image: np.ndarray  # height x width, float32


def simulate(shape: ImagingShape, rng: np.random.Generator) -> Imaging:
    """Simulate the movie and extract ROI traces from it."""
    masks = _masks(shape, rng)
    true_dff = _transients(shape, rng)
    brightness = rng.uniform(20.0, 45.0, shape.rois)
    background = _background(shape, rng)
    neuropil = 1.0 + 0.04 * _slow(shape.frames, rng)
    expected = background[None] * neuropil[:, None, None] + np.einsum(
        "tr,rhw->thw", (1.0 + true_dff) * brightness, masks
    )
    movie = rng.poisson(expected).astype(np.uint16)
    weights = masks.reshape(shape.rois, -1)
    weights = weights / weights.sum(axis=1, keepdims=True)
    fluorescence = (movie.reshape(shape.frames, -1).astype(np.float32) @ weights.T).astype(
        np.float32
    )
    baseline = np.percentile(fluorescence, 20, axis=0)
    return Imaging(
        movie=movie,
        masks=masks.astype(np.float32),
        fluorescence=fluorescence,
        dff=((fluorescence - baseline) / baseline).astype(np.float32),
        mean_image=movie.mean(axis=0).astype(np.float32),
        max_image=movie.max(axis=0).astype(np.float32),
    )


def _masks(shape: ImagingShape, rng: np.random.Generator) -> np.ndarray:
    """Ring-shaped somata, 8-11 µm across, that do not overlap."""
    centers: list[tuple[float, float]] = []
    while len(centers) < shape.rois:
        y, x = rng.uniform(5, shape.height - 5), rng.uniform(5, shape.width - 5)
        if all((y - cy) ** 2 + (x - cx) ** 2 > 9.0**2 for cy, cx in centers):
            centers.append((y, x))
    yy, xx = np.mgrid[0 : shape.height, 0 : shape.width]
    masks = np.zeros((shape.rois, shape.height, shape.width))
    for roi, (cy, cx) in enumerate(centers):
        radius = rng.uniform(2.8, 3.8)
        r = np.hypot(yy - cy, xx - cx)
        ring = np.exp(-(((r - 0.65 * radius) / (0.4 * radius)) ** 2))
        masks[roi] = np.where(ring > 0.05, ring / ring.max(), 0.0)
    return masks


def _transients(shape: ImagingShape, rng: np.random.Generator) -> np.ndarray:
    """ΔF/F of each cell: bursts at 0.05-0.3 Hz, each a jump of 0.4-1.5 decaying in ~0.6 s."""
    t = np.arange(round(3.0 * shape.rate)) / shape.rate
    kernel = (1 - np.exp(-t / 0.07)) * np.exp(-t / 0.6)
    kernel /= kernel.max()
    out = np.empty((shape.frames, shape.rois))
    for roi in range(shape.rois):
        events = rng.random(shape.frames) < rng.uniform(0.05, 0.3) / shape.rate
        amplitudes = events * rng.uniform(0.4, 1.5, shape.frames)
        out[:, roi] = np.convolve(amplitudes, kernel)[: shape.frames]
    return out


def _background(shape: ImagingShape, rng: np.random.Generator) -> np.ndarray:
    """Smooth neuropil glow (8-16 photons a pixel) with two dark vessels across it."""
    noise = rng.normal(size=(shape.height, shape.width))
    fy = np.fft.fftfreq(shape.height)[:, None]
    fx = np.fft.fftfreq(shape.width)[None, :]
    smooth = np.real(np.fft.ifft2(np.fft.fft2(noise) * np.exp(-(fy**2 + fx**2) / 0.002)))
    smooth = (smooth - smooth.min()) / (np.ptp(smooth) or 1.0)
    glow = 8.0 + 8.0 * smooth
    yy, xx = np.mgrid[0 : shape.height, 0 : shape.width]
    for _ in range(2):
        angle, offset = rng.uniform(0, np.pi), rng.uniform(-20, 20)
        distance = np.abs(
            (xx - shape.width / 2) * np.sin(angle)
            - (yy - shape.height / 2) * np.cos(angle)
            - offset
        )
        glow *= 1 - 0.6 * np.exp(-((distance / 1.5) ** 2))
    return np.asarray(glow)


def _slow(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance fluctuations over tens of frames."""
    noise = np.convolve(rng.normal(size=n + 40), np.ones(40) / 40, mode="valid")[:n]
    return np.asarray((noise - noise.mean()) / (noise.std() or 1.0))
