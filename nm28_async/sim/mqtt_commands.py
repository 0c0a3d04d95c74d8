"""The manual's MQTT commands: argument checks, then the answer or the network operation.

Network-bound commands return a :class:`~.replies.Deferred` whose operation talks to the
broker; the interpreter places its result line around ``OK``. While the radio has no PDP
context (coverage lost, the context dropped, the radio off) OPEN answers 3, PDP activation
failed: the step a module takes first when it opens a network. While the MQTT stack is
wedged, every command here answers ``ERROR``.
"""

from __future__ import annotations

import itertools
import ssl
from collections.abc import Callable, Mapping

from ..platforms import onenet
from ..protocol import limits
from ..protocol.codes import CloseResult, ConnackCode, OpenResult, PacketResult, PublishResult
from . import cloud
from .at_syntax import AtLine, LineRejected
from .mqtt_clients import MqttClients
from .radio import Radio
from .replies import (
    Answer,
    Deferred,
    Handler,
    Prompt,
    Publication,
    Reply,
    Table,
    fixed,
    refusal,
)
from .settings import CFG_TEST_LINES, TOPIC_MAX_BYTES

PLATFORM_HOSTS = frozenset({"mqtt.ctwing.cn", "mqtts.heclouds.com", "studio-mqtt.heclouds.com"})
"""Cloud hosts the sim sends to its own broker, so the manual's sessions run offline."""

_TEST_ANSWERS: dict[str, tuple[str, ...]] = {
    "+MQTTOPEN": ("+MQTTOPEN: (0-5),<hostname>,(0-65535)",),
    "+MQTTCLOSE": ("+MQTTCLOSE: (0-5)",),
    "+MQTTCONN": ("+MQTTCONN: (0-5),(clientID),(username),(password)",),
    "+MQTTDISC": ("+MQTTDISC: (0-5)",),
    "+MQTTSUB": ("+MQTTSUB: (0-5),(1-65535),(topic),(0-2)",),
    "+MQTTUNS": ("+MQTTUNS: (0-5),(1-65535),(topic)",),
    "+MQTTPUBEX": ("+MQTTPUBEX: (0-5),(0-65535),(0-2),(0,1),(0-2),(topic),(1-2048)",),
    "+CTWINGPOSTVER": ("+CTWINGPOSTVER: (0-5)",),
    "+MQTTCFG": CFG_TEST_LINES,
}


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


class MqttCommands:
    """Handlers of the MQTT commands on the six clients; ``progress`` prints a retransmission
    line the moment it happens (the one thing said while an operation runs)."""

    def __init__(
        self,
        clients: MqttClients,
        radio: Radio,
        broker: tuple[str, int],
        tls_contexts: Mapping[int, ssl.SSLContext],
        progress: Callable[[str], None],
    ) -> None:
        self._c = clients
        self._radio = radio
        self._broker = broker
        self._tls = tls_contexts
        self._say = progress
        self._dp_ids = itertools.count(1)

    def table(self) -> Table:
        handlers: dict[str, Handler] = {
            "AT+MQTTCFG?": self._cfg_read,
            "AT+MQTTCFG=": self._cfg_set,
            "AT+MQTTOPEN?": self._open_read,
            "AT+MQTTCONN?": self._conn_read,
            "AT+MQTTOPEN=": self._open,
            "AT+MQTTCLOSE=": self._close,
            "AT+MQTTCONN=": self._conn,
            "AT+MQTTDISC=": self._disc,
            "AT+MQTTSUB=": self._sub,
            "AT+MQTTUNS=": self._uns,
            "AT+MQTTPUBEX=": self._pubex,
            "AT+CTWINGPOSTVER=": self._postver,
        }
        for name, lines in _TEST_ANSWERS.items():
            handlers[f"AT{name}=?"] = fixed(*lines)
        return {head: self._unless_wedged(handler) for head, handler in handlers.items()}

    def _unless_wedged(self, handler: Handler) -> Handler:
        def guarded(cmd: AtLine) -> Reply:
            if self._radio.wedged:
                raise LineRejected("the MQTT stack is wedged")
            return handler(cmd)

        return guarded

    def _progress(self, name: str, *head: int) -> Callable[[int], None]:
        """The ``<result>`` 1 (retransmitting) line, with the retry count as ``<value>``."""
        return lambda retry: self._say(
            self._c.result(name, *head, PacketResult.RETRANSMITTING, retry)
        )

    # queries and configuration ---------------------------------------------------------

    def _cfg_read(self, cmd: AtLine) -> Reply:
        blocks = [line for i, cfg in enumerate(self._c.cfgs) for line in cfg.query_block(i)]
        return Answer((*blocks, "OK"))

    def _cfg_set(self, cmd: AtLine) -> Reply:
        cmd.count(3, 7)
        cmd.str_at(0)
        self._c.cfgs[cmd.int_at(1, limits.CLIENT_INDEXES)].apply(cmd)
        return Answer(("OK",))

    def _open_read(self, cmd: AtLine) -> Reply:
        opened = sorted(self._c.open_addresses.items())
        return Answer((*(f'+MQTTOPEN: {i},"{host}",{port}' for i, (host, port) in opened), "OK"))

    def _conn_read(self, cmd: AtLine) -> Reply:
        links = enumerate(self._c.links)
        return Answer((*(f"+MQTTCONN: {i},{int(link.connected)}" for i, link in links), "OK"))

    # the network ------------------------------------------------------------------------

    def _open(self, cmd: AtLine) -> Reply:
        cmd.count(3, 3)
        idx = cmd.int_at(0, limits.CLIENT_INDEXES)
        c, link, cfg = self._c, self._c.links[idx], self._c.cfgs[idx]
        try:
            host = cmd.str_at(1, max_bytes=limits.MAX_HOST_BYTES, allow_empty=False)
            port = cmd.int_at(2, limits.PORTS)
        except LineRejected:
            return refusal(c.result("MQTTOPEN", idx, OpenResult.BAD_PARAMETER))

        async def operation() -> list[str]:
            if link.is_open or idx in c.busy:
                return [c.result("MQTTOPEN", idx, OpenResult.IN_USE)]
            if not self._radio.pdp_active:
                return [c.result("MQTTOPEN", idx, OpenResult.PDP_FAILED)]
            tls = None
            if cfg.ssl_enable:
                tls = self._tls.get(cfg.ssl_ctx)
                if tls is None:
                    return [c.result("MQTTOPEN", idx, OpenResult.FAILED)]
            target = self._broker if host.lower() in PLATFORM_HOSTS else (host, port)
            with c.busy_while(idx):
                result = await link.open(*target, tls=tls, timeout=cfg.pkt_timeout)
            if result is OpenResult.OK and not self._radio.pdp_active:  # lost while dialling
                await link.close()
                result = OpenResult.PDP_FAILED
            if result is OpenResult.OK:
                c.open_addresses[idx] = (host, port)
            return [c.result("MQTTOPEN", idx, result)]

        return Deferred(operation)

    def _close(self, cmd: AtLine) -> Reply:
        cmd.count(1, 1)
        idx = cmd.int_at(0, limits.CLIENT_INDEXES)

        async def operation() -> list[str]:
            closed = await self._c.links[idx].close()
            self._c.open_addresses.pop(idx, None)
            result = CloseResult.OK if closed else CloseResult.FAILED
            return [self._c.result("MQTTCLOSE", idx, result)]

        return Deferred(operation)

    def _conn(self, cmd: AtLine) -> Reply:
        cmd.count(2, 4)
        idx = cmd.int_at(0, limits.CLIENT_INDEXES)
        client_id = cmd.str_at(1)
        username = cmd.str_at(2) if len(cmd.args) > 2 else ""
        password = cmd.str_at(3) if len(cmd.args) > 3 else ""
        c, link, cfg = self._c, self._c.links[idx], self._c.cfgs[idx]
        if not link.is_open or link.connected or idx in c.busy:
            raise LineRejected("client not open, or already connected")
        if not client_id and not cfg.clean_session:
            raise LineRejected("a kept session needs a client id")

        async def operation() -> list[str]:
            code = None
            if self._radio.pdp_active:
                with c.busy_while(idx):
                    progress = self._progress("MQTTCONN", idx)
                    code = await link.connect(client_id, username, password, cfg, progress)
            result = PacketResult.SEND_FAILED if code is None else PacketResult.ACKED
            # the manual's set-command answer always has three fields; ret_code 0 when no
            # CONNACK came (a two-field line would read as the query's <idx>,<state>)
            return [c.result("MQTTCONN", idx, result, code or ConnackCode.ACCEPTED)]

        return Deferred(operation)

    def _disc(self, cmd: AtLine) -> Reply:
        cmd.count(1, 1)
        idx = cmd.int_at(0, limits.CLIENT_INDEXES)

        async def operation() -> list[str]:
            done = await self._c.links[idx].disconnect(self._c.cfgs[idx].pkt_timeout)
            result = CloseResult.OK if done else CloseResult.FAILED
            return [self._c.result("MQTTDISC", idx, result)]

        return Deferred(operation)

    def _sub(self, cmd: AtLine) -> Reply:
        cmd.count(4, 4)
        idx, msg_id, topic = _filter_args(cmd)
        qos = cmd.int_at(3, limits.QOS_LEVELS)

        async def operation() -> list[str]:
            progress = self._progress("MQTTSUB", idx, msg_id)
            granted = await self._c.links[idx].subscribe(topic, qos, self._c.cfgs[idx], progress)
            if granted is not None and granted in limits.QOS_LEVELS:
                return [self._c.result("MQTTSUB", idx, msg_id, PacketResult.ACKED, granted)]
            return [self._c.result("MQTTSUB", idx, msg_id, PacketResult.SEND_FAILED)]

        return Deferred(operation)

    def _uns(self, cmd: AtLine) -> Reply:
        cmd.count(3, 3)
        idx, msg_id, topic = _filter_args(cmd)

        async def operation() -> list[str]:
            progress = self._progress("MQTTUNS", idx, msg_id)
            acked = await self._c.links[idx].unsubscribe(topic, self._c.cfgs[idx], progress)
            result = PacketResult.SEND_FAILED if acked is None else PacketResult.ACKED
            return [self._c.result("MQTTUNS", idx, msg_id, result)]

        return Deferred(operation)

    def _pubex(self, cmd: AtLine) -> Reply:
        """Check the arguments; the prompt and data mode follow."""
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
        if not self._c.links[idx].connected:
            raise LineRejected("client not connected")
        return Prompt(Publication(idx, msg_id, qos, retain, kind, topic, length))

    def publish(self, p: Publication, payload: bytes, stray_line_end: bool) -> Reply:
        """The payload of an accepted PUBEX came: publish it (type 1/2: as OneNet data points).

        A CR/LF beyond the declared length fails it, as the manual warns.
        """
        c, link, cfg = self._c, self._c.links[p.idx], self._c.cfgs[p.idx]
        if stray_line_end:
            failed = [PublishResult.FAILED] * (2 if p.kind == 2 else 1)
            return refusal(c.result("MQTTPUBEX", p.idx, p.msg_id, *failed))
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
            return [c.result("MQTTPUBEX", p.idx, p.msg_id, *results)]

        return Deferred(operation)

    def _postver(self, cmd: AtLine) -> Reply:
        cmd.count(1, 1)
        idx = cmd.int_at(0, limits.CLIENT_INDEXES)
        link, cfg = self._c.links[idx], self._c.cfgs[idx]

        async def operation() -> list[str]:
            report = cloud.ctwing_version_report()
            sent = await link.publish(cloud.CTWING_VERSION_TOPIC, report, 1, False, cfg, _silent)
            granted = (
                await link.subscribe(cloud.CTWING_UPGRADE_TOPIC, 1, cfg, _silent) if sent else None
            )
            ok = granted in limits.QOS_LEVELS
            result = PublishResult.OK if ok else PublishResult.FAILED
            return [self._c.result("CTWINGPOSTVER", result)]

        return Deferred(operation)
