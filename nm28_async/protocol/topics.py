"""MQTT topic filter matching (`+` one level, `#` the rest), for filtering received messages."""


def topic_matches(topic_filter: str, topic: str) -> bool:
    """True when `topic` is matched by `topic_filter` under MQTT 3.1.1 rules."""
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    if topic.startswith("$") and filter_levels[0] in ("+", "#"):
        return False
    for i, level in enumerate(filter_levels):
        if level == "#":
            return True
        if i >= len(topic_levels) or (level != "+" and level != topic_levels[i]):
            return False
    return len(filter_levels) == len(topic_levels)
