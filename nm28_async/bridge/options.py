"""The bridge's options: every one a flag and a key of `--config FILE.toml`, checked before the
port opens (a bad one is a ValueError, which the command turns into exit 2).

Topic mappings are mosquitto's bridge `topic` lines: a pattern, a direction (`out`: local to
cloud, `in`: cloud to local, `both`), a QoS, and a local and a remote prefix. A local topic
`LOCAL_PREFIX + rest`, where `pattern` matches `rest`, is the cloud's `REMOTE_PREFIX + rest`,
and the other way round. `--forward F` is `topic F out 1`, `--receive F` is `topic F in 1`.
"""

from __future__ import annotations

import enum
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..overflow import Overflow
from ..protocol import commands, limits
from ..protocol.broker_url import BrokerUrl
from ..protocol.topics import topic_matches
from ..session import Backoff, ConnectionParams


class Direction(enum.Enum):
    OUT = "out"
    """Local to cloud (`--forward`)."""
    IN = "in"
    """Cloud to local (`--receive`)."""
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class Route:
    """One mosquitto-style `topic` line."""

    pattern: str
    direction: Direction = Direction.OUT
    qos: int = 1
    local_prefix: str = ""
    remote_prefix: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.direction, Direction):
            raise ValueError(f"topic {self.pattern!r}: direction must be out, in or both")
        commands.check_int(f"topic {self.pattern!r}: qos", self.qos, limits.QOS_LEVELS)
        for name, prefix in (("local_prefix", self.local_prefix),
                             ("remote_prefix", self.remote_prefix)):  # fmt: skip
            if not isinstance(prefix, str):
                raise ValueError(f"topic {self.pattern!r}: {name} must be a string")
            if "+" in prefix or "#" in prefix:
                raise ValueError(f"topic {self.pattern!r}: {name} {prefix!r} holds a wildcard")
        if not isinstance(self.pattern, str):
            raise ValueError("a topic pattern must be a string")
        if self.pattern == "" and not (self.local_prefix and self.remote_prefix):
            raise ValueError("an empty topic pattern needs both a local and a remote prefix")
        commands.check_topic(self.local_filter, wildcards=True)
        commands.check_topic(self.remote_filter, wildcards=True)

    @property
    def local_filter(self) -> str:
        return self.local_prefix + self.pattern

    @property
    def remote_filter(self) -> str:
        return self.remote_prefix + self.pattern

    @property
    def outgoing(self) -> bool:
        return self.direction in (Direction.OUT, Direction.BOTH)

    @property
    def incoming(self) -> bool:
        return self.direction in (Direction.IN, Direction.BOTH)

    def to_remote(self, local_topic: str) -> str | None:
        """The cloud topic of a local message this route carries out, else None."""
        return _mapped(local_topic, self.local_prefix, self.remote_prefix, self.pattern)

    def to_local(self, remote_topic: str) -> str | None:
        """The local topic of a cloud message this route carries in, else None."""
        return _mapped(remote_topic, self.remote_prefix, self.local_prefix, self.pattern)

    def __str__(self) -> str:
        words = [self.pattern, self.direction.value, str(self.qos)]
        if self.local_prefix or self.remote_prefix:
            words += [self.local_prefix, self.remote_prefix]
        return "topic " + " ".join(word or '""' for word in words)

    @classmethod
    def parse_line(cls, line: str) -> Route:
        """`pattern [[[ out | in | both ] qos] local-prefix remote-prefix]`, as mosquitto.conf
        writes a bridge's `topic` (`""` for an empty field)."""
        words = [word if word != '""' else "" for word in line.split()]
        if words and words[0] == "topic":
            words = words[1:]
        if len(words) not in (1, 2, 3, 5):
            raise ValueError(
                f"topic line {line!r}: expected PATTERN [out|in|both [QOS [LOCAL REMOTE]]]"
            )
        qos = 1
        if len(words) >= 3:
            if not words[2].isdigit():
                raise ValueError(f"topic line {line!r}: QoS {words[2]!r} is not 0, 1 or 2")
            qos = int(words[2])
        return cls(
            pattern=words[0],
            direction=_direction(words[1] if len(words) >= 2 else "out", line),
            qos=qos,
            local_prefix=words[3] if len(words) == 5 else "",
            remote_prefix=words[4] if len(words) == 5 else "",
        )


def _mapped(topic: str, source_prefix: str, target_prefix: str, pattern: str) -> str | None:
    if not topic.startswith(source_prefix):
        return None
    rest = topic[len(source_prefix) :]
    if pattern == "":
        return target_prefix if rest == "" else None
    if rest == "" or not topic_matches(pattern, rest):
        return None
    return target_prefix + rest


def _direction(text: str, where: str) -> Direction:
    try:
        return Direction(text)
    except ValueError:
        raise ValueError(f"topic {where!r}: direction {text!r} is not out, in or both") from None


OVERFLOWS = {"drop-oldest": Overflow.DROP_OLDEST, "fail": Overflow.FAIL}
"""What `--overflow` may say; the outbox takes only these two."""


@dataclass(frozen=True, slots=True)
class Options:
    """Everything the bridge runs with; `build()` checks it all."""

    module: str
    """The module's device path or pyserial URL."""
    host: str
    client_id: str
    local: BrokerUrl
    routes: tuple[Route, ...]
    port: int = 1883
    username: str = ""
    password: str = field(default="", repr=False)
    client: int = 0
    baudrate: int = 115200
    keepalive: int = 60
    local_id: str = ""
    local_session_expiry: int = 0xFFFFFFFF
    """Seconds the local broker keeps the bridge's session (its queued QoS 1 messages) while
    the bridge is away; 0xFFFFFFFF: forever (MQTT v5)."""
    store: Path | None = None
    outbox_size: int = 100_000
    overflow: Overflow = Overflow.DROP_OLDEST
    max_age: float | None = None
    metrics: tuple[str, int] | None = None
    backoff: Backoff = field(default_factory=Backoff)
    poll_interval: float = 30.0
    status_interval: float = 30.0
    """Seconds between the network status reads behind `nm28_network_registered` and
    `nm28_signal_rsrp_dbm`."""
    drain_timeout: float = 10.0
    """On SIGTERM, how long to wait for the outbox to drain while the link is up; what is
    left stays in the store for the next run."""
    echo_window: int = 10_000
    """How many forwarded messages are remembered to drop their echo from the cloud (a
    `--receive` filter that matches what `--forward` sends)."""
    debug: bool = False

    @property
    def forwards(self) -> tuple[Route, ...]:
        return tuple(route for route in self.routes if route.outgoing)

    @property
    def receives(self) -> tuple[Route, ...]:
        return tuple(route for route in self.routes if route.incoming)

    @property
    def local_client_id(self) -> str:
        return self.local_id or f"nm28-bridge-{self.client_id}"


# --- building Options from flags and a config file ---------------------------------------

KEYS = frozenset(
    {
        "module", "host", "port", "id", "username", "password", "client", "baudrate",
        "keepalive", "local", "local_id", "local_session_expiry", "forward", "receive",
        "qos", "topic", "store", "outbox_size", "overflow", "max_age", "metrics",
        "backoff_initial", "backoff_maximum", "poll_interval", "status_interval",
        "drain_timeout", "echo_window", "debug",
    }
)  # fmt: skip
"""The keys of a config file (a flag `--max-age` is the key `max_age`)."""


def load_config(path: str | Path) -> dict[str, Any]:
    """The TOML file's options, keys checked; ValueError naming the file."""
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as exc:
        raise ValueError(f"cannot read config {str(path)!r}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"config {str(path)!r} is not TOML: {exc}") from None
    values = {str(key).replace("-", "_"): value for key, value in data.items()}
    unknown = sorted(set(values) - KEYS)
    if unknown:
        raise ValueError(f"config {str(path)!r}: unknown option(s) {', '.join(unknown)}")
    return values


def build(flags: Mapping[str, Any], config: Mapping[str, Any] | None = None) -> Options:
    """Options from a config file's values overridden by the flags given (None or absent: not
    given); `--forward`/`--receive`/`--topic` add to the file's. ValueError on anything wrong."""
    given = {key: value for key, value in flags.items() if value is not None}
    values: dict[str, Any] = dict(config or {})
    for key in ("forward", "receive", "topic"):
        values[key] = _strings(key, values.get(key, [])) + list(given.pop(key, []))
    values.update(given)

    def take(key: str, default: Any = None) -> Any:
        return values.get(key, default)

    module = _required(take("module"), "the module's port (PORT, or module = ... in the config)")
    host = _required(take("host"), "the cloud broker's host (-h, or host = ...)")
    local_text = _required(take("local"), "the local broker (--local mqtt://HOST:PORT)")
    local = BrokerUrl.parse(_string("local", local_text))
    if local.tls:
        raise ValueError("--local: mqtts:// is not supported, the local broker is on the gateway")
    qos = _int("qos", take("qos", 1), limits.QOS_LEVELS)
    routes = _routes(values, qos)
    if not routes:
        raise ValueError("nothing to bridge: give --forward, --receive or a topic mapping")
    client_id = _string("id", take("id", "nm28-bridge"))
    store = take("store")
    options = Options(
        module=_string("module", module),
        host=_string("host", host),
        port=_int("port", take("port", 1883), limits.PORTS),
        client_id=client_id,
        username=_string("username", take("username", "")),
        password=_string("password", take("password", "")),
        client=_int("client", take("client", 0), limits.CLIENT_INDEXES),
        baudrate=_int("baudrate", take("baudrate", 115200), range(1, 1 << 31)),
        keepalive=_int("keepalive", take("keepalive", 60), range(0, 65536)),
        local=local,
        local_id=_string("local_id", take("local_id", "")),
        local_session_expiry=_int(
            "local_session_expiry", take("local_session_expiry", 0xFFFFFFFF), range(0, 1 << 32)
        ),
        routes=routes,
        store=None if store is None else Path(_string("store", store, empty=False)),
        outbox_size=_int("outbox_size", take("outbox_size", 100_000), range(1, 1 << 31)),
        overflow=_overflow(take("overflow", "drop-oldest")),
        max_age=_seconds("max_age", take("max_age"), optional=True),
        metrics=_metrics(take("metrics")),
        backoff=Backoff(
            initial=_seconds("backoff_initial", take("backoff_initial", 0.5)),
            maximum=_seconds("backoff_maximum", take("backoff_maximum", 30.0)),
        ),
        poll_interval=_seconds("poll_interval", take("poll_interval", 30.0)),
        status_interval=_seconds("status_interval", take("status_interval", 30.0)),
        drain_timeout=_seconds("drain_timeout", take("drain_timeout", 10.0), zero=True),
        echo_window=_int("echo_window", take("echo_window", 10_000), range(0, 1 << 31)),
        debug=_bool("debug", take("debug", False)),
    )
    # what the module will be told, checked by the driver's own encoders
    ConnectionParams(
        host=options.host, port=options.port, client_id=options.client_id,
        username=options.username, password=options.password, keepalive=options.keepalive,
    )  # fmt: skip
    for route in options.receives:
        commands.subscribe(options.client, 1, route.remote_filter, min(route.qos, 1))
    return options


def _routes(values: Mapping[str, Any], qos: int) -> tuple[Route, ...]:
    routes = [Route(f, Direction.OUT, qos) for f in _strings("forward", values["forward"])]
    routes += [Route(f, Direction.IN, qos) for f in _strings("receive", values["receive"])]
    for item in values["topic"]:
        routes.append(_route(item))
    return tuple(routes)


def _route(item: Any) -> Route:
    """A `topic` entry: a mosquitto line (a string) or a table."""
    if isinstance(item, str):
        return Route.parse_line(item)
    if not isinstance(item, Mapping):
        raise ValueError(f"a topic mapping is a line or a table, got {item!r}")
    unknown = sorted(set(item) - {"pattern", "direction", "qos", "local_prefix", "remote_prefix"})
    if unknown:
        raise ValueError(f"topic mapping {dict(item)!r}: unknown key(s) {', '.join(unknown)}")
    if "pattern" not in item:
        raise ValueError(f"topic mapping {dict(item)!r} has no pattern")
    where = str(item["pattern"])
    return Route(
        pattern=item["pattern"],
        direction=_direction(str(item.get("direction", "out")), where),
        qos=_int(f"topic {where!r}: qos", item.get("qos", 1), limits.QOS_LEVELS),
        local_prefix=item.get("local_prefix", ""),
        remote_prefix=item.get("remote_prefix", ""),
    )


def listen_address(text: str) -> tuple[str, int]:
    """`HOST:PORT` to serve on (no host: loopback; port 0: any free one)."""
    where, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"--metrics: expected HOST:PORT (port 0..65535), got {text!r}")
    where = where.strip("[]")
    return (where or "127.0.0.1"), int(port)


def _metrics(value: Any) -> tuple[str, int] | None:
    return None if value is None else listen_address(_string("metrics", value))


def _required(value: Any, what: str) -> Any:
    if value is None or value == "":
        raise ValueError(f"missing {what}")
    return value


def _string(name: str, value: Any, *, empty: bool = True) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {value!r}")
    if not empty and not value:
        raise ValueError(f"{name} must not be empty")
    return value


def _strings(name: str, value: Any) -> list[Any]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Sequence):
        raise ValueError(f"{name} must be a list, got {value!r}")
    return list(value)


def _int(name: str, value: Any, allowed: range) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return commands.check_int(name, value, allowed)


def _seconds(name: str, value: Any, *, optional: bool = False, zero: bool = False) -> Any:
    if value is None and optional:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"{name} must be a number of seconds, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        wanted = "0 or more" if zero else "above 0"
        raise ValueError(f"{name} must be a number of seconds {wanted}, got {value!r}")
    return float(value)


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def _overflow(value: Any) -> Overflow:
    text = _string("overflow", value).replace("_", "-")
    if text not in OVERFLOWS:
        raise ValueError(f"overflow must be drop-oldest or fail, got {value!r}")
    return OVERFLOWS[text]
