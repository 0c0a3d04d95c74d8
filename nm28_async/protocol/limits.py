"""Ranges the manual gives for each argument: the encoders and the virtual modem check them."""

from typing import Final

CLIENT_INDEXES: Final = range(0, 6)
MSG_IDS: Final = range(1, 65536)
QOS_LEVELS: Final = range(0, 3)
PORTS: Final = range(1, 65536)
KEEPALIVE_SECONDS: Final = range(10, 291)
PDP_CIDS: Final = range(1, 17)
SSL_CONTEXTS: Final = range(0, 6)
PKT_TIMEOUT_SECONDS: Final = range(1, 61)
RETRY_COUNTS: Final = range(0, 11)
MQTT_VERSIONS: Final = (3, 4)
PUBLISH_TYPES: Final = range(0, 3)
PAYLOAD_BYTES: Final = range(1, 2049)
MAX_HOST_BYTES: Final = 127
FLAGS: Final = (0, 1)

CTRL_Z: Final = b"\x1a"

DEFAULT_PACKET_TIMEOUT_S: Final = 10
"""The module's packet timeout until `configure(pkt_timeout=...)` says otherwise: the one
value the driver assumes, the virtual NM28 reports and the CLI's help quotes."""
DEFAULT_PACKET_RETRIES: Final = 3


def network_timeout(pkt_timeout: float, retries: int, command_timeout: float) -> float:
    """How long the network may take to answer a command: long enough for the module's own
    retransmissions to run out, plus the time its final code may take."""
    return pkt_timeout * (retries + 1) + command_timeout
