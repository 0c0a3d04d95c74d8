"""CTWing and OneNet helpers: credentials, downlink commands, data points, the OneNet token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qs

import pytest

from nm28_async.platforms import ctwing, onenet

KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def test_ctwing_device_gives_connect_args_and_hides_its_token() -> None:
    device = ctwing.CtwingDevice("1701491811", "15312630", "LB-secret-token")
    assert device.connect_args() == ("1701491811", "15312630", "LB-secret-token")
    assert "LB-secret-token" not in repr(device)
    assert "1701491811" in repr(device)


def test_manual_downlink_parses() -> None:
    downlink = ctwing.parse_downlink(b'{"taskId":5, "payload":{"valve_onoff":1}}')
    assert downlink == ctwing.Downlink(5, {"valve_onoff": 1})


def test_encoded_downlink_round_trips() -> None:
    data = ctwing.encode_downlink(41, {"TESTINT1": 10})
    assert data == b'{"taskId":41,"payload":{"TESTINT1":10}}'
    assert ctwing.parse_downlink(data) == ctwing.Downlink(41, {"TESTINT1": 10})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"payload": {}}', "taskId"),
        (b'{"taskId": true, "payload": {}}', "taskId"),
        (b'{"taskId": "5", "payload": {}}', "taskId"),
        (b'{"taskId": 5}', "payload"),
        (b'{"taskId": 5, "payload": [1]}', "payload"),
    ],
)
def test_bad_downlinks_raise_value_error_naming_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ctwing.parse_downlink(data)


def test_onenet_data_points_and_topic() -> None:
    assert onenet.data_point_topic("pid", "dev-1") == "$sys/pid/dev-1/dp/post/json"
    dp = onenet.data_points({"temp": 21.5, "on": True})
    assert json.loads(dp) == {"temp": [{"v": 21.5}], "on": [{"v": True}]}
    message = json.loads(onenet.data_point_message(7, json.loads(dp)))
    assert message == {"id": 7, "dp": {"temp": [{"v": 21.5}], "on": [{"v": True}]}}
    with pytest.raises(ValueError, match="at least one"):
        onenet.data_points({})


@pytest.mark.parametrize("method", ["md5", "sha1", "sha256"])
def test_onenet_token_signs_resource_and_expiry_with_the_key(method: str) -> None:
    token = onenet.token("pid", "dev 1", KEY, expires_at=1_900_000_000, method=method)
    fields = {k: v[0] for k, v in parse_qs(token, strict_parsing=True).items()}
    assert fields["version"] == onenet.TOKEN_VERSION
    assert fields["res"] == "products/pid/devices/dev 1"
    assert "res=products%2Fpid%2Fdevices%2Fdev%201&" in token
    assert fields["et"] == "1900000000"
    assert fields["method"] == method
    signed = f"1900000000\n{method}\nproducts/pid/devices/dev 1\n{onenet.TOKEN_VERSION}"
    expected = hmac.new(base64.b64decode(KEY), signed.encode(), getattr(hashlib, method))
    assert base64.b64decode(fields["sign"]) == expected.digest()


def test_onenet_token_changes_with_key_and_expiry() -> None:
    other_key = base64.b64encode(b"another key, another signature!!").decode()
    a = onenet.token("pid", "dev", KEY, expires_at=1)
    assert a != onenet.token("pid", "dev", other_key, expires_at=1)
    assert a != onenet.token("pid", "dev", KEY, expires_at=2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"method": "sha512"}, "method"), ({"access_key": "not base64!"}, "base64")],
)
def test_onenet_token_rejects_bad_arguments(kwargs: dict[str, str], message: str) -> None:
    args = {"product_id": "pid", "device_name": "dev", "access_key": KEY, **kwargs}
    with pytest.raises(ValueError, match=message):
        onenet.token(**args)  # type: ignore[arg-type]
