"""The module's AT command interpreter: one command at a time, answers framed as the manual shows.

Network-bound commands run an *operation* whose result line is printed before ``OK``
(the manual's order) or, with ``result_after_ok``, after it from a task of the interpreter's
task group, so the AT channel is free while the broker answers. What the host's next bytes
are is explicit state (:class:`InputMode`): command lines, or the counted payload of an
``AT+MQTTPUBEX`` whose prompt was printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import logging
import ssl
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass

from ..platforms import onenet
from ..protocol import limits
from ..protocol.codes import (
    CloseResult,
    ConnackCode,
    LinkLost,
    OpenResult,
    PacketResult,
    PublishResult,
)
from . import cloud
from .at_syntax import AtForm, AtLine, LineRejected, parse_line
from .lifecycle import TASK_PREFIX
from .mqtt_link import Incoming, MqttLink
from .settings import CFG_TEST_LINES, TOPIC_MAX_BYTES, ClientSettings
from .wire import HostInput, HostOutput

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 4096
PAYLOAD_IDLE_TIMEOUT = 10.0
"""Seconds of silence after which a half-sent PUBEX payload is abandoned with ERROR."""

CACHED_MESSAGES = 100
"""Messages a client with ``"cached",1`` keeps while no host is attached (TCP serving)."""

PLATFORM_HOSTS = frozenset({"mqtt.ctwing.cn", "mqtts.heclouds.com", "studio-mqtt.heclouds.com"})
"""Cloud hosts the sim sends to its own broker, so the manual's sessions run offline."""

PROMPTS = {"CONNECT": b"\r\nCONNECT\r\n", ">": b"\r\n> "}
"""What precedes a PUBEX payload: the manual's ``CONNECT`` line, or the ``> `` of other
firmware, which (as Quectel's and SIMCom's modules print it) ends no line."""

_TEST_ANSWERS = {
    "+MQTTOPEN": "+MQTTOPEN: (0-5),<hostname>,(0-65535)",
    "+MQTTCLOSE": "+MQTTCLOSE: (0-5)",
    "+MQTTCONN": "+MQTTCONN: (0-5),(clientID),(username),(password)",
    "+MQTTDISC": "+MQTTDISC: (0-5)",
    "+MQTTSUB": "+MQTTSUB: (0-5),(1-65535),(topic),(0-2)",
    "+MQTTUNS": "+MQTTUNS: (0-5),(1-65535),(topic)",
    "+MQTTPUBEX": "+MQTTPUBEX: (0-5),(0-65535),(0-2),(0,1),(0-2),(topic),(1-2048)",
    "+CTWINGPOSTVER": "+CTWINGPOSTVER: (0-5)",
    "+CSQ": "+CSQ: (0-31,99),(99)",
}

_IDENTITY = {
    "+CGMI": ["Yuge"],
    "+CGMM": ["NM28"],
    "+CGMR": [cloud.FIRMWARE_VERSION],
    "+CSQ": ["+CSQ: 24,99"],
}

Operation = Callable[[], Awaitable[list[str]]]


def frame(*lines: str | bytes) -> bytes:
    """``\\r\\n<line>\\r\\n`` for each line, as one write so nothing interleaves inside."""
    return b"".join(b"\r\n" + (x.encode() if isinstance(x, str) else x) + b"\r\n" for x in lines)


def _check_topic_name(topic: str) -> None:
    if not topic or any(c in topic for c in "+#\0"):
        raise LineRejected("not a topic name")


def _check_topic_filter(topic: str) -> None:
    levels = topic.split("/")
    if not topic or "\0" in topic:
        raise LineRejected("empty topic filter")
    for i, level in enumerate(levels):
        if ("#" in level and (level != "#" or i != len(levels) - 1)) or (
            "+" in level and level != "+"
        ):
            raise LineRejected("bad wildcard in topic filter")


def _filter_args(cmd: AtLine) -> tuple[int, int, str]:
    """``AT+MQTTSUB``/``AT+MQTTUNS``'s ``<idx>,<msgID>,<topic filter>``."""
    idx = cmd.int_at(0, limits.CLIENT_INDEXES)
    msg_id = cmd.int_at(1, limits.MSG_IDS)
    topic = cmd.str_at(2, max_bytes=TOPIC_MAX_BYTES)
    _check_topic_filter(topic)
    return idx, msg_id, topic


def _silent(_retry: int) -> None:
    """Progress sink for CTWINGPOSTVER, whose answer has no progress form."""


@dataclass(frozen=True, slots=True)
class Knobs:
    """Behaviour switches that make the sim a test bench (see ``VirtualModem``)."""

    result_after_ok: bool = False
    network_latency: float = 0.0
    command_latency: float = 0.0
    prompt_latency: float = 0.0
    echo: bool = True
    spaced_results: bool = False
    quoted_recv: bool = False
    prompt: str = "CONNECT"
    link_lost_urc: bool = False

    def __post_init__(self) -> None:
        if min(self.network_latency, self.command_latency, self.prompt_latency) < 0:
            raise ValueError("latencies cannot be negative")
        if self.prompt not in PROMPTS:
            raise ValueError(f"prompt must be one of {sorted(PROMPTS)}, got {self.prompt!r}")


class InputMode(enum.Enum):
    """What the module makes of the host's next bytes."""

    COMMAND = "command"
    """Command lines, each ended by CR or LF."""
    PAYLOAD = "payload"
    """Data mode after the prompt: exactly the declared length of a PUBEX payload."""


@dataclass(frozen=True, slots=True)
class Publication:
    """An ``AT+MQTTPUBEX`` whose arguments were accepted and whose payload is awaited."""

    idx: int
    msg_id: int
    qos: int
    retain: bool
    kind: int
    topic: str
    length: int


class AtInterpreter:
    """State of the module (six clients, their settings, echo, input mode) and its command loop.

    One power cycle: :meth:`run` serves the host until cancelled, then :meth:`shutdown` cuts
    the links. Results printed after ``OK`` run in the interpreter's own task group, so they
    end with it.
    """

    def __init__(
        self,
        host_in: HostInput,
        host_out: HostOutput,
        knobs: Knobs,
        broker: tuple[str, int],
        tls_contexts: Mapping[int, ssl.SSLContext],
        received: Counter[str],
    ) -> None:
        self._in = host_in
        self._out = host_out
        self._knobs = knobs
        self._broker = broker
        self._tls = tls_contexts
        self._received = received
        self.echo = knobs.echo
        self._cfgs = [ClientSettings() for _ in limits.CLIENT_INDEXES]
        self._links = [MqttLink(self._receiver(i), self._lost(i)) for i in limits.CLIENT_INDEXES]
        self._open_addresses: dict[int, tuple[str, int]] = {}  # as AT+MQTTOPEN gave them
        self._busy: set[int] = set()  # indexes with an OPEN or CONN under way
        self._publication: Publication | None = None  # set in data mode
        self._group = asyncio.TaskGroup()
        self._cache: deque[bytes] = deque(maxlen=CACHED_MESSAGES)
        self._dp_ids = itertools.count(1)

    @property
    def mode(self) -> InputMode:
        return InputMode.COMMAND if self._publication is None else InputMode.PAYLOAD

    # lifecycle --------------------------------------------------------------------

    async def run(self) -> None:
        """Read and execute what the host sends, in the current input mode, until cancelled."""
        async with self._group:
            while True:
                if self._publication is None:
                    await self._command()
                else:
                    await self._payload(self._publication)

    async def shutdown(self) -> None:
        """Power off once :meth:`run` has ended: cut every client's link."""
        await asyncio.gather(*(link.close() for link in self._links))

    def drop_link(self, index: int) -> bool:
        return self._links[index].drop()

    def host_attached(self) -> None:
        """A host connected: hand over what ``cached`` clients kept meanwhile."""
        while self._cache:
            self._write(self._cache.popleft())

    # input ---------------------------------------------------------------------------

    async def _command(self) -> None:
        line = await self._in.read_line(MAX_LINE_BYTES)
        if line is None:
            self._write(frame("ERROR"))
            return
        line = line.lstrip(b"\x1a\x00 ")  # a Ctrl-Z after a payload, a UART's wake-up NULs
        if not line:
            return
        if self.echo:
            self._write(line + b"\r")
        if self._knobs.command_latency:
            await asyncio.sleep(self._knobs.command_latency)
        try:
            cmd = parse_line(line)
            log.debug("command %s", cmd.head)
            self._received[cmd.head] += 1
            await self._execute(cmd)
        except LineRejected as exc:
            log.debug("ERROR: %s", exc)
            self._write(frame("ERROR"))

    async def _payload(self, publication: Publication) -> None:
        """Data mode: the declared number of bytes, then command mode again, whatever came."""
        try:
            payload = await self._in.read_exactly(publication.length, PAYLOAD_IDLE_TIMEOUT)
        finally:
            self._publication = None
        if payload is None:
            self._write(frame("ERROR"))
        else:
            await self._publish(publication, payload)

    # output ------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        self._out.write(data)

    def _result(self, name: str, *fields: int) -> str:
        """A result line as the manual's example prints it (``+MQTTOPEN:0,0``), or with a
        space after the colon (``spaced_results``)."""
        colon = ": " if self._knobs.spaced_results else ":"
        return f"+{name}{colon}{','.join(str(int(f)) for f in fields)}"

    def _receiver(self, index: int) -> Callable[[Incoming], None]:
        def receive(message: Incoming) -> None:
            cfg = self._cfgs[index]
            quote = b'"' if self._knobs.quoted_recv else b""
            fields = [b"%d" % index, b"%d" % message.packet_id, quote + message.topic + quote]
            if cfg.len_enable:
                fields.append(b"%d" % len(message.payload))
            if cfg.rcv_mode == 0:
                fields.append(quote + message.payload + quote)
            body = frame(b"+MQTTRECV: " + b",".join(fields))
            if cfg.cached and not self._out.attached:
                self._cache.append(body)
            else:
                self._write(body)

        return receive

    def _lost(self, index: int) -> Callable[[LinkLost], None]:
        def report(cause: LinkLost) -> None:
            if self._knobs.link_lost_urc:
                self._write(frame(f"+MQTTSTAT: {index},{int(cause)}"))

        return report

    async def _complete(self, operation: Operation, *, over_network: bool = True) -> None:
        """Print the operation's result line(s) and OK in the configured order.

        A network-bound operation takes ``network_latency`` longer: in the manual's order
        the result line and ``OK`` both wait for it, as on a slow cellular link.
        """
        if self._knobs.network_latency and over_network:
            operation = self._slowed(operation, self._knobs.network_latency)
        if not self._knobs.result_after_ok:
            self._write(frame(*await operation(), "OK"))
            return
        self._write(frame("OK"))
        self._group.create_task(self._late(operation), name=f"{TASK_PREFIX}late result")

    @staticmethod
    def _slowed(operation: Operation, latency: float) -> Operation:
        async def slowed() -> list[str]:
            lines = await operation()
            await asyncio.sleep(latency)
            return lines

        return slowed

    async def _late(self, operation: Operation) -> None:
        self._write(frame(*await operation()))

    def _progress(self, name: str, *head: int) -> Callable[[int], None]:
        """The ``<result>`` 1 (retransmitting) line, with the retry count as ``<value>``."""
        return lambda retry: self._write(
            frame(self._result(name, *head, PacketResult.RETRANSMITTING, retry))
        )

    @contextlib.contextmanager
    def _busy_while(self, idx: int) -> Iterator[None]:
        """Mark client ``idx`` busy (an OPEN or CONN under way) for the block."""
        self._busy.add(idx)
        try:
            yield
        finally:
            self._busy.discard(idx)

    # dispatch ----------------------------------------------------------------------

    async def _execute(self, cmd: AtLine) -> None:
        if cmd.name == "":
            self._write(frame("OK"))
        elif cmd.name == "E":
            cmd.count(0, 1)
            self.echo = cmd.opt_int_at(0, limits.FLAGS, 0) == 1
            self._write(frame("OK"))
        elif cmd.name == "I" and not cmd.args:
            self._write(frame("Yuge", "NM28", f"Revision: {cloud.FIRMWARE_VERSION}", "OK"))
        elif cmd.form is AtForm.TEST and cmd.name in _TEST_ANSWERS:
            self._write(frame(_TEST_ANSWERS[cmd.name], "OK"))
        elif cmd.form is AtForm.EXEC and cmd.name in _IDENTITY:
            self._write(frame(*_IDENTITY[cmd.name], "OK"))
        elif cmd.name == "+MQTTCFG":
            self._mqttcfg(cmd)
        elif cmd.form is AtForm.READ and cmd.name == "+MQTTOPEN":
            opened = sorted(self._open_addresses.items())
            lines = [f'+MQTTOPEN: {i},"{host}",{port}' for i, (host, port) in opened]
            self._write(frame(*lines, "OK"))
        elif cmd.form is AtForm.READ and cmd.name == "+MQTTCONN":
            lines = [f"+MQTTCONN: {i},{int(link.connected)}" for i, link in enumerate(self._links)]
            self._write(frame(*lines, "OK"))
        elif cmd.form is AtForm.SET and cmd.name in self._SETTERS:
            await self._SETTERS[cmd.name](self, cmd)
        else:
            raise LineRejected("unsupported command")

    def _mqttcfg(self, cmd: AtLine) -> None:
        if cmd.form is AtForm.TEST:
            self._write(frame(*CFG_TEST_LINES, "OK"))
        elif cmd.form is AtForm.READ:
            blocks = [line for i, cfg in enumerate(self._cfgs) for line in cfg.query_block(i)]
            self._write(frame(*blocks, "OK"))
        elif cmd.form is AtForm.SET:
            cmd.count(3, 7)
            cmd.str_at(0)
            self._cfgs[cmd.int_at(1, limits.CLIENT_INDEXES)].apply(cmd)
            self._write(frame("OK"))
        else:
            raise LineRejected("AT+MQTTCFG needs arguments")

    # MQTT set commands ---------------------------------------------------------------

    async def _open(self, cmd: AtLine) -> None:
        cmd.count(3, 3)
        idx = cmd.int_at(0, limits.CLIENT_INDEXES)
        link, cfg = self._links[idx], self._cfgs[idx]
        try:
            host = cmd.str_at(1, max_bytes=limits.MAX_HOST_BYTES, allow_empty=False)
            port = cmd.int_at(2, limits.PORTS)
        except LineRejected:
            refusal = self._answer(self._result("MQTTOPEN", idx, OpenResult.BAD_PARAMETER))
            await self._complete(refusal, over_network=False)
            return

        async def operation() -> list[str]:
            if link.is_open or idx in self._busy:
                return [self._result("MQTTOPEN", idx, OpenResult.IN_USE)]
            tls = None
            if cfg.ssl_enable:
                tls = self._tls.get(cfg.ssl_ctx)
                if tls is None:
                    return [self._result("MQTTOPEN", idx, OpenResult.FAILED)]
            target = self._broker if host.lower() in PLATFORM_HOSTS else (host, port)
            with self._busy_while(idx):
                result = await link.open(*target, tls=tls, timeout=cfg.pkt_timeout)
            if result is OpenResult.OK:
                self._open_addresses[idx] = (host, port)
            return [self._result("MQTTOPEN", idx, result)]

        await self._complete(operation)

    async def _close(self, cmd: AtLine) -> None:
        cmd.count(1, 1)
        idx = cmd.int_at(0, limits.CLIENT_INDEXES)

        async def operation() -> list[str]:
            closed = await self._links[idx].close()
            self._open_addresses.pop(idx, None)
            result = CloseResult.OK if closed else CloseResult.FAILED
            return [self._result("MQTTCLOSE", idx, result)]

        await self._complete(operation)

    async def _conn(self, cmd: AtLine) -> None:
        cmd.count(2, 4)
        idx = cmd.int_at(0, limits.CLIENT_INDEXES)
        client_id = cmd.str_at(1)
        username = cmd.str_at(2) if len(cmd.args) > 2 else ""
        password = cmd.str_at(3) if len(cmd.args) > 3 else ""
        link, cfg = self._links[idx], self._cfgs[idx]
        if not link.is_open or link.connected or idx in self._busy:
            raise LineRejected("client not open, or already connected")
        if not client_id and not cfg.clean_session:
            raise LineRejected("a kept session needs a client id")

        async def operation() -> list[str]:
            with self._busy_while(idx):
                code = await link.connect(
                    client_id, username, password, cfg, self._progress("MQTTCONN", idx)
                )
            result = PacketResult.SEND_FAILED if code is None else PacketResult.ACKED
            # the manual's set-command answer always has three fields; ret_code 0 when no
            # CONNACK came (a two-field line would read as the query's <idx>,<state>)
            return [self._result("MQTTCONN", idx, result, code or ConnackCode.ACCEPTED)]

        await self._complete(operation)

    async def _disc(self, cmd: AtLine) -> None:
        cmd.count(1, 1)
        idx = cmd.int_at(0, limits.CLIENT_INDEXES)

        async def operation() -> list[str]:
            done = await self._links[idx].disconnect(self._cfgs[idx].pkt_timeout)
            return [self._result("MQTTDISC", idx, CloseResult.OK if done else CloseResult.FAILED)]

        await self._complete(operation)

    async def _sub(self, cmd: AtLine) -> None:
        cmd.count(4, 4)
        idx, msg_id, topic = _filter_args(cmd)
        qos = cmd.int_at(3, limits.QOS_LEVELS)

        async def operation() -> list[str]:
            granted = await self._links[idx].subscribe(
                topic, qos, self._cfgs[idx], self._progress("MQTTSUB", idx, msg_id)
            )
            if granted is not None and granted in limits.QOS_LEVELS:
                return [self._result("MQTTSUB", idx, msg_id, PacketResult.ACKED, granted)]
            return [self._result("MQTTSUB", idx, msg_id, PacketResult.SEND_FAILED)]

        await self._complete(operation)

    async def _uns(self, cmd: AtLine) -> None:
        cmd.count(3, 3)
        idx, msg_id, topic = _filter_args(cmd)

        async def operation() -> list[str]:
            acked = await self._links[idx].unsubscribe(
                topic, self._cfgs[idx], self._progress("MQTTUNS", idx, msg_id)
            )
            result = PacketResult.SEND_FAILED if acked is None else PacketResult.ACKED
            return [self._result("MQTTUNS", idx, msg_id, result)]

        await self._complete(operation)

    async def _pubex(self, cmd: AtLine) -> None:
        """Check the arguments, then print the prompt and enter data mode."""
        cmd.count(7, 7)
        idx = cmd.int_at(0, limits.CLIENT_INDEXES)
        qos = cmd.int_at(2, limits.QOS_LEVELS)
        msg_id = cmd.int_at(1, range(0, 65536) if qos == 0 else limits.MSG_IDS)
        retain = cmd.int_at(3, limits.FLAGS) == 1
        kind = cmd.int_at(4, limits.PUBLISH_TYPES)
        topic = cmd.str_at(5, max_bytes=TOPIC_MAX_BYTES)
        if kind != 1:
            _check_topic_name(topic)
        length = cmd.int_at(6, limits.PAYLOAD_BYTES)
        if not self._links[idx].connected:
            raise LineRejected("client not connected")
        if self._knobs.prompt_latency:
            await asyncio.sleep(self._knobs.prompt_latency)
        self._in.clear()  # what came before the prompt is not payload
        self._publication = Publication(idx, msg_id, qos, retain, kind, topic, length)
        self._write(PROMPTS[self._knobs.prompt])

    async def _publish(self, publication: Publication, payload: bytes) -> None:
        p = publication
        link, cfg = self._links[p.idx], self._cfgs[p.idx]
        if self._uncounted_line_end():
            failed = [PublishResult.FAILED] * (2 if p.kind == 2 else 1)
            refusal = self._answer(self._result("MQTTPUBEX", p.idx, p.msg_id, *failed))
            await self._complete(refusal, over_network=False)
            return
        progress = self._progress("MQTTPUBEX", p.idx, p.msg_id)

        async def operation() -> list[str]:
            results: list[PublishResult] = []
            if p.kind in (0, 2):
                sent = await link.publish(p.topic, payload, p.qos, p.retain, cfg, progress)
                results.append(PublishResult.OK if sent else PublishResult.FAILED)
            if p.kind in (1, 2):
                body = cloud.onenet_data_point_message(next(self._dp_ids), payload)
                dp_topic = onenet.data_point_topic(link.username, link.client_id)
                sent = body is not None and await link.publish(
                    dp_topic, body, p.qos, False, cfg, progress
                )
                results.append(PublishResult.OK if sent else PublishResult.FAILED)
            return [self._result("MQTTPUBEX", p.idx, p.msg_id, *results)]

        await self._complete(operation)

    def _uncounted_line_end(self) -> bool:
        """After the payload: swallow a Ctrl-Z; a CR/LF that arrived with it fails the publish.

        The manual: a trailing CR LF not counted in ``<length>`` makes the send fail. Only
        bytes that already arrived are judged; a CR/LF arriving later is an empty line.
        """
        tail = self._in.pending()[:3]
        stray = len(tail) - len(tail.lstrip(b"\r\n"))
        if tail[stray : stray + 1] == limits.CTRL_Z:
            self._in.discard(stray + 1)
        else:
            self._in.discard(stray)
        return stray > 0

    async def _postver(self, cmd: AtLine) -> None:
        cmd.count(1, 1)
        idx = cmd.int_at(0, limits.CLIENT_INDEXES)
        link, cfg = self._links[idx], self._cfgs[idx]

        async def operation() -> list[str]:
            report = cloud.ctwing_version_report()
            sent = await link.publish(cloud.CTWING_VERSION_TOPIC, report, 1, False, cfg, _silent)
            granted = (
                await link.subscribe(cloud.CTWING_UPGRADE_TOPIC, 1, cfg, _silent) if sent else None
            )
            ok = granted in limits.QOS_LEVELS
            return [self._result("CTWINGPOSTVER", PublishResult.OK if ok else PublishResult.FAILED)]

        await self._complete(operation)

    @staticmethod
    def _answer(*lines: str) -> Operation:
        async def operation() -> list[str]:
            return list(lines)

        return operation

    _SETTERS: Mapping[str, Callable[[AtInterpreter, AtLine], Awaitable[None]]] = {
        "+MQTTOPEN": _open,
        "+MQTTCLOSE": _close,
        "+MQTTCONN": _conn,
        "+MQTTDISC": _disc,
        "+MQTTSUB": _sub,
        "+MQTTUNS": _uns,
        "+MQTTPUBEX": _pubex,
        "+CTWINGPOSTVER": _postver,
    }
