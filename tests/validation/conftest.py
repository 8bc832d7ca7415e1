"""The case set (good and broken NWB files in one dandiset directory), made once per session,
and the official client's verdict on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.nwb import write_dandiset_yaml
from tests.validation.cases import CASES, make_cases

#: The official CLI next to this interpreter (the venv's ``dandi`` script).
DANDI = Path(sys.executable).with_name("dandi")


def dandi(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the official ``dandi`` CLI (no version check, no metadata cache)."""
    env = {**os.environ, "DANDI_NO_ET": "1", "DANDI_CACHE": "ignore"}
    return subprocess.run(
        [str(DANDI), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def dandi_validate(path: Path) -> tuple[int, list[dict[str, Any]]]:
    """``dandi validate -f json PATH``: its exit status and records."""
    done = dandi("validate", "-f", "json", str(path))
    return done.returncode, json.loads(done.stdout or "[]")


@pytest.fixture(scope="session")
def case_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dandiset directory holding every case of :data:`tests.validation.cases.CASES`."""
    root = tmp_path_factory.mktemp("cases") / "000123"
    write_dandiset_yaml(root, "000123")
    make_cases(root, CASES)
    return root


@pytest.fixture(scope="session")
def dandi_verdict(case_root: Path) -> tuple[int, list[dict[str, Any]]]:
    return dandi_validate(case_root)
