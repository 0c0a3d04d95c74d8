"""A mosquitto_sub that is known to be subscribed before a test publishes: a retained probe,
published first, comes back once the subscription is in place."""

from __future__ import annotations

import asyncio
from types import TracebackType

from support.brokers import BrokerInfo, publish_with_tool, require_tool

CEILING = 30.0


class Listener:
    """`async with Listener(broker, "a/#") as heard:` collects (topic, payload) of what arrives
    on the filter, the probe left out. With ``client_id`` its session is kept (clean session
    off): what the broker queued for it while it was away arrives when it comes back."""

    def __init__(
        self, broker: BrokerInfo, topic_filter: str, probe: str, client_id: str | None = None
    ) -> None:
        self._broker = broker
        self._kept = ("-i", client_id, "-c") if client_id is not None else ()
        self._filter = topic_filter
        self._probe = probe
        """A topic the filter matches, for the retained probe."""
        self.heard: list[tuple[str, str]] = []
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._probed = False

    async def __aenter__(self) -> Listener:
        await publish_with_tool(self._broker, self._probe, b"probe", retain=True)
        self._process = await asyncio.create_subprocess_exec(
            require_tool("mosquitto_sub"), "-h", self._broker.host, "-p", str(self._broker.port),
            "-t", self._filter, "-q", "1", "-v", *self._kept, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read())
        await self.until(0)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._process is not None
        assert self._reader is not None
        self._process.kill()
        await self._process.wait()
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)

    async def until(self, count: int) -> list[tuple[str, str]]:
        """Wait until `count` messages (besides the probe) arrived; all of them."""
        async with asyncio.timeout(CEILING):
            while True:
                self._changed.clear()
                if self._probed and len(self.heard) >= count:
                    return self.heard
                await self._changed.wait()

    async def until_payloads(self, expected: set[str]) -> list[tuple[str, str]]:
        """Wait until every payload of ``expected`` arrived (duplicates allowed); all heard."""
        async with asyncio.timeout(CEILING):
            while True:
                self._changed.clear()
                if self._probed and expected <= {payload for _, payload in self.heard}:
                    return self.heard
                await self._changed.wait()

    async def _read(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        while line := await self._process.stdout.readline():
            topic, _, payload = line.decode().rstrip("\n").partition(" ")
            if topic == self._probe:
                self._probed = True
            else:
                self.heard.append((topic, payload))
            self._changed.set()
