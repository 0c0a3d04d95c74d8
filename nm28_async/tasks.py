"""A task group whose host body's exceptions reach the caller as themselves; and the first
exception inside the groups that task groups raise.

anyio wraps whatever a task group's body raises in an ExceptionGroup. Our context managers run
background tasks beside the *caller's* code, so a ValueError raised there must stay a
ValueError: the group is entered and left by hand, and the body's exception is not passed in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from anyio.abc import TaskGroup


@asynccontextmanager
async def background_tasks() -> AsyncIterator[TaskGroup]:
    """Yield a task group; on exit, cancel what runs in it and wait for it to finish."""
    tasks = anyio.create_task_group()
    await tasks.__aenter__()
    try:
        yield tasks
    finally:
        tasks.cancel_scope.cancel()
        await tasks.__aexit__(None, None, None)


def first_leaf(exc: BaseException) -> BaseException:
    """The first exception inside (nested) exception groups: what a reader wants named."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc
