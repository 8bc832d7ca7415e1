"""The search benchmark reports the machine's own speed around each measurement, so that
two runs can be told apart by the machine as well as by the code."""

from __future__ import annotations

import pytest
from benchmarks import common
from benchmarks.search import notes


def test_the_speed_probe_times_a_fixed_amount_of_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "SPEED_LOOP", 200_000)
    full = common.machine_speed_ms(repeats=3)
    monkeypatch.setattr(common, "SPEED_LOOP", 20_000)
    tenth = common.machine_speed_ms(repeats=3)
    assert full > 0 and tenth > 0
    assert tenth < full  # a tenth of the work takes less time (about a tenth)


def test_the_notes_carry_the_speed_before_and_after_measuring() -> None:
    res = {
        "state": {"tables": [], "upkeep_before_measuring": []},
        "generated": {},
        "load": [[0.5, 0.4, 0.3], [0.9, 0.5, 0.3]],
        "machine_speed_ms": [31.2, 40.5],
    }
    lines = notes("postgresql", res)
    speed = [line for line in lines if "machine speed" in line]
    assert speed == [
        "postgresql: machine speed, a fixed Python loop before / after measuring: 31.2 / 40.5 ms "
        "(the same work each run: compare runs by it; lower is faster)"
    ]


def test_results_from_before_the_probe_have_no_speed_line() -> None:
    res = {"state": {"tables": [], "upkeep_before_measuring": []}, "generated": {}, "load": []}
    assert not [line for line in notes("sqlite", res) if "machine speed" in line]


def test_the_notes_carry_the_cpu_steal_while_measuring() -> None:
    res = {
        "state": {"tables": [], "upkeep_before_measuring": []},
        "generated": {},
        "load": [],
        "steal_percent": 7.25,
    }
    wanted = (
        "sqlite: CPU steal while measuring (time the hypervisor gave this machine's CPUs "
        "to others): 7.2 %"
    )
    assert wanted in notes("sqlite", res)
    res.pop("steal_percent")
    assert not [line for line in notes("sqlite", res) if "steal" in line]
