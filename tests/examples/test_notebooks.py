"""The example notebooks (``examples/*.ipynb``) run against a real ``neuropil serve --demo``.

Each notebook is executed by nbclient in a fresh kernel, with ``NEUROPIL_URL`` pointing at the
server and ``NEUROPIL_ARTIFACTS`` at a temporary directory; the figures it saves (and the
executed notebook) stay there as artifacts, whose path is printed (``pytest -s`` shows it).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from neuropil.demo_data import DEMO_SESSIONS, DEMO_SHAPE, SESSIONS
from tests.support.client_env import isolate_client
from tests.support.server import ServerProcess

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
image = pytest.importorskip("matplotlib.image")

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: notebook -> the figures it must save
FIGURES = {
    "01_find_data.ipynb": ["asset_sizes.png"],
    "02_stream_ophys.ipynb": ["dff_traces.png", "mean_image_rois.png"],
    "03_place_fields.ipynb": ["place_fields.png"],
    "04_lfp_and_icephys.ipynb": ["lfp_theta.png", "icephys_sweeps.png"],
    "05_select_sessions.ipynb": ["selected_sessions.png"],
}
CELL_TIMEOUT = 300  # s; a whole notebook takes 10-40 s on two shared cores


def _sessions(kind: str) -> str:
    return ", ".join(s.session_id for s in DEMO_SESSIONS if s.kind == kind)


#: notebook -> lines its printed output must hold (what the demo data make true)
PRINTED = {
    "05_select_sessions.ipynb": [
        f"{len(SESSIONS)} files, {len(SESSIONS)} sessions",
        f"selected sessions: {_sessions('ecephys')}",
        f"two-photon: {_sessions('ophys')}",
        f"patch clamp: {_sessions('icephys')}",
        *(
            f"{s.session_id}: {DEMO_SHAPE.units} units, {s.description}"
            for s in DEMO_SESSIONS
            if s.kind == "ecephys"
        ),
    ],
}


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A demo server whose dandiset holds every demo file."""
    server = ServerProcess(tmp_path_factory.mktemp("notebooks") / "data", demo=True)
    with server:
        deadline = time.monotonic() + 120
        while not _seeded(server):
            assert time.monotonic() < deadline, server.log()[-4000:]
            time.sleep(0.3)
        yield server


def _seeded(server: ServerProcess) -> bool:
    listing = httpx.get(f"{server.api_url}/dandisets/", timeout=10).json()
    return any(d["draft_version"]["asset_count"] == len(SESSIONS) for d in listing["results"])


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("notebook-artifacts")
    print(f"\nnotebook artifacts: {path}")
    return path


def test_every_notebook_is_tested() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.ipynb")) == sorted(FIGURES)


def test_notebooks_are_committed_without_outputs() -> None:
    for path in EXAMPLES.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), path.name


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_notebook_runs_and_saves_its_figures(
    name: str,
    demo_server: ServerProcess,
    artifacts: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    isolate_client(monkeypatch, tmp_path / "config")  # no token or instance of the user's
    monkeypatch.setenv("NEUROPIL_URL", demo_server.url)
    monkeypatch.setenv("NEUROPIL_ARTIFACTS", str(artifacts))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(artifacts)}},
    )
    try:
        client.execute()
    finally:
        nbformat.write(nb, artifacts / name)  # the executed notebook, outputs and errors
    printed = _printed(nb)
    for line in PRINTED.get(name, []):
        assert line in printed, f"{name} did not print {line!r}"
    for figure in FIGURES[name]:
        path = artifacts / figure
        assert path.stat().st_size > 10_000, figure
        pixels = image.imread(path)
        assert pixels.shape[0] > 200 and pixels.shape[1] > 300, figure
        assert pixels[..., :3].std() > 0.05, f"{figure} is blank"


def _printed(nb: nbformat.NotebookNode) -> list[str]:
    """The lines the executed notebook's cells printed (their stdout)."""
    return [
        line
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "stream" and out.name == "stdout"
        for line in out.text.splitlines()
    ]
