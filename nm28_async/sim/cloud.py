"""What the module itself publishes to the cloud platforms (OneNet data points, CTWing OTA)."""

from __future__ import annotations

import json
from typing import Any

from ..platforms import onenet

FIRMWARE_VERSION = "NM28_V1.0_SIM"

CTWING_VERSION_TOPIC = "/ota/inform"
CTWING_UPGRADE_TOPIC = "/ota/upgrade"


def ctwing_version_report() -> bytes:
    """CTWing's firmware version report; taskId -1 means no upgrade task is running."""
    body = {"taskId": -1, "params": {"version": FIRMWARE_VERSION, "module": "MCU"}}
    return json.dumps(body, separators=(",", ":")).encode()


def onenet_data_point_message(message_id: int, payload: bytes) -> bytes | None:
    """Wrap a data-point payload as OneNet's ``{"id":..,"dp":{..}}``; None if it is not one.

    The payload is a JSON object of data streams. A stream's value may be given bare
    (``{"temp":21.5}``) or already as OneNet's list of points (``{"temp":[{"v":21.5}]}``).
    """
    try:
        streams = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(streams, dict) or not streams:
        return None
    dp: dict[str, Any] = {}
    for name, value in streams.items():
        if (
            isinstance(value, list)
            and value
            and all(isinstance(p, dict) and "v" in p for p in value)
        ):
            dp[name] = value
        else:
            dp[name] = [{"v": value}]
    return onenet.data_point_message(message_id, dp)
