"""The architecture holds: every import contract is kept, and the public surface is curated.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``) and ``docs/architecture.md``
explains them; this runs them as ``lint-imports`` does, so a broken layer fails the tests too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import neuropil

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    # A subprocess, as CI runs it (it reads pyproject.toml in the working directory);
    # `--no-cache` leaves no cache behind in the checkout.
    command = [
        sys.executable,
        "-c",
        "from importlinter.cli import lint_imports_command; lint_imports_command()",
        "--no-cache",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_public_names_are_sorted() -> None:
    assert list(neuropil.__all__) == sorted(neuropil.__all__)


def test_public_names_resolve() -> None:
    for name in neuropil.__all__:
        assert getattr(neuropil, name) is not None, name
    assert set(neuropil.__all__) <= set(dir(neuropil))
