"""The status URC some firmware prints when a client's link drops (the manual documents none)."""

from __future__ import annotations

from collections.abc import Callable

from ..protocol.events import ResultLine, Urc


def default_status_urc(index: int) -> Callable[[Urc], bool]:
    """Matches `+MQTTSTAT: <idx>,<code>`-style connection-status URCs of some firmware."""

    def lost(urc: Urc) -> bool:
        return (
            isinstance(urc, ResultLine)
            and urc.name == "MQTTSTAT"
            and bool(urc.fields)
            and urc.fields[0] == str(index)
        )

    return lost
