"""Per-client ``AT+MQTTCFG`` settings: defaults, the set command and the query block."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

from ..protocol import limits
from .at_syntax import AtLine, LineRejected

TOPIC_MAX_BYTES = 65535


_SINGLE_VALUE: dict[str, tuple[str, Container[int]]] = {
    "version": ("version", limits.MQTT_VERSIONS),
    "pdpcid": ("pdpcid", limits.PDP_CIDS),
    "keepalive": ("keepalive", limits.KEEPALIVE_SECONDS),
    "session": ("clean_session", limits.FLAGS),
    "cached": ("cached", limits.FLAGS),
}
"""``AT+MQTTCFG`` parameters that set one number: the field it goes to, and its range."""


@dataclass(slots=True)
class ClientSettings:
    """What ``AT+MQTTCFG`` sets for one client index.

    Defaults are the manual's where it gives one (keepalive 120, retry 3), the project's
    shared packet timeout (``limits.DEFAULT_PACKET_TIMEOUT_S``, which the driver assumes too)
    and common module defaults otherwise (MQTT 3.1.1, clean session, payload in the URC
    with its length).
    """

    version: int = 4
    pdpcid: int = 1
    ssl_enable: int = 0
    ssl_ctx: int = 0
    keepalive: int = 120
    clean_session: int = 1
    pkt_timeout: int = limits.DEFAULT_PACKET_TIMEOUT_S
    retry: int = limits.DEFAULT_PACKET_RETRIES
    timeout_notice: int = 0
    will_flag: int = 0
    will_qos: int = 0
    will_retain: int = 0
    will_topic: str = ""
    will_msg: str = ""
    rcv_mode: int = 0
    len_enable: int = 1
    cached: int = 0

    def apply(self, cmd: AtLine) -> None:
        """Apply ``AT+MQTTCFG="<param>",<idx>,<values>`` (args after the index).

        Trailing values the manual lists after the first may be omitted and keep
        their current setting, except the will's topic and message when the flag is 1.
        """
        param = cmd.args[0]
        flags = limits.FLAGS
        if param in _SINGLE_VALUE:
            field, valid = _SINGLE_VALUE[param]
            cmd.count(3, 3)
            setattr(self, field, cmd.int_at(2, valid))
        elif param == "ssl":
            cmd.count(3, 4)
            self.ssl_enable = cmd.int_at(2, flags)
            self.ssl_ctx = cmd.opt_int_at(3, limits.SSL_CONTEXTS, self.ssl_ctx)
        elif param == "timeout":
            cmd.count(3, 5)
            pkt_timeout = cmd.int_at(2, limits.PKT_TIMEOUT_SECONDS)
            retry = cmd.opt_int_at(3, limits.RETRY_COUNTS, self.retry)
            notice = cmd.opt_int_at(4, flags, self.timeout_notice)
            self.pkt_timeout, self.retry, self.timeout_notice = pkt_timeout, retry, notice
        elif param == "will":
            self._apply_will(cmd)
        elif param == "recv/mode":
            cmd.count(3, 4)
            mode = cmd.int_at(2, flags)
            self.len_enable = cmd.opt_int_at(3, flags, self.len_enable)
            self.rcv_mode = mode
        else:
            raise LineRejected("unknown MQTTCFG parameter")

    def _apply_will(self, cmd: AtLine) -> None:
        cmd.count(3, 7)
        flag = cmd.int_at(2, limits.FLAGS)
        if flag == 0 and len(cmd.args) == 3:
            self.will_flag = 0
            return
        cmd.count(7, 7)
        qos = cmd.int_at(3, limits.QOS_LEVELS)
        retain = cmd.int_at(4, limits.FLAGS)
        topic = cmd.str_at(5, max_bytes=TOPIC_MAX_BYTES, allow_empty=flag == 0)
        message = cmd.str_at(6)
        if flag and any(c in topic for c in "+#"):
            raise LineRejected("will topic cannot hold wildcards")
        self.will_flag, self.will_qos, self.will_retain = flag, qos, retain
        self.will_topic, self.will_msg = topic, message

    def query_block(self, index: int) -> list[str]:
        """The manual's ``AT+MQTTCFG?`` block for this client, line by line."""
        return [
            f"+MQTTCFG: {index}",
            f"version:{self.version}",
            f"pdpcid:{self.pdpcid}",
            f"sslenable:{self.ssl_enable} ssictx_id:{self.ssl_ctx}",
            f"keepalive:{self.keepalive}",
            f"session:{self.clean_session}",
            f"pkt_timeout:{self.pkt_timeout}",
            f"retry_time:{self.retry}",
            f"timeout_notice:{self.timeout_notice}",
            f"will_fg:{self.will_flag} will_qos:{self.will_qos}",
            f"will_retain: {self.will_retain}",
            f'will_topic:"{self.will_topic}"',
            f'will_msg:"{self.will_msg}"',
            f"msg_rcv_mode:{self.rcv_mode}",
            f"msg_len_enable:{self.len_enable}",
            # The manual gives no set syntax for the Aliyun triple: it stays empty.
            'product_key:""device_name:""device_secret:""',
        ]


CFG_TEST_LINES = (
    '+MQTTCFG: "version",(0-5),(3,4)',
    '+MQTTCFG: "pdpcid",(0-5),(1-16)',
    '+MQTTCFG: "ssl",(0-5),(0,1),(0-5)',
    '+MQTTCFG: "keepalive",(0-5),(10-290)',
    '+MQTTCFG: "session",(0-5),(0,1)',
    '+MQTTCFG: "timeout",(0-5),(1-60),(0-10),(0,1)',
    '+MQTTCFG: "will",(0-5),(0,1),(0-2),(0,1),<willtopic>,<willmessage>',
    '+MQTTCFG: "recv/mode",(0-5),(0,1),(0,1)',
    '+MQTTCFG: "cached",(0-5),(0,1)',
)
"""``AT+MQTTCFG=?``: the manual's answer with its spacing made uniform; the retry range is
the parameter table's 0-10 (the manual's test answer says 1-10, its table 0-10)."""
