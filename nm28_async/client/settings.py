"""A client's `AT+MQTTCFG` settings as one typed value, and the commands that set them.

`MqttClient.configure`, `modem.mqtt()`, `modem.session()` and `ConnectionParams` take the
same `MqttSettings` keywords (typed with `Unpack`, so a misspelt one fails the type check,
and a ValueError at run time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from ..protocol import commands, limits
from ..protocol.commands import Command


@dataclass(frozen=True, slots=True)
class Will:
    """A last will: published by the broker when this client's link drops."""

    topic: str
    message: str = ""
    qos: int = 0
    retain: bool = False


class MqttSettings(TypedDict, total=False):
    """What `AT+MQTTCFG` sets. A setting left out (or None; `will=False`) is left as the
    module holds it; `will=None` clears the will."""

    version: int | None
    pdpcid: int | None
    ssl: bool | None
    ssl_ctx: int
    keepalive: int | None
    clean_session: bool | None
    pkt_timeout: int | None
    retries: int | None
    timeout_notice: bool | None
    will: Will | bool | None
    payload_in_urc: bool | None
    length_field: bool | None
    cached: bool | None


SETTING_NAMES = frozenset(MqttSettings.__annotations__)

Timing = tuple[int, int, bool]
"""`AT+MQTTCFG="timeout"`: packet timeout, retries, timeout notice (one command sets all)."""
Receive = tuple[bool, bool]
"""`AT+MQTTCFG="recv/mode"`: payload in the URC, length field (one command sets both)."""
FACTORY_TIMING: Timing = (limits.DEFAULT_PACKET_TIMEOUT_S, limits.DEFAULT_PACKET_RETRIES, False)
FACTORY_RECEIVE: Receive = (True, True)


def given(settings: MqttSettings) -> MqttSettings:
    """The settings that ask for something to be sent (TypeError for an unknown name)."""
    unknown = set(settings) - SETTING_NAMES
    if unknown:  # as Python says of any unknown keyword
        raise TypeError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    kept = {
        name: value
        for name, value in settings.items()
        if (value is not False if name == "will" else value is not None)
    }
    if kept.get("ssl_ctx") == 0:
        del kept["ssl_ctx"]
    return kept  # type: ignore[return-value]


def settings_commands(
    index: int,
    settings: MqttSettings,
    timing_now: Timing = FACTORY_TIMING,
    receive_now: Receive = FACTORY_RECEIVE,
) -> tuple[list[Command], Timing, Receive]:
    """The `AT+MQTTCFG` commands for the settings given, and only those (ValueError for a bad
    one), with the timing and receive settings they leave. A setting that shares its command
    with one given keeps its value from `timing_now` / `receive_now`."""
    wanted = given(settings)
    batch: list[Command] = []
    if (version := wanted.get("version")) is not None:
        batch.append(commands.cfg_version(index, version))
    if (pdpcid := wanted.get("pdpcid")) is not None:
        batch.append(commands.cfg_pdpcid(index, pdpcid))
    if (ssl := wanted.get("ssl")) is not None:
        batch.append(commands.cfg_ssl(index, ssl, wanted.get("ssl_ctx", 0)))
    if (keepalive := wanted.get("keepalive")) is not None:
        batch.append(commands.cfg_keepalive(index, keepalive))
    if (clean_session := wanted.get("clean_session")) is not None:
        batch.append(commands.cfg_session(index, clean_session))
    pkt_timeout = wanted.get("pkt_timeout")
    retries = wanted.get("retries")
    timeout_notice = wanted.get("timeout_notice")
    timing: Timing = (
        timing_now[0] if pkt_timeout is None else pkt_timeout,
        timing_now[1] if retries is None else retries,
        timing_now[2] if timeout_notice is None else timeout_notice,
    )
    if (pkt_timeout, retries, timeout_notice) != (None, None, None):
        batch.append(commands.cfg_timeout(index, *timing))
    if "will" in wanted:
        batch.append(_will_command(index, wanted["will"]))
    payload_in_urc = wanted.get("payload_in_urc")
    length_field = wanted.get("length_field")
    receive: Receive = (
        receive_now[0] if payload_in_urc is None else payload_in_urc,
        receive_now[1] if length_field is None else length_field,
    )
    if (payload_in_urc, length_field) != (None, None):
        batch.append(commands.cfg_recv_mode(index, *receive))
    if (cached := wanted.get("cached")) is not None:
        batch.append(commands.cfg_cached(index, cached))
    return batch, timing, receive


def _will_command(index: int, will: Will | bool | None) -> Command:
    if will is None:
        return commands.cfg_will(index, None)
    if not isinstance(will, Will):
        raise ValueError("will must be a Will, None (clear) or left out")
    return commands.cfg_will(index, will.topic, will.message, will.qos, will.retain)
