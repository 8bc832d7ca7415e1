"""The README is a newcomer's first page (issue 13): it opens with the two commands, then
says where to go next and walks from files to a published version with real commands."""

from __future__ import annotations

import re
from pathlib import Path

from neuropil.cli.main import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
FIRST_TWO = [
    "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/neuropil serve --demo",
    "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/pytest",
]
WALK = ["login", "create", "download", "organize", "validate", "upload", "metadata", "publish"]


def _blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", text, re.S)]


def test_the_readme_opens_with_the_two_commands_then_where_to_go_next() -> None:
    text = (ROOT / "README.md").read_text()
    assert _blocks(text)[:2] == FIRST_TWO
    after = text[text.index(FIRST_TWO[1]) :].split("\n---\n", 1)[0]
    for needed in (
        "http://127.0.0.1:8000/",  # the URL to open
        "000001",  # the demo dandiset
        "./neuropil-data",  # the data directory
        "neuropil users add",  # how to get a key
        "/account",
    ):
        assert needed in after, needed
    steps = re.findall(r"^\d+\. .*?`neuropil (\w+)", after, re.M | re.S)
    used = [s for s in re.findall(r"`neuropil (\w+)", after) if s in WALK]
    assert [s for s in dict.fromkeys(used)] == WALK  # in order
    assert len(steps) >= 6
    assert set(WALK) <= set(COMMANDS)  # real commands


def test_benchmarks_readme_names_the_readmes_virtualenv() -> None:
    text = (ROOT / "benchmarks" / "README.md").read_text()
    assert ".venv/bin/python -m benchmarks" in text
    absolute = re.findall(r"`(/[^`\s]*/bin/python)", text)
    assert absolute == [], f"a virtualenv path of one machine: {absolute}"
