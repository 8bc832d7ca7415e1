"""A mouse running laps on a linear track, and what a probe in CA1 records meanwhile.

Pure numpy, no NWB: :mod:`neuropil.demo_data.ecephys` writes the result. The model is the
textbook one, small enough to read in a minute:

- **behaviour**: runs from one end of the track to the other (a smooth speed profile, 3-5 s a
  pass) separated by pauses at the water ports (1-2.5 s);
- **theta**: a 7-9 Hz rhythm whose frequency and amplitude grow with running speed, over
  1/f background activity; its sign reverses across the probe's depth, as it does below
  stratum pyramidale;
- **place cells**: Poisson spikes at a rate that is a Gaussian of the position around the
  cell's field centre while the animal runs, modulated by the theta phase; a few
  **interneurons** fire fast at every position, strongly locked to theta;
- **broadband**: the LFP, extracellular spike waveforms on the channels near each unit, and
  amplifier noise, at 20 kHz.

Field centres depend only on the subject's seed, so the same cells have the same fields on
both days; everything else depends on the session's seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TRACK_LENGTH = 1.0  # m
TRACK_WIDTH = 0.06  # m
RUN_SPEED_THRESHOLD = 0.05  # m/s: place cells fire (and theta is strong) above it
UV_PER_BIT = 0.195  # the amplifier's resolution: microvolts per int16 step


@dataclass(frozen=True)
class Behavior:
    """Position along the track, sampled on the LFP's clock."""

    rate: float
    x: np.ndarray  # m
    speed: np.ndarray  # m/s, always >= 0

    @property
    def running(self) -> np.ndarray:
        """0 at rest, 1 in full run, a ramp in between."""
        ramp = (self.speed - 0.5 * RUN_SPEED_THRESHOLD) / RUN_SPEED_THRESHOLD
        return np.clip(ramp, 0.0, 1.0)


@dataclass(frozen=True)
class Cells:
    """The recorded units: ``field_center`` is NaN for interneurons."""

    field_center: np.ndarray  # m
    field_width: np.ndarray  # m, the Gaussian's sigma
    peak_rate: np.ndarray  # Hz
    channel: np.ndarray  # the channel with the largest spike

    @property
    def is_place_cell(self) -> np.ndarray:
        return np.asarray(~np.isnan(self.field_center))

    def __len__(self) -> int:
        return len(self.field_center)


def run_laps(duration: float, rate: float, rng: np.random.Generator) -> Behavior:
    """``duration`` seconds of back-and-forth runs, starting at rest at ``x = 0``."""
    n = max(2, round(duration * rate))
    x = np.empty(n)
    speed = np.zeros(n)
    i, here = 0, 0.0
    while i < n:
        pause = round(rng.uniform(1.0, 2.5) * rate)
        stop = min(n, i + pause)
        x[i:stop] = here + abs(rng.normal(0.0, 0.003)) * (1 if here == 0.0 else -1)
        i = stop
        run = round(rng.uniform(3.0, 5.0) * rate)
        stop = min(n, i + run)
        u = np.arange(stop - i) / run
        target = TRACK_LENGTH - here
        x[i:stop] = here + (target - here) * (1 - np.cos(np.pi * u)) / 2
        speed[i:stop] = abs(target - here) * np.pi / (2 * run / rate) * np.sin(np.pi * u)
        i, here = stop, target
    return Behavior(rate, np.clip(x, 0.0, TRACK_LENGTH), speed)


def place_cells(
    units: int, channels: int, rng: np.random.Generator, *, interneurons: int | None = None
) -> Cells:
    """``units`` cells: place cells tiling the track, and ``interneurons`` (a fifth)."""
    inter = max(1, units // 5) if interneurons is None else interneurons
    place = units - inter
    spacing = TRACK_LENGTH * 0.8 / max(1, place)
    centers = 0.1 + spacing * (np.arange(place) + 0.5) + rng.normal(0.0, spacing / 4, place)
    centers = rng.permutation(np.clip(centers, 0.05, TRACK_LENGTH - 0.05))
    layer = channels // 3  # stratum pyramidale, where the somata (and big spikes) are
    return Cells(
        field_center=np.concatenate([centers, np.full(inter, np.nan)]),
        field_width=np.concatenate([rng.uniform(0.05, 0.08, place), np.full(inter, np.nan)]),
        peak_rate=np.concatenate([rng.uniform(12.0, 22.0, place), rng.uniform(15.0, 25.0, inter)]),
        channel=np.clip(layer + rng.integers(-2, 3, units), 0, channels - 1),
    )


def theta_phase(behavior: Behavior, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(phase in radians, amplitude in µV) of the theta rhythm on the LFP's clock."""
    drift = _smooth_noise(len(behavior.x), behavior.rate, 0.2, rng)
    frequency = 7.0 + 2.0 * np.clip(behavior.speed / 0.4, 0.0, 1.0) + 0.3 * drift
    phase = 2 * np.pi * np.cumsum(frequency) / behavior.rate
    amplitude = 60.0 + 160.0 * _smooth(behavior.running, behavior.rate, 0.3)
    return phase, amplitude


def lfp(
    behavior: Behavior, channels: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(LFP in µV, samples x channels; the theta phase) on the behaviour's clock."""
    phase, amplitude = theta_phase(behavior, rng)
    n = len(behavior.x)
    background = _pink_noise(n, behavior.rate, rng) * 45.0
    # Theta reverses across the layers: positive in oriens, negative in radiatum.
    depth_gain = np.linspace(1.0, -0.7, channels)
    voltage = (
        np.outer(amplitude * np.cos(phase), depth_gain)
        + np.outer(background, np.linspace(1.0, 0.8, channels))
        + rng.normal(0.0, 6.0, (n, channels))
    )
    return voltage, phase


def spike_trains(
    cells: Cells, behavior: Behavior, phase: np.ndarray, rng: np.random.Generator
) -> list[np.ndarray]:
    """Spike times (s) of each cell, inhomogeneous Poisson on the behaviour's clock."""
    dt = 1.0 / behavior.rate
    running = behavior.running
    trains = []
    for unit in range(len(cells)):
        if cells.is_place_cell[unit]:
            offset = (behavior.x - cells.field_center[unit]) / cells.field_width[unit]
            rate = 0.1 + cells.peak_rate[unit] * np.exp(-0.5 * offset**2) * running
            rate *= 1 + 0.6 * np.cos(phase - np.pi)  # near the trough of theta
        else:
            rate = cells.peak_rate[unit] * (0.5 + 0.5 * running)
            rate *= 1 + 0.8 * np.cos(phase)
        fired = np.flatnonzero(rng.random(len(rate)) < rate * dt)
        trains.append((fired + rng.random(len(fired))) * dt)
    return trains


def broadband(
    voltage: np.ndarray,
    lfp_rate: float,
    cells: Cells,
    trains: list[np.ndarray],
    *,
    rate: float,
    duration: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """The first ``duration`` seconds at ``rate`` as int16 (:data:`UV_PER_BIT` µV a step)."""
    samples = round(duration * rate)
    channels = voltage.shape[1]
    t = np.arange(samples) / rate
    low = np.arange(len(voltage)) / lfp_rate
    out = np.stack([np.interp(t, low, voltage[:, c]) for c in range(channels)], axis=1)
    out += rng.normal(0.0, 12.0, out.shape)
    template = _spike_waveform(rate)
    reach = np.arange(channels)
    for unit, train in enumerate(trains):
        gains = 120.0 * np.exp(-np.abs(reach - cells.channel[unit]) / 1.5)
        for start in np.round(train[train < duration] * rate).astype(int):
            stop = min(samples, start + len(template))
            out[start:stop] += np.outer(template[: stop - start], gains)
    return np.clip(np.round(out / UV_PER_BIT), -32768, 32767).astype(np.int16)


def _spike_waveform(rate: float) -> np.ndarray:
    """A 2 ms extracellular action potential: a sharp trough, then a slow positive bump."""
    t = np.arange(round(0.002 * rate)) / rate * 1e3  # ms
    return -np.exp(-(((t - 0.4) / 0.12) ** 2)) + 0.3 * np.exp(-(((t - 0.9) / 0.3) ** 2))


def _pink_noise(n: int, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance noise with a 1/f power spectrum above 0.5 Hz."""
    spectrum = np.fft.rfft(rng.normal(size=n))
    f = np.fft.rfftfreq(n, 1.0 / rate)
    spectrum /= np.sqrt(np.maximum(f, 0.5))
    noise = np.fft.irfft(spectrum, n)
    return np.asarray(noise / (noise.std() or 1.0))


def _smooth_noise(n: int, rate: float, cutoff: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance noise with nothing above ``cutoff`` Hz."""
    spectrum = np.fft.rfft(rng.normal(size=n))
    spectrum[np.fft.rfftfreq(n, 1.0 / rate) > cutoff] = 0
    noise = np.fft.irfft(spectrum, n)
    return np.asarray(noise / (noise.std() or 1.0))


def _smooth(signal: np.ndarray, rate: float, seconds: float) -> np.ndarray:
    width = max(1, round(seconds * rate))
    kernel = np.ones(width) / width
    return np.convolve(signal, kernel, mode="same")
