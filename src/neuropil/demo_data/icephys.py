"""The slice session as NWB: a current-clamp step protocol on one CA1 pyramidal neuron.

Each sweep is a ``CurrentClampStimulusSeries`` (the injected current, in ``stimulus``) and a
``CurrentClampSeries`` (the membrane potential, in ``acquisition``), recorded through one
``IntracellularElectrode`` and tied together by the icephys tables (intracellular
recordings -> simultaneous -> sequential recordings) that pynwb and DANDI expect.

The neuron is an adaptive exponential integrate-and-fire model (input resistance ~150 MΩ,
rheobase ~150 pA, spike-frequency adaptation) with a stereotyped action potential pasted at
each spike, so a step above rheobase gives a train of action potentials, one below gives an
RC charging curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neuropil.demo_data.sessions import DemoSession, new_nwbfile, write_nwbfile

if TYPE_CHECKING:
    from pynwb import NWBFile

RATE = 20_000.0  # Hz
SWEEP_SECONDS = 1.0
STEP_START, STEP_STOP = 0.1, 0.6  # s, within a sweep
STEPS_PA = (-100.0, 50.0, 200.0, 350.0)
SWEEP_INTERVAL = 5.0  # s between sweep starts


@dataclass(frozen=True)
class Neuron:
    """AdEx parameters (SI units)."""

    capacitance: float = 130e-12
    leak: float = 6.7e-9  # S
    rest: float = -0.068  # V
    threshold: float = -0.050
    slope: float = 0.002
    adaptation: float = 2e-9  # S
    jump: float = 60e-12  # A added to the adaptation current at each spike
    tau_w: float = 0.12  # s
    reset: float = -0.056


def step_current(amplitude_pa: float) -> np.ndarray:
    """The injected current of one sweep (A): zero, a step, zero."""
    t = np.arange(round(SWEEP_SECONDS * RATE)) / RATE
    return np.where((t >= STEP_START) & (t < STEP_STOP), amplitude_pa * 1e-12, 0.0)


def membrane_potential(
    current: np.ndarray, rng: np.random.Generator, neuron: Neuron | None = None
) -> np.ndarray:
    """The recorded membrane potential (V) in response to ``current``."""
    cell = neuron or Neuron()
    dt = 1.0 / RATE
    spike = _action_potential(cell.reset)
    # Synaptic background: ~7 pA of current noise, low-passed at ~1 kHz.
    noise = np.convolve(rng.normal(0.0, 30e-12, len(current)), np.ones(20) / 20, "same")
    v, w = cell.rest, 0.0
    out = np.empty(len(current))
    i = 0
    while i < len(current):
        drive = current[i] + noise[i] - w
        leak = cell.leak * (cell.rest - v)
        upswing = cell.leak * cell.slope * math.exp(min((v - cell.threshold) / cell.slope, 20.0))
        w += dt * (cell.adaptation * (v - cell.rest) - w) / cell.tau_w  # with v before the step
        v += dt * (leak + upswing + drive) / cell.capacitance
        if v < 0.0:
            out[i] = v
            i += 1
            continue
        stop = min(len(out), i + len(spike))
        out[i:stop] = spike[: stop - i]
        i, v, w = stop, cell.reset, w + cell.jump
    return out + rng.normal(0.0, 1e-4, len(out))  # 0.1 mV recording noise


def _action_potential(reset: float) -> np.ndarray:
    """2 ms from threshold: up to +35 mV in 0.15 ms, down into an afterhyperpolarisation."""
    t = np.arange(round(0.002 * RATE)) / RATE
    rise = t < 0.00015
    trough = reset - 0.006
    fall = trough + (0.035 - trough) * np.exp(-(t - 0.00015) / 0.0003)
    return np.where(rise, 0.035 * t / 0.00015, fall)


def write_icephys_session(path: Path, session: DemoSession, *, rng: np.random.Generator) -> Path:
    """Simulate the step protocol and write it to ``path``."""
    nwb = new_nwbfile(session, rng)
    electrode = _electrode(nwb)
    protocols: dict[str, list[int]] = {"hyperpolarizing step": [], "depolarizing steps": []}
    for sweep, amplitude in enumerate(STEPS_PA):
        current = step_current(amplitude)
        stimulus, response = _sweep(electrode, sweep, current, membrane_potential(current, rng))
        row = nwb.add_intracellular_recording(
            electrode=electrode, stimulus=stimulus, response=response
        )
        protocol = "hyperpolarizing step" if amplitude < 0 else "depolarizing steps"
        protocols[protocol].append(nwb.add_icephys_simultaneous_recording(recordings=[row]))
    for stimulus_type, rows in protocols.items():
        nwb.add_icephys_sequential_recording(
            stimulus_type=stimulus_type, simultaneous_recordings=rows
        )
    return write_nwbfile(nwb, path)


def _electrode(nwb: NWBFile) -> Any:
    amplifier = nwb.create_device(
        name="Amplifier",
        description="Patch-clamp amplifier and digitizer.",
    )
    return nwb.create_icephys_electrode(
        name="electrode0",
        description="Whole-cell patch pipette on a stratum pyramidale soma, K-gluconate internal.",
        device=amplifier,
        location="CA1",  # the Allen CCF acronym; stratum pyramidale, from the description
        cell_id="mouse03-cell01",
        resistance="5 MOhm",
        seal="2 GOhm",
        filtering="10 kHz low-pass Bessel",
        slice="300 µm transverse hippocampal slice at 32 °C",
    )


def _sweep(electrode: Any, sweep: int, current: np.ndarray, voltage: np.ndarray) -> tuple[Any, Any]:
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries

    amplitude = current.max() if current.max() > 0 else current.min()
    timing: dict[str, Any] = {
        "starting_time": sweep * SWEEP_INTERVAL,
        "rate": RATE,
        "sweep_number": np.uint32(sweep),
        "electrode": electrode,
    }
    stimulus = CurrentClampStimulusSeries(
        name=f"CurrentClampStimulusSeries{sweep:03d}",
        description=f"{amplitude * 1e12:+.0f} pA step from {STEP_START} s to {STEP_STOP} s.",
        data=H5DataIO(current.astype(np.float32), compression="gzip"),
        gain=1.0,
        **timing,
    )
    response = CurrentClampSeries(
        name=f"CurrentClampSeries{sweep:03d}",
        description="Membrane potential, bridge balanced.",
        data=H5DataIO(voltage.astype(np.float32), compression="gzip", shuffle=True),
        gain=1.0,
        bias_current=0.0,
        bridge_balance=15e6,
        capacitance_compensation=0.0,
        **timing,
    )
    return stimulus, response
