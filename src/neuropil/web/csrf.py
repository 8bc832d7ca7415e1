"""CSRF protection: every POST form carries a token bound to the browser's session.

The token is a keyed digest of the session id (:mod:`neuropil.web.sessions`), so it needs
no storage, differs per session and changes when signing in issues a new session. A POST
without a session cookie or with a token of another session is refused before the handler
runs. ``SameSite=Lax`` on the cookie is a second line: other sites' forms do not send it.
"""

from __future__ import annotations

import hmac

from neuropil.errors import PermissionDenied
from neuropil.web.sessions import Session, SessionCodec

FIELD = "csrf_token"


class CsrfRejected(PermissionDenied):
    """A form post whose CSRF token is missing or belongs to another session."""


def token(codec: SessionCodec, session: Session) -> str:
    return codec.digest("csrf", session.sid)


def check(codec: SessionCodec, session: Session | None, submitted: str | None) -> None:
    if session is None:
        raise CsrfRejected(
            "This form was sent without a session cookie (it may have expired, or cookies "
            "are blocked). Reload the page and send the form again."
        )
    if not submitted or not hmac.compare_digest(submitted, token(codec, session)):
        raise CsrfRejected(
            "This form's security token does not match your session (the page may be stale, "
            "or the form was sent from another site). Reload the page and try again."
        )
