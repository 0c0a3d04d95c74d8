"""What a full bounded queue does with one more item: the message queues, the session's
outbox and the durable outbox take the same policy."""

from __future__ import annotations

import enum


class Overflow(enum.Enum):
    """What a full queue does with a new message; every drop is counted."""

    DROP_OLDEST = "drop_oldest"
    """Keep the newest messages (telemetry freshness); the default."""
    DROP_NEWEST = "drop_newest"
    """Keep what is queued; discard the arrival."""
    FAIL = "fail"
    """Discard the arrival and make the consumer's next read raise QueueOverflowError."""
