"""`modem.session()`'s `async with`: the store opened, the supervisor and the outbox's sender
run beside the caller's body, and the client index freed on the way out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ..tasks import background_tasks
from .connection import release
from .outbox_link import opened_store
from .supervisor import Session


@asynccontextmanager
async def supervised(session: Session) -> AsyncIterator[Session]:
    """Run the session's supervisor beside the caller's body; on exit, however the body
    ends, stop it and free the client index (shielded, bounded)."""
    async with opened_store(
        session.outbox_path, session.params.client_id, session.outbox_policy
    ) as store:
        session.attach_outbox(store)  # enqueue works from the first line of the body
        try:
            async with background_tasks() as tasks:
                tasks.start_soon(session.run)
                tasks.start_soon(session.send_outbox)
                yield session
        finally:
            session.detach_outbox()
            await release(session.client)
    session.raise_if_failed()
