"""A throw-away certificate authority made with the openssl command line, for TLS tests."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CertAuthority:
    """A CA certificate and a server certificate (for 127.0.0.1 and localhost) it signed."""

    ca_cert: Path
    server_cert: Path
    server_key: Path

    def client_context(self) -> ssl.SSLContext:
        """What the virtual modem's ssl context 0 trusts: this CA only."""
        return ssl.create_default_context(cafile=str(self.ca_cert))

    def mosquitto_lines(self) -> tuple[str, ...]:
        """Lines that turn the listener above them into a TLS listener."""
        return (
            f"cafile {self.ca_cert}",
            f"certfile {self.server_cert}",
            f"keyfile {self.server_key}",
        )


def _openssl(*args: str, cwd: Path) -> None:
    tool = shutil.which("openssl")
    if tool is None:
        raise RuntimeError("openssl is not installed")
    subprocess.run([tool, *args], cwd=cwd, check=True, capture_output=True)


def make_ca(folder: Path, name: str = "ca") -> Path:
    """A self-signed CA: writes ``<name>.key`` and ``<name>.pem``; returns the certificate."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-subj", f"/CN=nm28 test {name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=folder,
    )  # fmt: skip
    return folder / f"{name}.pem"


def make_cert_authority(folder: Path) -> CertAuthority:
    """A CA and a server certificate it signed, with subjectAltName IP 127.0.0.1."""
    ca_cert = make_ca(folder)
    (folder / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "basicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1",
        cwd=folder,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", ca_cert.name, "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-out", "server.pem", "-extfile", "server.ext",
        cwd=folder,
    )  # fmt: skip
    return CertAuthority(ca_cert, folder / "server.pem", folder / "server.key")
