"""Throwaway certificates for TLS tests, made at test time (``cryptography``): a private CA,
the server certificates it signs, and the SSL contexts a test server presents them with.

Nothing is downloaded and nothing outlives the test's ``tmp_path``. Keys are EC P-256, so
making a CA and a certificate takes milliseconds.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: The names a certificate for a server on this machine is for.
LOCAL_NAMES = ("127.0.0.1", "localhost")


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _san(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA that exists for one test; :attr:`cert_file` is what a client is told to trust."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    folder: Path

    @classmethod
    def make(cls, folder: Path, name: str = "neuropil test CA") -> CertificateAuthority:
        folder.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        ca = cls(key, cert, folder)
        ca.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return ca

    @property
    def cert_file(self) -> Path:
        return self.folder / "ca.pem"

    def issue(self, *names: str) -> tuple[Path, Path]:
        """A server certificate for ``names`` (host names or IP addresses; default: this
        machine's), as (certificate file, key file)."""
        names = names or LOCAL_NAMES
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        ca_ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([_san(n) for n in names]), False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski.value),
                False,
            )
            .sign(self.key, hashes.SHA256())
        )
        stem = self.folder / f"server-{x509.random_serial_number():x}"
        cert_file, key_file = stem.with_suffix(".pem"), stem.with_suffix(".key")
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(_pem_key(key))
        return cert_file, key_file

    def server_context(self, *names: str) -> ssl.SSLContext:
        """What a server presents: a certificate for ``names`` (default: this machine's)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*self.issue(*names))
        return context
