"""A module on an in-memory line that answers each command from a table, and records what
it was asked: for tests of the parts above the engine (the network monitor, the recovery
coordinator) without a pty or a virtual NM28."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import nm28_async as nm
from nm28_async.engine import MemoryLine


class AnsweringModule:
    def __init__(self, answers: dict[str, str]) -> None:
        self.line = MemoryLine()
        self.answers = answers
        """What the module prints for each command (`AT+CSQ`: `+CSQ: 20,99\\r\\n\\r\\nOK`),
        after a line end; a command not listed is answered `ERROR`. Tests may change it."""
        self.asked: list[str] = []
        self._asked = asyncio.Event()

    def send(self, text: str) -> None:
        """Something unsolicited (a URC), as the module prints it."""
        self.line.send(f"\r\n{text}\r\n".encode())

    async def wait_asked(self, command: str, count: int = 1) -> None:
        """Wait until `command` was asked `count` times in all."""
        while self.asked.count(command) < count:
            self._asked.clear()
            await self._asked.wait()

    async def serve(self) -> None:
        at = 0
        while True:
            end = await self.line.wait_written(b"\r", at)
            command = self.line.written[at : end - 1].decode()
            at = end
            self.asked.append(command)
            self._asked.set()
            answer = self.answers.get(command, "OK" if command in ("AT", "ATE0") else "ERROR")
            self.line.send(f"\r\n{answer}\r\n".encode())


@asynccontextmanager
async def answering_modem(module: AnsweringModule) -> AsyncIterator[nm.Modem]:
    """A Modem on the module's line, the module answering beside it."""
    server = asyncio.create_task(module.serve())
    try:
        async with nm.Modem.open("memory", opener=module.line.open) as modem:
            yield modem
    finally:
        server.cancel()
        await asyncio.gather(server, return_exceptions=True)
