"""A browser without JavaScript, for the fast web tests: httpx with a cookie jar.

Pages are read as HTML; forms are sent the way a browser sends them, with the CSRF token
read from the page that holds the form.
"""

from __future__ import annotations

import html
import re
import uuid
from html.parser import HTMLParser
from typing import Any

import httpx

from tests.conftest import Archive

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery"


def csrf_token(page: str) -> str:
    match = CSRF_RE.search(page)
    assert match, "the page holds no form with a CSRF token"
    return match.group(1)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def text(page: str) -> str:
    """The visible text of a page, white space collapsed (what a reader without JS sees)."""
    parser = _Text()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def field_errors(page: str) -> dict[str, list[str]]:
    """``<p class="field-error" data-field=...>`` messages by field."""
    found: dict[str, list[str]] = {}
    for key, message in re.findall(
        r'<p class="field-error" data-field="([^"]*)">(.*?)</p>', page, re.S
    ):
        found.setdefault(key, []).append(html.unescape(message))
    return found


class WebClient:
    """One browser: its own cookies, no JavaScript, redirects not followed by default."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=60.0)

    def __enter__(self) -> WebClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.http.close()

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def page(self, path: str) -> str:
        """The HTML of a page that must answer 200 (after redirects)."""
        r = self.http.get(path, follow_redirects=True)
        assert r.status_code == 200, (path, r.status_code, text(r.text)[:500])
        return r.text

    def submit(
        self, form_page: str, action: str, data: dict[str, Any] | None = None
    ) -> httpx.Response:
        """Send the form at ``action`` with the CSRF token of ``form_page``."""
        token = csrf_token(self.page(form_page))
        return self.http.post(action, data={"csrf_token": token, **(data or {})})

    def set_password(self, api_key: str, password: str = PASSWORD) -> httpx.Response:
        r = self.submit(
            "/login/token",
            "/login/token",
            {"api_key": api_key, "password": password, "confirm": password},
        )
        assert r.status_code == 303, text(r.text)[:500]
        return r

    def sign_in(self, username: str, password: str = PASSWORD) -> httpx.Response:
        return self.submit("/login", "/login", {"username": username, "password": password})

    def sign_up(
        self, username: str, *, email: str | None = None, password: str = PASSWORD
    ) -> httpx.Response:
        return self.submit(
            "/signup",
            "/signup",
            {
                "username": username,
                "email": email or f"{username}@example.org",
                "password": password,
                "confirm": password,
            },
        )

    def new_key(self) -> str:
        """Generate an API key on the account page and read it off the result."""
        r = self.submit("/account", "/account/api-key")
        assert r.status_code == 200, text(r.text)[:500]
        match = re.search(r'<code id="api-key">([0-9a-f]{40})</code>', r.text)
        assert match, text(r.text)[:500]
        return match.group(1)

    def close(self) -> None:
        self.http.close()


def unique_user(prefix: str = "web") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def signed_in_user(archive: Archive, *, admin: bool = False) -> tuple[WebClient, str, str]:
    """A new approved user (made by the admin CLI), signed in over the web: (client, name,
    API key)."""
    name = unique_user("admin" if admin else "user")
    key = archive.server.add_user(name, admin=admin)
    web = WebClient(archive.url)
    web.set_password(key)
    return web, name, key
