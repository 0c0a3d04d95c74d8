"""Masks secrets in any text that may reach a log, a repr or an exception message."""

import re
from collections.abc import Callable, Iterable

MASK = "***"

# AT+MQTTCONN=<idx>,"<client id>","<user>","<password>": the fourth field is the secret.
_CONN_PASSWORD = re.compile(
    r'(AT\+MQTTCONN= *[^,]*, *"[^"]*" *, *"[^"]*" *, *)"([^"]*)"?', re.IGNORECASE
)
_DEVICE_SECRET = re.compile(r'(device_secret *: *)(?:"[^"]*"?|[^\s"]+)', re.IGNORECASE)


def redact(text: str) -> str:
    """Return `text` with passwords and device secrets replaced by a mask."""
    if "MQTTCONN=" not in text.upper() and "secret" not in text.lower():
        return text
    text = _CONN_PASSWORD.sub(rf'\1"{MASK}"', text)
    return _DEVICE_SECRET.sub(rf'\1"{MASK}"', text)


def secrets_in(text: str) -> tuple[str, ...]:
    """The secrets a command line carries (an `AT+MQTTCONN` password), so that they can be
    masked wherever they come back (an echo the noise made unrecognisable)."""
    m = _CONN_PASSWORD.search(text)
    return (m.group(2),) if m is not None and m.group(2) else ()


def _cut_at_quote(text: str) -> str:
    quote = text.find('"')
    return text if quote < 0 else text[:quote] + f'"{MASK}'


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def redact_bytes(data: bytes | bytearray, secrets: Iterable[str] = (), limit: int = 64) -> str:
    """Bytes that failed to parse, for a log line: printable, bounded, and masked from their
    first quote on.

    Noise can break the very structure `redact` looks for (a stray byte inside the echo of
    `AT+MQTTCONN=...` makes it garbage), and every secret the driver sends is quoted, so
    only what comes before the first quote is shown, and no secret the driver sent.
    """
    text = _scrub(bytes(data[:limit]).decode("utf-8", "backslashreplace"), secrets)
    return redact(_cut_at_quote(text))


_LINE_ENDS = re.compile(r"([\r\n]+)")


def redact_wire(data: bytes | bytearray, secrets: Iterable[str] = ()) -> str:
    """Bytes on the wire as one log line: line ends shown as `\\r\\n`, every command line
    echoed back (our own, perhaps hit by noise) cut at its first quote, the rest `redact`ed,
    and no secret the driver sent anywhere."""
    text = _scrub(bytes(data).decode("utf-8", "backslashreplace"), secrets)
    out = []
    for part in _LINE_ENDS.split(text):
        if part[:1] in ("\r", "\n"):
            out.append(part.replace("\r", "\\r").replace("\n", "\\n"))
        elif part.lstrip()[:2].upper() == "AT":
            out.append(redact(_cut_at_quote(part)))
        else:
            out.append(redact(part))
    return "".join(out)


class StreamMask:
    """Masks secrets in a byte stream that comes in pieces.

    A module that echoes a few bytes per read splits a password across reads, and masking
    each read alone lets every piece through. The tail of a piece that could begin a secret
    is held back until the next piece shows whether it does (`flush` gives it up at the end).
    """

    def __init__(self) -> None:
        self._secrets: set[bytes] = set()
        self._held = b""

    def add(self, secrets: Iterable[str]) -> None:
        self._secrets.update(secret.encode("utf-8") for secret in secrets if secret)

    def feed(self, data: bytes) -> bytes:
        """What of the stream so far can be shown: masked, less a tail still in doubt."""
        if not self._secrets:
            return data
        data = self._held + data
        for secret in self._secrets:
            data = data.replace(secret, MASK.encode())
        hold = max(map(_partial_suffix(data), self._secrets))
        self._held = data[len(data) - hold :]
        return data[: len(data) - hold]

    def flush(self) -> bytes:
        held, self._held = self._held, b""
        return held


def _partial_suffix(data: bytes) -> Callable[[bytes], int]:
    """The length of the longest tail of `data` that is a proper beginning of a secret."""

    def length(secret: bytes) -> int:
        for size in range(min(len(secret) - 1, len(data)), 0, -1):
            if data.endswith(secret[:size]):
                return size
        return 0

    return length
