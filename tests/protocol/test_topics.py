"""Topic filter matching under MQTT 3.1.1 rules."""

from __future__ import annotations

import pytest

from nm28_async.protocol.events import Message
from nm28_async.protocol.topics import topic_matches

CASES: list[tuple[str, str, bool]] = [
    ("a/b", "a/b", True),
    ("a/b", "a/c", False),
    ("a/b", "a/b/c", False),
    ("a/b/c", "a/b", False),
    ("+", "a", True),
    ("+", "a/b", False),
    ("+", "", True),
    ("a/+", "a/b", True),
    ("a/+", "a/", True),
    ("a/+", "a", False),
    ("a/+/c", "a/x/c", True),
    ("a/+/c", "a/x/d", False),
    ("+/+", "/x", True),
    ("#", "a", True),
    ("#", "a/b/c", True),
    ("#", "/", True),
    ("a/#", "a", True),
    ("a/#", "a/b/c", True),
    ("a/#", "b/a", False),
    ("a/b/#", "a", False),
    ("+/#", "a/b", True),
    ("#", "$SYS/x", False),
    ("+/x", "$SYS/x", False),
    ("+", "$SYS", False),
    ("$SYS/#", "$SYS/x/y", True),
    ("$SYS/+", "$SYS/x", True),
    ("$SYS/x", "$SYS/x", True),
    ("a/$x", "a/$x", True),
    ("a/+", "a/$x", True),
    ("温度/+", "温度/上报", True),
    ("A", "a", False),
]


@pytest.mark.parametrize(("topic_filter", "topic", "expected"), CASES)
def test_topic_matches(topic_filter: str, topic: str, expected: bool) -> None:
    """`+` one level, `#` the rest (parent included), `$` topics hidden from leading wildcards."""
    assert topic_matches(topic_filter, topic) is expected


def test_a_message_matches_filters_like_its_topic() -> None:
    """`message.matches(filter)` is `topic_matches(filter, message.topic)`."""
    message = Message(0, 1, "devices/3/commands", b"{}")
    assert message.matches("devices/+/commands")
    assert message.matches("devices/#")
    assert not message.matches("devices/+/telemetry")
