"""The benchmark runner's report: every legend ``benchmarks/run.py`` prints exists.

(``python -m benchmarks --only streaming`` once measured for ten minutes and then failed on
printing a legend the streaming module no longer exported.)
"""

from __future__ import annotations

import importlib
import inspect
import re

from benchmarks import run


def test_every_legend_the_runner_prints_exists() -> None:
    printed = sorted(set(re.findall(r"\b(\w+)\.LEGEND\b", inspect.getsource(run))))
    assert {"transfer", "publish", "streaming", "search"} <= set(printed)
    for name in printed:
        legend = importlib.import_module(f"benchmarks.{name}").LEGEND
        assert isinstance(legend, str) and legend.strip(), name
