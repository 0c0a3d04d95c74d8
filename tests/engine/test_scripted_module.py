"""The scripted module's own checks catch what they claim to (so a pass means something)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from support.rig import wait_until
from support.scripted_module import Exchange, ScriptedModule, split_args


@contextmanager
def raw_port(path: str) -> Iterator[int]:
    """The module's port opened with no driver, as a raw descriptor; closed on exit."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        yield fd
    finally:
        os.close(fd)


async def hold(x: Exchange) -> None:
    """A handler that keeps its command without a final code until the test ends."""
    del x
    await asyncio.Event().wait()


async def read_answer(fd: int, finals: int = 1) -> bytes:
    """Read from the raw port until `finals` more `OK` lines have come (a host that waits
    for the final code before it writes again)."""
    loop = asyncio.get_running_loop()
    got = bytearray()
    arrived = asyncio.Event()
    loop.add_reader(fd, arrived.set)
    try:
        while got.count(b"OK\r\n") < finals:
            arrived.clear()
            try:
                got += os.read(fd, 4096)
            except BlockingIOError:
                await asyncio.wait_for(arrived.wait(), 10.0)
    finally:
        loop.remove_reader(fd)
    return bytes(got)


@pytest.mark.asyncio
async def test_overlapping_commands_are_reported() -> None:
    async def scenario() -> None:
        async with ScriptedModule({"AT+CGMR": hold}) as mod:
            with raw_port(mod.port) as fd:
                os.write(fd, b"AT+CGMR\r")
                await mod.wait_for("AT+CGMR")
                os.write(fd, b"AT\r")  # before CGMR's OK
                await mod.wait_for("AT")

    with pytest.raises(AssertionError, match="had not received its final code"):
        await scenario()


@pytest.mark.asyncio
async def test_payload_before_prompt_is_reported() -> None:
    async def scenario() -> None:
        # The module never prompts: the payload right behind the command is a breach.
        async with ScriptedModule({"AT+MQTTPUBEX=*": hold}) as mod:
            with raw_port(mod.port) as fd:
                wrote = os.write(fd, b'AT+MQTTPUBEX=0,1,0,0,0,"t",3\rabc\x1a')
                await wait_until(lambda: mod.rx_count == wrote, 10.0, "the payload read")

    with pytest.raises(AssertionError, match="before CONNECT"):
        await scenario()


@pytest.mark.asyncio
async def test_disciplined_host_passes_and_echo_stops_after_ate0() -> None:
    async with ScriptedModule({"AT+CSQ": ["+CSQ: 1,1", "OK"]}) as mod:
        with raw_port(mod.port) as fd:
            answer = b""
            for line in (b"AT\r", b"ATE0\r", b"AT+CSQ\r"):
                os.write(fd, line)
                await mod.wait_for(line[:-1].decode())
                answer += await read_answer(fd)
        assert answer == b"AT\r\r\nOK\r\nATE0\r\r\nOK\r\n\r\n+CSQ: 1,1\r\n\r\nOK\r\n"
        assert mod.synced_at == len(b"AT\rATE0\r")
        assert not mod.violations


def test_split_args() -> None:
    assert split_args('0,"a,b", 3 ,""') == ["0", "a,b", "3", ""]
    assert split_args("") == []
