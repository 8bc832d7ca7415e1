"""A file page's contents in a real browser (Playwright driving Debian's Chromium, headless).

The object tree is shown and every preview image loads (``naturalWidth > 0``, at its
declared size) under the pages' Content Security Policy, with JavaScript on and off.
Screenshots go to ``test-artifacts/screenshots/`` (or ``$NEUROPIL_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from neuropil.client.upload_files import upload_file
from neuropil.http.transport import Transport
from tests.api.helpers import wait_for
from tests.preview.nwb_files import place_cells, two_photon
from tests.support.server import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
NWB_METADATA = {"schemaKey": "Asset", "encodingFormat": "application/x-nwb"}

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore")]

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is required in CI; install it: apt-get install -y chromium")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)", allow_module_level=True)

from playwright.sync_api import (  # noqa: E402
    Browser,
    ConsoleMessage,
    Page,
    Response,
    expect,
    sync_playwright,
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A server holding one dandiset with two NWB files, indexed: (URL, dandiset id)."""
    tmp = tmp_path_factory.mktemp("preview-browser")
    server = ServerProcess(tmp / "data")
    token = server.add_user("uploader")
    with server, Transport(server.api_url, token) as t:
        identifier = str(
            t.post_json("dandisets/", {"name": "previews", "metadata": {}})["identifier"]
        )
        for name, make in (("ophys", two_photon), ("ecephys", place_cells)):
            asset = upload_file(
                t,
                dandiset_id=identifier,
                path=make(tmp / f"{name}.nwb"),
                asset_path=f"sub-1/sub-1_{name}.nwb",
                metadata=NWB_METADATA,
            )
            index = f"{server.api_url}/assets/{asset['asset_id']}/index/"
            wait_for(lambda u=index: httpx.get(u).status_code == 200, timeout=30, every=0.1)
        yield server.url, identifier


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


def _screenshots() -> Path:
    root = Path(os.environ.get("NEUROPIL_TEST_ARTIFACTS") or REPO / "test-artifacts")
    path = root / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _images_loaded(page: Page) -> list[dict[str, int]]:
    images = page.locator("figure.preview img")
    expect(images.first).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure.preview img')].every(i => i.complete)"
    )
    sizes: list[dict[str, int]] = images.evaluate_all(
        "imgs => imgs.map(i => ({natural: i.naturalWidth, declared: i.width,"
        " height: i.naturalHeight, declaredHeight: i.getAttribute('height') | 0,"
        " declaredWidth: i.getAttribute('width') | 0}))"
    )
    return sizes


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_tree_and_previews_show_in_a_browser(
    browser: Browser, site: tuple[str, str], javascript: bool
) -> None:
    url, identifier = site
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, java_script_enabled=javascript
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(message.text)  # a CSP violation, a script error

    def response(answer: Response) -> None:
        if answer.status >= 400 and not answer.url.endswith("/favicon.ico"):
            problems.append(f"{answer.status} {answer.url}")

    page.on("console", console)
    page.on("response", response)
    page.goto(f"{url}/dandiset/{identifier}/draft/files?location=sub-1/sub-1_ophys.nwb")

    tree = page.locator("details.h5tree")
    expect(tree).to_be_visible()
    expect(
        tree.locator("li[data-path='/acquisition/TwoPhotonSeries'] > details > summary")
    ).to_contain_text("TwoPhotonSeries")
    expect(tree.locator("li[data-path='/acquisition/TwoPhotonSeries/data']")).to_contain_text(
        "20 \N{MULTIPLICATION SIGN} 256 \N{MULTIPLICATION SIGN} 300 uint16"
    )
    sizes = _images_loaded(page)
    assert len(sizes) == 4
    for size in sizes:
        assert size["natural"] > 0 and size["natural"] == size["declaredWidth"]
        assert size["height"] == size["declaredHeight"]
    # A tree entry links to its preview on the page.
    page.locator("li[data-path='/processing/ophys/SummaryImages/mean'] a.preview-link").click()
    assert page.url.endswith("#preview-4")
    page.screenshot(
        path=str(_screenshots() / f"preview-ophys-{'js' if javascript else 'nojs'}.png"),
        full_page=True,
    )

    page.goto(f"{url}/dandiset/{identifier}/draft/files?location=sub-1/sub-1_ecephys.nwb")
    sizes = _images_loaded(page)
    assert len(sizes) == 4 and all(s["natural"] == s["declaredWidth"] for s in sizes)
    page.screenshot(path=str(_screenshots() / "preview-ecephys.png"), full_page=True)
    assert not problems, problems  # no CSP violation, no failed request
    context.close()
