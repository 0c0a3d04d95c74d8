"""OneNet (China Mobile): data-point payloads, their topic, and the HMAC access token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from urllib.parse import quote

HOST = "mqtts.heclouds.com"
PORT = 1883
TOKEN_VERSION = "2018-10-31"


def data_point_topic(product_id: str, device_name: str) -> str:
    """Where the module posts data points for `AT+MQTTPUBEX` type 1/2."""
    return f"$sys/{product_id}/{device_name}/dp/post/json"


def data_points(values: Mapping[str, object]) -> bytes:
    """The `dp` object OneNet expects: each value as `[{"v": value}]`."""
    if not values:
        raise ValueError("at least one data point is needed")
    return json.dumps({k: [{"v": v}] for k, v in values.items()}, separators=(",", ":")).encode()


def data_point_message(message_id: int, dp: Mapping[str, object]) -> bytes:
    """The full data-point message `{"id":..,"dp":{...}}` (what the module publishes)."""
    return json.dumps({"id": message_id, "dp": dp}, separators=(",", ":")).encode()


def token(
    product_id: str,
    device_name: str,
    access_key: str,
    *,
    expires_at: int | None = None,
    method: str = "sha1",
) -> str:
    """The MQTT password OneNet checks: an HMAC of the resource and expiry with the key."""
    if method not in ("md5", "sha1", "sha256"):
        raise ValueError(f"method must be md5, sha1 or sha256, got {method!r}")
    try:
        key = base64.b64decode(access_key, validate=True)
    except ValueError as exc:
        raise ValueError("access_key must be base64") from exc
    expiry = int(time.time()) + 3600 if expires_at is None else expires_at
    resource = f"products/{product_id}/devices/{device_name}"
    text = f"{expiry}\n{method}\n{resource}\n{TOKEN_VERSION}"
    sign = base64.b64encode(hmac.new(key, text.encode(), getattr(hashlib, method)).digest())
    return (
        f"version={TOKEN_VERSION}&res={quote(resource, safe='')}&et={expiry}"
        f"&method={method}&sign={quote(sign.decode(), safe='')}"
    )
