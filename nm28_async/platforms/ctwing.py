"""CTWing (China Telecom AIoT): device credentials and the downlink command shape."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

HOST = "mqtt.ctwing.cn"
PORT = 1883


@dataclass(frozen=True, slots=True)
class CtwingDevice:
    """The three values CTWing's MQTT CONNECT needs; the token never shows in a repr."""

    device_id: str
    product_id: str
    token: str = field(repr=False)

    def connect_args(self) -> tuple[str, str, str]:
        """(client id, user name, password) for `MqttClient.connect`."""
        return self.device_id, self.product_id, self.token


@dataclass(frozen=True, slots=True)
class Downlink:
    """A platform command: `{"taskId": 5, "payload": {"valve_onoff": 1}}`."""

    task_id: int
    payload: dict[str, Any]


def parse_downlink(data: bytes | str) -> Downlink:
    """Decode a downlink command; ValueError names what is missing or malformed."""
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"downlink is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ValueError("downlink must be a JSON object")
    task_id = document.get("taskId")
    payload = document.get("payload")
    if isinstance(task_id, bool) or not isinstance(task_id, int):
        raise ValueError("downlink has no integer taskId")
    if not isinstance(payload, dict):
        raise ValueError("downlink has no payload object")
    return Downlink(task_id, payload)


def encode_downlink(task_id: int, payload: dict[str, Any]) -> bytes:
    """The bytes CTWing sends for a command (used by the demo and tests as the platform side)."""
    return json.dumps({"taskId": task_id, "payload": payload}, separators=(",", ":")).encode()
