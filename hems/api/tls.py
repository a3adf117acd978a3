"""The box's own TLS certificate: made on the API's first start, kept in the API directory.

A self-signed certificate (ECDSA P-256, ten years) for the box's host names and addresses; the key is
written with mode 0600 before any byte of it is. Phones cannot check a self-signed certificate against
a CA, so the household compares its SHA-256 fingerprint (`hems api info`) with the one the browser
shows, once. `cryptography` is imported only to make the certificate; reading it needs only `ssl`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

CERT_NAME = "tls.crt"
KEY_NAME = "tls.key"


@dataclass(frozen=True, slots=True)
class CertFiles:
    cert: Path
    key: Path


def cert_files(directory: Path) -> CertFiles:
    return CertFiles(directory / CERT_NAME, directory / KEY_NAME)


def fingerprint(cert_path: Path) -> str:
    """SHA-256 fingerprint of a PEM certificate, as browsers show it (``AB:CD:...``)."""
    der = ssl.PEM_cert_to_DER_cert(cert_path.read_text(encoding="ascii"))
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def _names(host: str) -> tuple[list[str], list[str]]:
    """DNS names and IP addresses the certificate is for: this machine's name (and ``.local``),
    localhost, the loopback addresses and the address the API is bound to (when it is one)."""
    dns = ["localhost"]
    name = socket.gethostname()
    if name and name != "localhost":
        dns += [name, f"{name}.local"]
    ips = ["127.0.0.1", "::1"]
    try:
        addr = ipaddress.ip_address(host)
        if not addr.is_unspecified and str(addr) not in ips:
            ips.append(str(addr))
    except ValueError:
        if host and host not in dns:
            dns.append(host)
    return dns, ips


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def ensure_certificate(directory: Path, host: str) -> tuple[CertFiles, bool]:
    """The certificate and key in ``directory``, made when missing (in a spawned worker process, so
    `cryptography` never stays in the daemon's memory); returns (files, made now)."""
    files = cert_files(directory)
    if files.cert.is_file() and files.key.is_file():
        return files, False
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from lifeline import die_with_parent

    with ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent
    ) as pool:
        pool.submit(make_certificate, str(directory), host).result(timeout=120)
    return files, True


def make_certificate(directory: str | Path, host: str, now: datetime | None = None) -> CertFiles:
    """Make a new key and self-signed certificate in ``directory`` (replacing any there)."""
    directory = Path(directory)
    files = cert_files(directory)
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    dns, ips = _names(host)
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"hems box {dns[1] if len(dns) > 1 else dns[0]}")]
    )
    start = (now or datetime.now(UTC)) - timedelta(minutes=5)
    alt = [x509.DNSName(n) for n in dns] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(
        files.key,
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return files
