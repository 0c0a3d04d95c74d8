"""BrokerUrl: `mqtt://[user:password@]host[:port]` or `mqtts://...`, checked, secrets masked.

The `--broker` option of `nm28 sim` and `nm28 demo`. Anything else is refused with a message
that says what is expected, rather than guessed at (`garbage` is not `mqtt://garbage:1883`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from . import commands, limits
from .redact import MASK

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
FORM = "mqtt://[user:password@]host[:port] or mqtts://..."


@dataclass(frozen=True, slots=True)
class BrokerUrl:
    host: str
    port: int
    tls: bool = False
    username: str = ""
    password: str = field(default="", repr=False)

    @classmethod
    def parse(cls, text: str) -> BrokerUrl:
        """Parse and check a broker URL; ValueError (the password masked) if it is not one."""
        shown = _masked(text)
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"expected {FORM}, got {shown!r}: {exc}") from None
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"expected {FORM}, got {shown!r}")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"a broker URL has no path, query or fragment: {shown!r}")
        port = DEFAULT_PORTS[scheme] if port is None else port
        commands.check_string("broker host", parts.hostname, max_bytes=limits.MAX_HOST_BYTES)
        commands.check_int("broker port", port, limits.PORTS)
        username, password = unquote(parts.username or ""), unquote(parts.password or "")
        commands.check_string("broker user name", username)
        commands.check_string("broker password", password)
        return cls(parts.hostname, port, scheme == "mqtts", username, password)

    @property
    def address(self) -> str:
        """`host:port`, with an IPv6 host in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def __str__(self) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        login = self.username + (f":{MASK}" if self.password else "")
        return f"{scheme}://{login + '@' if login else ''}{self.address}"


def _masked(text: str) -> str:
    """`text` with whatever stands between `:` and `@` of its user part masked."""
    head, at, tail = text.rpartition("@")
    if not at:
        return text
    scheme, sep, login = head.rpartition("//")
    user = login.split(":", 1)[0]
    return f"{scheme}{sep}{user}:{MASK}@{tail}" if ":" in login else text
