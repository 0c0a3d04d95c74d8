"""The command lines of `nm28 at`, made into commands before the port is opened.

Every line is checked first, so an invalid one means nothing is sent. Each command knows the
result line it awaits (`+MQTTOPEN: 0,0` may come long after `OK`), and an `AT+MQTTPUBEX` line
takes its payload from the `--payload` given for it, in order (the console asks for it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..protocol import commands, limits
from ..protocol.commands import Command
from ..protocol.conversation import Completed
from ..protocol.events import Message
from ..protocol.parser import split_fields

_PUBEX = re.compile(r"AT\+MQTTPUBEX=(?!\?)(.*)", re.DOTALL | re.IGNORECASE)
_PUBEX_FIELDS = '<idx>,<msgID>,<qos>,<retain>,<type>,"<topic>",<length>'


def prepare(lines: Sequence[str], payloads: Sequence[str]) -> list[Command]:
    """One command per line; ValueError if any line (or the payloads) is invalid."""
    waiting = list(payloads)
    prepared = []
    for line in lines:
        m = _PUBEX.fullmatch(line.strip())
        if m is None:
            prepared.append(commands.raw(line))
            continue
        if not waiting:
            raise ValueError(f"{line}: give its payload with --payload")
        prepared.append(_publish(line, m.group(1), waiting.pop(0)))
    if waiting:
        raise ValueError(f"{len(waiting)} --payload left over: each is for one AT+MQTTPUBEX")
    return prepared


def needs_payload(line: str) -> bool:
    """Whether `line` is an `AT+MQTTPUBEX` set command, which sends a payload after it."""
    return _PUBEX.fullmatch(line.strip()) is not None


def answer(done: Completed) -> list[str]:
    """What the module answered, as `nm28 at` prints it: the information lines, `OK`, and the
    result line (which the module may print after `OK`)."""
    shown = [item.text for item in done.lines]
    return [*shown, "OK", *([] if done.result is None else [done.result.raw])]


def recv_line(message: Message) -> str:
    """A received message as the module printed it: `+MQTTRECV: 0,1,a/b,5,hello`."""
    payload = message.payload.decode("utf-8", "backslashreplace")
    return (
        f"+MQTTRECV: {message.client_index},{message.packet_id},{message.topic},"
        f"{len(message.payload)},{payload}"
    )


def _publish(line: str, args: str, payload: str) -> Command:
    """`AT+MQTTPUBEX=<idx>,<msgID>,...` with its payload, by the driver's own encoder."""
    fields = split_fields(args)
    if len(fields) != 7:
        raise ValueError(f"{line}: expected AT+MQTTPUBEX={_PUBEX_FIELDS}")
    try:
        index, msg_id, qos, retain, publish_type, length = (
            int(fields[i]) for i in (0, 1, 2, 3, 4, 6)
        )
    except ValueError:
        raise ValueError(f"{line}: expected AT+MQTTPUBEX={_PUBEX_FIELDS}") from None
    data = payload.encode("utf-8")
    if length != len(data):
        raise ValueError(f"{line}: length {length}, but the payload is {len(data)} bytes")
    commands.check_int("retain", retain, limits.FLAGS)
    return commands.publish(
        index, msg_id, fields[5], data, qos=qos, retain=bool(retain), publish_type=publish_type
    )
