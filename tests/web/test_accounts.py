"""Accounts over HTTP without JavaScript: sign-up, approval, sign-in, sessions, API keys,
and CSRF protection on every form."""

from __future__ import annotations

import re

import httpx
import pytest

from neuropil.web.routes import accounts, admin, files, manage
from tests.conftest import Archive
from tests.web.helpers import PASSWORD, WebClient, signed_in_user, text, unique_user

# Its subject is what a client or a page does over HTTP, not what the database does: one
# backend (the services below are tested on both in tests/api).
pytestmark = pytest.mark.backends("sqlite")


def test_sign_up_approval_and_sign_in(archive: Archive) -> None:
    admin_web, _, _ = signed_in_user(archive, admin=True)
    name = unique_user("new")
    with WebClient(archive.url) as web, admin_web:
        r = web.sign_up(name)
        assert r.status_code == 303 and r.headers["location"] == "/account"
        account = text(web.page("/account"))
        assert "Status: pending" in account and "awaits approval" in account
        # Pending: reading works, creating a dandiset does not.
        r = web.get("/dandiset/create")
        assert r.status_code == 403 and "not approved yet" in text(r.text)

        queue = admin_web.page("/admin/users")
        assert f'data-username="{name}"' in queue
        r = admin_web.submit("/admin/users", f"/admin/users/{name}/approve")
        assert r.status_code == 303
        assert f'data-username="{name}"' not in admin_web.page("/admin/users")

        assert "Status: approved" in text(web.page("/account"))
        assert "New dandiset" in text(web.page("/dandiset/create"))

    with WebClient(archive.url) as again:
        r = again.sign_in(name)
        assert r.status_code == 303 and r.headers["location"] == "/"
        assert name in text(again.page("/"))


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"password": "short", "confirm": "short"}, 400, "at least 10 characters"),
        ({"confirm": "something else entirely"}, 400, "The two passwords differ"),
        ({"email": "not-an-address"}, 400, "Enter an e-mail address"),
        ({"username": "has space"}, 400, "no spaces"),
        ({"username": "admin"}, 409, "The username 'admin' is taken"),
    ],
)
def test_sign_up_errors_say_what_to_fix(
    archive: Archive, change: dict[str, str], status: int, message: str
) -> None:
    name = unique_user()
    data = {"username": name, "email": f"{name}@example.org", "password": PASSWORD}
    data["confirm"] = PASSWORD
    data.update(change)
    with WebClient(archive.url) as web:
        r = web.submit("/signup", "/signup", data)
        assert r.status_code == status
        assert message in text(r.text)
        assert f'value="{data["email"]}"' in r.text  # the form keeps what was typed


def test_wrong_credentials_get_one_message(archive: Archive) -> None:
    web, name, _ = signed_in_user(archive)
    web.close()
    with WebClient(archive.url) as other:
        for username, password in ((name, "wrong password"), ("nobody-at-all", PASSWORD)):
            r = other.sign_in(username, password)
            assert r.status_code == 401
            assert "Wrong username or password." in text(r.text)


def test_session_cookie_attributes(archive: Archive) -> None:
    _, name, _ = signed_in_user(archive)
    with WebClient(archive.url) as web:
        r = web.sign_in(name)
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("np_session=")
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    # Behind a TLS proxy (a trusted peer saying https), the cookie is Secure.
    with WebClient(archive.url) as web:
        r = web.http.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "Secure" in r.headers["set-cookie"]


def test_sign_out_and_password_change_end_sessions(archive: Archive) -> None:
    first, name, _ = signed_in_user(archive)
    with first, WebClient(archive.url) as second:
        second.sign_in(name)
        assert name in text(second.page("/account"))

        new = "a brand new passphrase"
        r = first.submit(
            "/account", "/account/password", {"current": PASSWORD, "password": new, "confirm": new}
        )
        assert r.status_code == 303
        assert name in text(first.page("/account"))  # this browser stays signed in
        r = second.get("/account")  # the other one is signed out
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")

        r = first.submit("/", "/logout")
        assert r.status_code == 303
        assert first.get("/account").status_code == 303


def test_wrong_current_password_is_refused(archive: Archive) -> None:
    web, _, _ = signed_in_user(archive)
    with web:
        r = web.submit(
            "/account",
            "/account/password",
            {"current": "not it at all", "password": "whatever 12345", "confirm": "whatever 12345"},
        )
        assert r.status_code == 400 and "current password is not right" in text(r.text)


def test_api_key_page_regenerates_a_working_key(archive: Archive) -> None:
    web, name, old = signed_in_user(archive)
    with web:
        page = text(web.page("/account"))
        assert "You have a key, created" in page and old not in page  # stored as a hash only
        key = web.new_key()
        assert key != old
        me = httpx.get(f"{archive.api_url}/users/me/", headers={"Authorization": f"token {key}"})
        assert me.status_code == 200 and me.json()["username"] == name
        stale = httpx.get(f"{archive.api_url}/users/me/", headers={"Authorization": f"token {old}"})
        assert stale.status_code == 401
        r = web.submit("/account", "/account/api-key")
        assert r.headers["cache-control"] == "no-store"


def test_set_password_with_an_api_key(archive: Archive) -> None:
    key = archive.server.add_user(name := unique_user())
    with WebClient(archive.url) as web:
        r = web.submit(
            "/login/token",
            "/login/token",
            {"api_key": "0" * 40, "password": PASSWORD, "confirm": PASSWORD},
        )
        assert r.status_code == 401 and "That API key is not valid." in text(r.text)
        web.set_password(key)
        assert name in text(web.page("/account"))


def test_admin_pages_need_an_admin(archive: Archive) -> None:
    with WebClient(archive.url) as anon:
        r = anon.get("/admin/users")
        assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fadmin%2Fusers"
    web, _, _ = signed_in_user(archive)
    with web:
        r = web.get("/admin/users")
        assert r.status_code == 403 and "Only administrators" in text(r.text)
        r = web.submit("/", "/admin/users/admin/reject")
        assert r.status_code == 403


# -- CSRF ------------------------------------------------------------------------------------
def _post_paths() -> list[str]:
    """Every POST route of the web app, with sample path parameters."""
    paths = []
    for module in (accounts, admin, files, manage):
        for route in module.router.routes:
            if "POST" in getattr(route, "methods", ()):
                path = getattr(route, "path", "")
                path = path.replace("{identifier}", "000001").replace("{username}", "alice")
                paths.append(path.replace("{action}", "approve"))
    return paths


def test_every_form_post_needs_the_session_csrf_token(archive: Archive) -> None:
    web, _, _ = signed_in_user(archive)
    with web, WebClient(archive.url) as other:
        theirs = re.search(r'name="csrf_token" value="([^"]+)"', other.page("/login"))
        assert theirs
        paths = _post_paths()
        assert len(paths) >= 12
        for path in paths:
            missing = web.http.post(path, data={"name": "x"})
            assert missing.status_code == 403, path
            assert "security token does not match your session" in text(missing.text), path
            foreign = web.http.post(path, data={"csrf_token": theirs.group(1)})
            assert foreign.status_code == 403, path
        # No session cookie at all (a cross-site form post without cookies).
        r = httpx.post(f"{archive.url}/login", data={"csrf_token": theirs.group(1)})
        assert r.status_code == 403 and "without a session cookie" in text(r.text)


def test_a_forged_session_cookie_is_ignored(archive: Archive) -> None:
    web, _, _ = signed_in_user(archive)
    with web:
        cookie = web.http.cookies["np_session"]
        payload, mac = cookie.split(".")
        forged = httpx.get(
            f"{archive.url}/account", cookies={"np_session": payload + "." + mac[::-1]}
        )
        assert forged.status_code == 303  # anonymous: sent to sign in
        assert "np_session=" in forged.headers["set-cookie"]
