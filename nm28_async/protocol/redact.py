"""Masks secrets in any text that may reach a log, a repr or an exception message."""

import re

MASK = "***"

# AT+MQTTCONN=<idx>,"<client id>","<user>","<password>": the fourth field is the secret.
_CONN_PASSWORD = re.compile(
    r'(AT\+MQTTCONN= *[^,]*, *"[^"]*" *, *"[^"]*" *, *)"[^"]*"?', re.IGNORECASE
)
_DEVICE_SECRET = re.compile(r'(device_secret *: *)"[^"]*"?', re.IGNORECASE)


def redact(text: str) -> str:
    """Return `text` with passwords and device secrets replaced by a mask."""
    if "MQTTCONN=" not in text.upper() and "secret" not in text.lower():
        return text
    text = _CONN_PASSWORD.sub(rf'\1"{MASK}"', text)
    return _DEVICE_SECRET.sub(rf'\1"{MASK}"', text)
