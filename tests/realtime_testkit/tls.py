"""TLS helpers for scenario tests: a throwaway certificate and pinned-version handshakes.

``generate_self_signed`` writes a self-signed certificate (EC P-256, valid for
``localhost`` and 127.0.0.1) and its key, for a scenario to hand to the role
as ``certificate_content``/``certificate_key_content``. Run it as a script so
a prepare playbook needs nothing but the controller's Python with the
``cryptography`` package::

    python tests/realtime_testkit/tls.py generate DIR   # writes DIR/cert.pem, DIR/key.pem

``handshake`` opens one TLS connection with the protocol version pinned
(``minimum_version`` = ``maximum_version``) and reports what was negotiated
or why it failed, never raising for network or TLS errors. For versions that
OpenSSL's default security level forbids (TLSv1.1 and older), the client
context drops to ``@SECLEVEL=0`` so that a refusal comes from the server, not
from the client library; ``legacy_tls_server`` is a local control server that
does accept such a handshake, to prove the client side can do it.

Everything is bounded: every socket has a timeout.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import socket
import ssl
import sys
import threading
from dataclasses import dataclass
from typing import Optional, Sequence

__all__ = ["generate_self_signed", "client_context", "HandshakeResult", "handshake", "served_certificate",
           "legacy_tls_server", "VERSIONS"]

VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
_LEGACY = {"TLSv1", "TLSv1.1"}


def generate_self_signed(directory: str, *, common_name: str = "localhost",
                         dns_names: Sequence[str] = ("localhost",),
                         ip_addresses: Sequence[str] = ("127.0.0.1",),
                         days: int = 30, key_type: str = "ec") -> tuple:
    """Write DIRECTORY/cert.pem and DIRECTORY/key.pem (mode 0600); return their paths.

    KEY_TYPE: ``ec`` (P-256, the default) or ``rsa`` (2048 bits).

    Existing files are kept, so a prepare step that runs twice hands the role
    the same certificate (and a converge stays idempotent).
    """
    cert_path = os.path.join(directory, "cert.pem")
    key_path = os.path.join(directory, "key.pem")
    if os.path.exists(cert_path) and os.path.exists(key_path):
        return cert_path, key_path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    os.makedirs(directory, mode=0o700, exist_ok=True)
    if key_type == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif key_type == "ec":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        raise ValueError("key_type must be ec or rsa, not %r" % key_type)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    san = [x509.DNSName(n) for n in dns_names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_pem)
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def client_context(*, version: Optional[str] = None, alpn: Optional[Sequence[str]] = None,
                   cafile: Optional[str] = None) -> ssl.SSLContext:
    """A client context; VERSION pins min and max; without CAFILE nothing is verified."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile:
        ctx.load_verify_locations(cafile)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if version:
        if version in _LEGACY:
            # OpenSSL 3 refuses TLSv1/1.1 at security level 1 on the client
            # side already; level 0 lets the ClientHello go out, so a refusal
            # is the server's.
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = VERSIONS[version]
        ctx.maximum_version = VERSIONS[version]
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


@dataclass
class HandshakeResult:
    ok: bool
    version: Optional[str] = None   # e.g. "TLSv1.3"
    alpn: Optional[str] = None      # the protocol the server selected, if any
    cipher: Optional[str] = None
    error: Optional[str] = None     # e.g. "[SSL: TLSV1_ALERT_PROTOCOL_VERSION] ..."

    @property
    def server_refused_version(self) -> bool:
        """The server answered the ClientHello with a protocol_version alert."""
        return not self.ok and self.error is not None and "ALERT_PROTOCOL_VERSION" in self.error


def handshake(host: str, port: int, *, version: Optional[str] = None,
              alpn: Optional[Sequence[str]] = None, cafile: Optional[str] = None,
              server_hostname: Optional[str] = None, timeout: float = 5.0) -> HandshakeResult:
    """One TLS handshake to HOST:PORT; the result says what was negotiated, or the error."""
    ctx = client_context(version=version, alpn=alpn, cafile=cafile)
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            raw.settimeout(timeout)
            with ctx.wrap_socket(raw, server_hostname=server_hostname or host) as tls:
                return HandshakeResult(True, tls.version(), tls.selected_alpn_protocol(),
                                       (tls.cipher() or (None,))[0])
    except (ssl.SSLError, OSError) as exc:
        return HandshakeResult(False, error="%s: %s" % (type(exc).__name__, exc))


def served_certificate(host: str, port: int, *, cafile: str, server_hostname: str, timeout: float = 5.0) -> dict:
    """The certificate HOST:PORT serves for SERVER_HOSTNAME, verified against CAFILE alone (raises when it fails).

    The ``ssl`` module's decoded form: ``serialNumber``, ``subjectAltName``, ``issuer``, ``notAfter``...
    """
    ctx = client_context(cafile=cafile)
    with socket.create_connection((host, port), timeout=timeout) as raw:
        raw.settimeout(timeout)
        with ctx.wrap_socket(raw, server_hostname=server_hostname) as tls:
            return tls.getpeercert()


@contextlib.contextmanager
def legacy_tls_server(port: int, cert: str, key: str, *, version: str = "TLSv1.1",
                      host: str = "127.0.0.1", timeout: float = 5.0):
    """A control TLS server on HOST:PORT that accepts only VERSION, for at most a few handshakes.

    Proves that ``handshake(version=VERSION)`` can succeed from this client,
    so the same call failing against nginx is nginx's refusal. Yields the
    (host, port) to connect to.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if version in _LEGACY:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = VERSIONS[version]
    ctx.maximum_version = VERSIONS[version]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(4)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve():
        for unused in range(8):  # bounded: a few handshakes, then the thread ends
            conn = None
            while not stop.is_set():
                try:
                    conn, unused = listener.accept()
                    break
                except socket.timeout:
                    continue
                except OSError:
                    return
            if conn is None:
                return
            conn.settimeout(timeout)
            try:
                with ctx.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass
            finally:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield host, port
    finally:
        stop.set()
        listener.close()
        thread.join(timeout)


def _main(argv) -> int:
    if len(argv) != 3 or argv[1] != "generate":
        print("usage: tls.py generate DIR", file=sys.stderr)
        return 2
    cert, key = generate_self_signed(argv[2])
    print(cert)
    print(key)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
