"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for the tests of
outbound mail (``neuropil.services.mail``): plain, requiring STARTTLS, or TLS from the start,
with or without a required login."""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.server import free_port


@dataclass(frozen=True)
class Received:
    """One message as the server took it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    #: Whether the message came over TLS (STARTTLS or from the start).
    tls: bool = False
    #: The user name the client logged in with, if it did.
    login: str | None = None


class _Handler:
    def __init__(self, refuse: set[str], login: tuple[str, str] | None = None) -> None:
        self.refuse = refuse
        self.login = login
        self.received: list[Received] = []
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        tls = server.transport.get_extra_info("ssl_object") is not None
        got = Received(envelope.mail_from, list(envelope.rcpt_tos), parsed, tls, session.auth_data)
        with self.lock:
            self.received.append(got)
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and self.login == (
            auth_data.login.decode(),
            auth_data.password.decode(),
        )
        if not ok:  # not handled here: aiosmtpd answers 535
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=auth_data.login.decode())


class SmtpServer:
    """Start, stop and read a mail server on a loopback port (fixed at construction, so a
    neuropil server can be told the URL before this one listens).

    ``starttls``: offer STARTTLS with this context and take nothing before it. ``tls``: speak
    TLS from the first byte with this context. ``login``: (user, password) that every client
    must log in with (over TLS). :attr:`url` is the ``NEUROPIL_SMTP_URL`` that reaches it.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        refuse: set[str] | None = None,
        starttls: ssl.SSLContext | None = None,
        tls: ssl.SSLContext | None = None,
        login: tuple[str, str] | None = None,
    ) -> None:
        assert not (starttls and tls), "STARTTLS or TLS from the start, not both"
        self.port = port or free_port()
        self._handler = _Handler(refuse or set(), login)
        self._starttls = starttls
        self._tls = tls
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        scheme = "smtps" if self._tls else "smtp+starttls" if self._starttls else "smtp"
        login = self._handler.login
        user = f"{quote(login[0], safe='')}:{quote(login[1], safe='')}@" if login else ""
        return f"{scheme}://{user}127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        options: dict[str, Any] = {}
        if self._starttls:
            options.update(tls_context=self._starttls, require_starttls=True)
        if self._handler.login:
            # aiosmtpd knows only its own STARTTLS as TLS; from the start, it is TLS too
            options.update(authenticator=self._handler.authenticate, auth_required=True)
            options.update(auth_require_tls=self._tls is None)
        self._controller = Controller(
            self._handler, hostname="127.0.0.1", port=self.port, ssl_context=self._tls, **options
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def received(self) -> list[Received]:
        with self._handler.lock:
            return list(self._handler.received)

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Received]:
        """The messages once at least ``count`` have arrived."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} of {count} messages arrived")
            time.sleep(0.05)
        return self.received

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
