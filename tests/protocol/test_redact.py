"""Redaction: passwords and device secrets never reach logs or reprs."""

from __future__ import annotations

import pytest

from nm28_async.protocol import commands as c
from nm28_async.protocol.redact import MASK, redact

PASSWORD = "LB-LoWsiCJI1txEujy4ZQLbbmssx2G5YdkMAUYv5yVo"


@pytest.mark.parametrize("password", [PASSWORD, "p,w", "x", "", "pässwörd", "a b"])
def test_connect_password_hidden(password: str) -> None:
    """The password is on the wire but not in log_text or repr."""
    cmd = c.connect(0, "1701491811", "15312630", password)
    assert password.encode() in cmd.line
    assert cmd.log_text == f'AT+MQTTCONN=0,"1701491811","15312630","{MASK}"'
    if password:
        assert password not in repr(cmd)
        assert password not in str(cmd)


def test_connect_keeps_other_fields_visible() -> None:
    """Client id and user name stay readable in the log."""
    cmd = c.connect(3, "dev-1", "product", "s3cr3t")
    assert "dev-1" in cmd.log_text
    assert "product" in cmd.log_text
    assert "s3cr3t" not in cmd.log_text


def test_raw_connect_password_hidden() -> None:
    """A hand-written AT+MQTTCONN through raw() is masked too, spaces or not."""
    for line in (
        'AT+MQTTCONN=0,"id","user","hunter2"',
        'AT+MQTTCONN=0, "id", "user", "hunter2"',
        'at+mqttconn=1,"id","user","hunter2"',
    ):
        cmd = c.raw(line)
        assert "hunter2" in cmd.line.decode()
        assert "hunter2" not in cmd.log_text
        assert "hunter2" not in repr(cmd)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('AT+MQTTCONN=0,"id","user","pw"', f'AT+MQTTCONN=0,"id","user","{MASK}"'),
        ('AT+MQTTCONN=0,"i,d","user","pw"', f'AT+MQTTCONN=0,"i,d","user","{MASK}"'),
        ('AT+MQTTCONN=0,"id","user","pw-cut-off', f'AT+MQTTCONN=0,"id","user","{MASK}"'),
        ('device_secret:"abc123"', f'device_secret:"{MASK}"'),
        ('DEVICE_SECRET: "abc123"', f'DEVICE_SECRET: "{MASK}"'),
        (
            'product_key:"pk"device_name:"dn"device_secret:"abc123"',
            f'product_key:"pk"device_name:"dn"device_secret:"{MASK}"',
        ),
        ('AT+MQTTOPEN=0,"mqtt.ctwing.cn",1883', 'AT+MQTTOPEN=0,"mqtt.ctwing.cn",1883'),
        ("+MQTTCONN:0,0,0", "+MQTTCONN:0,0,0"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    """redact() masks exactly the secret and leaves the rest."""
    assert redact(text) == expected


def test_publish_repr_hides_payload() -> None:
    """A publish's repr shows the payload size, not its bytes."""
    cmd = c.publish(0, 1, "t", "top-secret-telemetry")
    assert "top-secret-telemetry" not in repr(cmd)
    assert "21 bytes" in repr(cmd)  # 20 bytes + Ctrl-Z
