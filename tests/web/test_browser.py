"""The whole web flow in a real browser (Playwright driving Debian's Chromium, headless).

sign up -> an admin approves -> sign in -> create a dandiset -> upload with the CLI using
the key from the API-key page -> browse to a file -> its download link gives the file's
bytes -> edit metadata with one invalid field (the error shows next to it), then valid ->
publish with release notes -> search by species finds the dandiset and the asset.

Screenshots of the main pages go to ``test-artifacts/screenshots/`` (or
``$NEUROPIL_TEST_ARTIFACTS/screenshots``) for people to look at.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.nwb import make_organized_set, write_dandiset_yaml
from tests.support.server import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
VIEWERS = [{"name": "Neurosift", "url_template": "https://neurosift.app/?p=/nwb&url={url}"}]
PASSWORD = "a long browser password"

pytestmark = pytest.mark.slow

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is required in CI; install it: apt-get install -y chromium")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def screenshots() -> Path:
    root = Path(os.environ.get("NEUROPIL_TEST_ARTIFACTS") or REPO / "test-artifacts")
    path = root / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def server(fresh_server: ServerProcess) -> Iterator[tuple[ServerProcess, str]]:
    fresh_server.extra_env["NEUROPIL_VIEWERS"] = json.dumps(VIEWERS)
    admin_key = fresh_server.add_user("root", admin=True)
    with fresh_server:
        yield fresh_server, admin_key


def _new_page(browser: Browser) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(20_000)
    return page


def _upload(server: ServerProcess, key: str, identifier: str, tmp: Path) -> Path:
    """``neuropil upload`` of two demo NWB sessions, as a person would run it."""
    root = tmp / identifier
    nwb = make_organized_set(root)
    write_dandiset_yaml(root, identifier, name="browser test", description="uploaded")
    env = {**os.environ, "NEUROPIL_CONFIG_DIR": str(tmp / "config"), "NEUROPIL_KEYRING": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "neuropil", "upload", "-i", server.url, "--token", key, str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return nwb.local(nwb.asset_paths[0])


def _reload_until(page: Page, selector: str, timeout: float = 60.0) -> None:
    """Reload until ``selector`` appears (background validation and publishing)."""
    for _ in range(int(timeout / 0.5)):
        if page.locator(selector).count():
            return
        page.wait_for_timeout(500)
        page.reload()
    raise AssertionError(f"{selector} did not appear on {page.url}")


def test_sign_up_to_search_in_a_browser(
    browser: Browser, server: tuple[ServerProcess, str], screenshots: Path, tmp_path: Path
) -> None:
    archive, admin_key = server
    url = archive.url
    user, admin = _new_page(browser), _new_page(browser)

    # Sign up: the account is pending.
    user.goto(f"{url}/signup")
    user.fill("input[name=username]", "wanda")
    user.fill("input[name=email]", "wanda@example.org")
    user.fill("input[name=name]", "Wanda Webb")
    user.fill("input[name=password]", PASSWORD)
    user.fill("input[name=confirm]", PASSWORD)
    user.click("button[type=submit]:has-text('Create account')")
    expect(user.locator("#account-status")).to_have_text("pending")

    # The admin (created on the command line) sets a password with the API key and approves.
    admin.goto(f"{url}/login/token")
    admin.fill("input[name=api_key]", admin_key)
    admin.fill("input[name=password]", PASSWORD)
    admin.fill("input[name=confirm]", PASSWORD)
    admin.click("button[type=submit]")
    admin.goto(f"{url}/admin/users")
    admin.locator("tr[data-username=wanda] button:has-text('Approve')").click()
    expect(admin.locator(".flash")).to_have_text("Approved wanda.")

    # Sign out and in again, then create a dandiset.
    user.click("button:has-text('Sign out')")
    user.goto(f"{url}/login")
    user.fill("input[name=username]", "wanda")
    user.fill("input[name=password]", PASSWORD)
    user.click("form.stack button[type=submit]")
    user.click("text=New dandiset")
    user.fill("input[name=name]", "Browser-made recordings")
    user.fill("textarea[name=description]", "CA1 recordings made in a browser test.")
    user.select_option("select[name=license]", "spdx:CC-BY-4.0")
    user.click("button:has-text('Create dandiset')")
    user.wait_for_url(re.compile(r".*/dandiset/\d{6}/draft$"))
    identifier = user.url.rsplit("/", 2)[-2]
    expect(user.locator("h1")).to_have_text("Browser-made recordings")

    # Upload with the CLI, with a key from the API-key page.
    user.goto(f"{url}/account")
    user.click("#regenerate-key")
    key = user.locator("#api-key").inner_text().strip()
    local_file = _upload(archive, key, identifier, tmp_path)

    # Browse to the file; its download link gives the file's bytes.
    user.goto(f"{url}/dandiset/{identifier}/draft")
    user.click("a.button:has-text('Files')")
    user.click("a:has-text('sub-mouse01/')")
    expect(user.locator("table.files")).to_contain_text(local_file.name)
    user.screenshot(path=str(screenshots / "file-browser.png"), full_page=True)
    user.click(f"a:has-text('{local_file.name}')")
    expect(user.locator("a.viewer")).to_have_text("Open with Neurosift")
    href = user.locator("#download-link").get_attribute("href")
    assert href and href.endswith("/download/")
    body = user.request.get(href)
    assert body.ok and body.body() == local_file.read_bytes()
    user.screenshot(path=str(screenshots / "file.png"), full_page=True)

    # Edit metadata: an invalid URL is refused with the error next to its field.
    user.goto(f"{url}/dandiset/{identifier}/draft/metadata")
    user.fill("input[name=contributor-0-name]", "Webb, Wanda")
    user.fill("input[name=contributor-0-email]", "wanda@example.org")
    user.fill("input[name=contributor-0-url]", "not a url")
    user.select_option("select[name=contributor-0-roles]", ["dcite:Author", "dcite:ContactPerson"])
    user.fill("textarea[name=keywords]", "hippocampus\nbrowser test")
    user.click("#save-metadata")
    error = user.locator(".field-error[data-field=contributor-0-url]")
    expect(error).to_contain_text("valid URL")
    user.screenshot(path=str(screenshots / "metadata-editor.png"), full_page=True)
    user.fill("input[name=contributor-0-url]", "https://example.org/wanda")
    user.click("#save-metadata")
    expect(user.locator(".flash")).to_have_text("Metadata saved.")

    # Publish with release notes once validation has passed.
    _reload_until(user, "#publish-button")
    user.screenshot(path=str(screenshots / "dandiset.png"), full_page=True)
    user.fill("#release_notes", "First release, from the browser.")
    user.click("#publish-button")
    _reload_until(user, "nav.version-switch a >> nth=1")  # draft, then the new version
    user.locator("nav.version-switch a").nth(1).click()
    expect(user.locator("main")).to_contain_text("First release, from the browser.")
    expect(user.locator("#summary")).to_contain_text("Mus musculus")

    # Search by species finds the dandiset and its matching assets.
    user.goto(url)
    user.screenshot(path=str(screenshots / "home.png"), full_page=True)
    user.fill(".big-search input[name=q]", 'species:"Mus musculus"')
    user.click(".big-search button")
    hit = user.locator("article.hit", has_text="Browser-made recordings")
    expect(hit).to_be_visible()
    expect(hit.locator(".asset-hits")).to_contain_text(local_file.name)
    user.screenshot(path=str(screenshots / "search.png"), full_page=True)

    # A bad query says what to fix.
    user.goto(f"{url}/search?q=created_after:yesterday")
    expect(user.locator("#search-error")).to_contain_text("YYYY-MM-DD")
