"""The SMTP server outbound mail goes through (``NEUROPIL_SMTP_URL``): one typed value, one
parser.

Three schemes, one per way of securing the connection, so the URL alone says whether the
password crosses the network in clear:

=====================================  ============  =======================================
URL                                    default port  connection
=====================================  ============  =======================================
``smtp://host[:port]``                 25            plain (a relay on this machine or LAN)
``smtp+starttls://user:pass@host``     587           plain, then STARTTLS, required
``smtps://user:pass@host``             465           TLS from the start
=====================================  ============  =======================================

Certificates are checked (chain and host name) against the system's CAs, or only against
those of ``NEUROPIL_SMTP_CA_FILE`` for a server with a private CA (:func:`tls_context`). A
user name and password are refused on a plain ``smtp://`` connection unless the server is
on this machine (loopback).
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["Security", "SmtpUrl", "tls_context"]


class Security(StrEnum):
    """How the connection to the SMTP server is protected."""

    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


#: scheme -> (security, default port)
SCHEMES = {
    "smtp": (Security.NONE, 25),
    "smtp+starttls": (Security.STARTTLS, 587),
    "smtps": (Security.TLS, 465),
}


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class SmtpUrl:
    """A parsed ``NEUROPIL_SMTP_URL``; ``str()`` gives it back without the password."""

    host: str
    port: int
    security: Security = Security.NONE
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def scheme(self) -> str:
        return next(name for name, (sec, _) in SCHEMES.items() if sec == self.security)

    def __str__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{user}{host}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> SmtpUrl:
        """Parse ``text``; a :class:`ValueError` says what is wrong, never the password."""
        parts = urlsplit(text.strip())
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise ValueError(
                f"the scheme {parts.scheme + '://' if parts.scheme else '(none)'} is not one "
                f"of {', '.join(s + '://' for s in SCHEMES)}"
            )
        security, default_port = SCHEMES[scheme]
        if not parts.hostname:
            raise ValueError("it names no host, e.g. smtp://mail.example.org:25")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("it has a path, query or fragment; give only user, host and port")
        try:
            port = default_port if parts.port is None else parts.port
        except ValueError as exc:  # a port that is not a number in 0..65535
            raise ValueError("its port is not a number from 1 to 65535") from exc
        if port == 0:
            raise ValueError("its port is not a number from 1 to 65535")
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        if (username is None) != (password is None):
            raise ValueError(
                "give both a user name and a password (user:password@host), or neither"
            )
        if username and security == Security.NONE and not _is_loopback(parts.hostname):
            raise ValueError(
                "it would send the password unencrypted; use smtp+starttls:// or smtps://"
            )
        return cls(parts.hostname, port, security, username, password)


def tls_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """How an SMTP connection checks the server's certificate: against the system's CAs, or,
    with ``ca_file`` (PEM, one CA or several), against those CAs only.

    Only, not also: an archive whose mail server has a private CA trusts nobody else to speak
    for that server. A file that cannot be read or holds no certificate raises
    :class:`OSError` (:class:`ssl.SSLError` for the latter).
    """
    return ssl.create_default_context(cafile=None if ca_file is None else str(ca_file))
