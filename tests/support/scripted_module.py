"""A scripted NM28 stand-in on a real pty, run in the test's own event loop.

The driver opens `module.port` (the pty slave's name) as if it were the module's AT port.
The stand-in reads what the driver writes on the pty master, echoes command lines until an
`ATE0` is answered `OK`, and answers each command line with the handler the test registered
for it. A handler is an async callable that receives an `Exchange` and may reply lines
(result before or after `OK`), wait, inject URCs, send `CONNECT` and read exactly N payload
bytes, drop the final code, send garbage, or close the port.

It records every byte received with a timestamp and checks the host's discipline:

* no byte arrives while the previous command has not yet received its final code
  (no two commands overlap on the wire), except
* the payload of a publish, and only after `CONNECT` and only as many bytes as announced.

Every breach is recorded in `violations`; leaving the `async with` raises AssertionError
if there is any (or if a handler crashed), unless the test body already raised.

Use it inside the test body (no task group held across a fixture's yield):

    async with ScriptedModule() as mod, nm.Modem.open(mod.port) as modem:
        ...
"""

from __future__ import annotations

import asyncio
import os
import pty
import random
import re
import time
import tty
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import TypeVar

Handler = Callable[["Exchange"], Awaitable[None]]
Canned = str | bytes | Sequence[str | bytes]
Pattern = str | re.Pattern[str]
Script = Mapping[Pattern, Handler | Canned]
"""What a test gives ScriptedModule: command pattern -> handler or canned answer lines."""
T = TypeVar("T")

CTRL_Z = 0x1A
_FINAL = re.compile(r"(OK|ERROR|\+CME ERROR:.*|\+CMS ERROR:.*)")
_COMMAND = re.compile(r"AT\+?([A-Za-z0-9_&]*)[=?]?(.*)", re.DOTALL | re.IGNORECASE)
_MQTT_COMMAND = re.compile(r"AT\+(MQTT(?:OPEN|CLOSE|CONN|DISC|SUB|UNS|PUBEX)|CTWINGPOSTVER)=.*")


def split_args(text: str) -> list[str]:
    """`0,"a,b",3` -> ['0', 'a,b', '3'] (the stand-in's own parser, independent of the driver's)."""
    args: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            args.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if text:
        args.append("".join(current).strip())
    return args


def recv_urc(
    client_index: int,
    packet_id: int,
    topic: str,
    payload: bytes,
    *,
    length: bool = True,
    spaced: bool = False,
    quoted: bool = False,
) -> bytes:
    """The bytes of a `+MQTTRECV` URC (with the length field unless told otherwise)."""
    sep = ", " if spaced else ","
    shown = f'"{topic}"' if quoted else topic
    head = f"+MQTTRECV: {client_index}{sep}{packet_id}{sep}{shown}{sep}"
    if length:
        head += f"{len(payload)}{sep}"
    return b"\r\n" + head.encode() + payload + b"\r\n"


class Exchange:
    """One command line received by the stand-in, and the handler's means to answer it."""

    def __init__(self, module: ScriptedModule, line: str, seq: int) -> None:
        self.module = module
        self.line = line
        self.seq = seq
        self.received_at = time.monotonic()
        m = _COMMAND.fullmatch(line)
        self.name = m.group(1).upper() if m else ""
        self.args = split_args(m.group(2)) if m and "=" in line else []
        self.final_sent = False

    def __repr__(self) -> str:
        return f"<Exchange #{self.seq} {self.line!r}>"

    @property
    def client_index(self) -> int:
        return int(self.args[0])

    @property
    def msg_id(self) -> int:
        return int(self.args[1])

    async def send(self, *lines: str | bytes) -> None:
        """Send lines (str gets CR LF around it; bytes go raw). A final code ends the command."""
        for line in lines:
            self.module.emit(line, self)
        await self.module.drain()

    async def ok(self) -> None:
        await self.send("OK")

    async def error(self) -> None:
        await self.send("ERROR")

    async def cme(self, code: int | str) -> None:
        await self.send(f"+CME ERROR: {code}")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def later(self, delay: float, *lines: str | bytes) -> None:
        """Send lines after `delay` from a background task (a result after OK, a stray final).

        A final code sent this way does not end the command (its handler decides that)."""
        self.module.later(delay, *lines)

    async def read_payload(
        self,
        length: int,
        *,
        ctrl_z: bool = True,
        prompt: str | bytes = "CONNECT",
        after_prompt: Sequence[str | bytes] = (),
        timeout: float = 5.0,
    ) -> bytes:
        """Send the prompt, then read exactly `length` bytes (plus the Ctrl-Z if `ctrl_z`)."""
        module = self.module
        want = length + (1 if ctrl_z else 0)
        future = module.expect_payload(want)
        self.module.emit(prompt, self)
        for line in after_prompt:
            self.module.emit(line, self)
        await module.drain()
        data = await asyncio.wait_for(future, timeout)
        if ctrl_z:
            if data[-1] != CTRL_Z:
                module.violation(f"{self.line!r}: payload not followed by Ctrl-Z: {data[-8:]!r}")
            data = data[:-1]
        module.payloads.append((self.line, data))
        return data


def reply(*lines: str | bytes, delay: float = 0.0) -> Handler:
    """A canned answer: optionally wait, then send these lines."""

    async def handler(x: Exchange) -> None:
        if delay:
            await asyncio.sleep(delay)
        await x.send(*lines)

    return handler


class InTurn:
    """A handler: the first matching line goes to the first of ``handlers``, the second to
    the second, and so on; the last one answers every line after that. ``calls`` counts
    the lines it was given."""

    def __init__(self, *handlers: Handler) -> None:
        self.handlers = handlers
        self.calls = 0

    async def __call__(self, x: Exchange) -> None:
        self.calls += 1
        await self.handlers[min(self.calls, len(self.handlers)) - 1](x)


def result_when(event: asyncio.Event, result: Callable[[Exchange], str]) -> Handler:
    """``OK`` at once; the result line only once ``event`` is set (the channel is free)."""

    async def handler(x: Exchange) -> None:
        await x.ok()

        async def later() -> None:
            await event.wait()
            await x.module.send(result(x))

        x.module.spawn(later())

    return handler


def success_result(x: Exchange) -> str | None:
    """The result line that reports success for an MQTT command (None: it has none)."""
    a = x.args
    name = x.name
    if name in ("MQTTOPEN", "MQTTCLOSE", "MQTTDISC"):
        return f"+{name}: {a[0]},0"
    if name == "MQTTCONN":
        return f"+MQTTCONN: {a[0]},0,0"
    if name == "MQTTSUB":
        return f"+MQTTSUB: {a[0]},{a[1]},0,{a[3]}"
    if name == "MQTTUNS":
        return f"+MQTTUNS: {a[0]},{a[1]},0"
    if name == "MQTTPUBEX":
        return f"+MQTTPUBEX: {a[0]},{a[1]},0"
    if name == "CTWINGPOSTVER":
        return "+CTWINGPOSTVER: 0"
    return None


def mqtt_auto(
    order: str = "before",
    *,
    delay: tuple[float, float] = (0.0, 0.0),
    rng: random.Random | None = None,
    result: Callable[[Exchange], str | None] = success_result,
    ctrl_z: bool = True,
) -> Handler:
    """Answer MQTT commands as a healthy module would.

    `order` "before": result line then OK; "after": OK, then the result after a delay drawn
    from `delay` (results of several commands then come back in shuffled order); "mixed":
    either, at random. PUBEX reads its payload after CONNECT first.
    """
    chooser = rng or random.Random(0)

    async def handler(x: Exchange) -> None:
        if x.name == "MQTTPUBEX":
            await x.read_payload(int(x.args[6]), ctrl_z=ctrl_z)
        line = result(x)
        if line is None:
            await x.ok()
            return
        before = order == "before" or (order == "mixed" and chooser.random() < 0.5)
        if before:
            await x.send(line, "OK")
        else:
            await x.ok()
            x.later(chooser.uniform(*delay), line)

    return handler


def _as_handler(script: Handler | Canned) -> Handler:
    if isinstance(script, str | bytes):
        return reply(script)
    if isinstance(script, Sequence):
        return reply(*script)
    return script


class ScriptedModule:
    """A pty whose far end is a scripted NM28. See the module docstring."""

    def __init__(
        self,
        script: Script | None = None,
        *,
        echo: bool = True,
        mqtt: str | None = None,
        mqtt_delay: tuple[float, float] = (0.0, 0.0),
        seed: int = 0,
    ) -> None:
        self.echo = echo
        self.rng = random.Random(seed)
        self._routes: list[tuple[Pattern, Handler]] = []
        self.on("AT", reply("OK"))
        self.on("ATE0", reply("OK"))
        self.on("AT+MQTTCFG=*", reply("OK"))
        if mqtt is not None:
            self.on(_MQTT_COMMAND, mqtt_auto(mqtt, delay=mqtt_delay, rng=self.rng))
        for pattern, handler in (script or {}).items():
            self.on(pattern, handler)
        self.received: list[tuple[float, bytes]] = []
        """Every chunk read from the host, with its time.monotonic() stamp."""
        self.exchanges: list[Exchange] = []
        self.payloads: list[tuple[str, bytes]] = []
        self.sent: list[tuple[float, bytes]] = []
        """Every chunk the stand-in queued for the host."""
        self.violations: list[str] = []
        self.handler_errors: list[BaseException] = []
        self.synced_at: int | None = None
        """Bytes received when `ATE0` was answered (the end of the driver's start-up)."""
        self._master = -1
        self._slave = -1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._current: Exchange | None = None
        self._line = bytearray()
        self._line_flagged = False
        self._payload_want = 0
        self._payload_buf = bytearray()
        self._payload_future: asyncio.Future[bytes] | None = None
        self._out = bytearray()
        self._writer_on = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = ""

    # --- set-up -------------------------------------------------------------------------------

    def on(self, pattern: Pattern, script: Handler | Canned) -> None:
        """Answer lines matching `pattern` with `script` (later registrations win).

        A str pattern matches the whole line, or its start when it ends with `*`;
        a compiled pattern must match the whole line."""
        self._routes.insert(0, (pattern, _as_handler(script)))

    async def __aenter__(self) -> ScriptedModule:
        self._loop = asyncio.get_running_loop()
        self._master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        self._loop.add_reader(self._master, self._on_readable)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close_port()
        if self._slave >= 0:
            os.close(self._slave)
            self._slave = -1
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if exc is None:
            self.check()

    def check(self) -> None:
        """Raise AssertionError if the host broke the line discipline or a handler crashed."""
        if self.handler_errors:
            raise AssertionError(f"scripted module handler failed: {self.handler_errors!r}")
        assert not self.violations, "\n".join(self.violations)

    # --- what the host wrote ------------------------------------------------------------------

    @property
    def rx(self) -> bytes:
        return b"".join(chunk for _, chunk in self.received)

    @property
    def rx_count(self) -> int:
        return sum(len(chunk) for _, chunk in self.received)

    def rx_after_sync(self) -> bytes:
        assert self.synced_at is not None, "the driver never synchronised"
        return self.rx[self.synced_at :]

    @property
    def lines(self) -> list[str]:
        """Every command line received, in order."""
        return [x.line for x in self.exchanges]

    def commands(self, pattern: Pattern) -> list[Exchange]:
        return [x for x in self.exchanges if self._matches(pattern, x.line)]

    async def wait_for(self, pattern: Pattern, count: int = 1, timeout: float = 20.0) -> Exchange:
        """Wait until `count` command lines matching `pattern` have arrived; return the last."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.commands(pattern)
            if len(found) >= count:
                return found[count - 1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} (#{count}) within {timeout} s: {self.lines}")
            await asyncio.sleep(0.005)

    # --- what the stand-in says ---------------------------------------------------------------

    def emit(self, line: str | bytes, exchange: Exchange | None = None) -> None:
        """Queue a line for the host (str: CR LF around it; bytes: as is)."""
        if isinstance(line, str):
            data = b"\r\n" + line.encode() + b"\r\n"
            final = _FINAL.fullmatch(line) is not None
        else:
            data = line
            final = False
        if final and exchange is not None and exchange is self._current:
            exchange.final_sent = True
            self._current = None
            if line == "OK" and exchange.line.upper() == "ATE0":
                self.echo = False
                self.synced_at = self.rx_count
        self._write(data)

    async def send(self, *lines: str | bytes) -> None:
        """Send unsolicited lines (URCs, banners, noise, stray finals)."""
        for line in lines:
            self.emit(line)
        await self.drain()

    def later(self, delay: float, *lines: str | bytes) -> None:
        async def run() -> None:
            await asyncio.sleep(delay)
            await self.send(*lines)

        self.spawn(run())

    def spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # recorded, raised by check()
                self.handler_errors.append(exc)

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self) -> None:
        """Wait until everything queued has been written to the pty."""
        if not self._out or self._closed:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._drain_waiters.append(future)
        await future

    def close_port(self) -> None:
        """Close the pty master: the host sees the port go away (USB unplugged)."""
        if self._closed or self._master < 0:
            self._closed = True
            return
        self._closed = True
        assert self._loop is not None
        self._loop.remove_reader(self._master)
        if self._writer_on:
            self._loop.remove_writer(self._master)
            self._writer_on = False
        os.close(self._master)
        self._master = -1
        self._out.clear()
        self._wake_drainers()
        if self._payload_future is not None and not self._payload_future.done():
            self._payload_future.cancel()

    def expect_payload(self, length: int) -> asyncio.Future[bytes]:
        """Switch to data mode: the next `length` bytes from the host are a payload."""
        assert self._payload_future is None or self._payload_future.done()
        self._payload_want = length
        self._payload_buf = bytearray()
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._payload_future = future
        return future

    def violation(self, text: str) -> None:
        self.violations.append(text)

    # --- internals ----------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if self._closed:
            return
        self.sent.append((time.monotonic(), data))
        self._out += data
        self._flush()

    def _flush(self) -> None:
        while self._out and not self._closed:
            try:
                n = os.write(self._master, self._out)
            except BlockingIOError:
                break
            except OSError:
                self._out.clear()
                break
            del self._out[:n]
        assert self._loop is not None
        if self._out and not self._writer_on and not self._closed:
            self._loop.add_writer(self._master, self._flush)
            self._writer_on = True
        elif not self._out:
            if self._writer_on:
                self._loop.remove_writer(self._master)
                self._writer_on = False
            self._wake_drainers()

    def _wake_drainers(self) -> None:
        waiters, self._drain_waiters = self._drain_waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)

    def _on_readable(self) -> None:
        try:
            data = os.read(self._master, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            assert self._loop is not None
            self._loop.remove_reader(self._master)
            return
        self.received.append((time.monotonic(), data))
        self._consume(data)

    def _consume(self, data: bytes) -> None:
        i = 0
        size = len(data)
        while i < size:
            if self._payload_want:
                take = data[i : i + self._payload_want]
                self._payload_buf += take
                self._payload_want -= len(take)
                i += len(take)
                future = self._payload_future
                if not self._payload_want and future is not None and not future.done():
                    future.set_result(bytes(self._payload_buf))
                continue
            byte = data[i]
            current = self._current
            if current is not None and not self._line_flagged:
                self._line_flagged = True
                self.violation(
                    f"host wrote {data[i : i + 40]!r} while {current.line!r} "
                    "had not received its final code (or before CONNECT)"
                )
            i += 1
            if byte in (0x0D, 0x0A):
                if self._line:
                    line = bytes(self._line)
                    self._line.clear()
                    self._on_line(line)
                self._line_flagged = False
            else:
                self._line.append(byte)

    def _on_line(self, raw: bytes) -> None:
        line = raw.decode("latin-1")
        exchange = Exchange(self, line, len(self.exchanges))
        self.exchanges.append(exchange)
        self._current = exchange
        if self.echo:
            self._write(raw + b"\r")
        handler = self._route(line)
        self.spawn(self._run(exchange, handler))

    async def _run(self, exchange: Exchange, handler: Handler) -> None:
        try:
            await handler(exchange)
        finally:
            if self._current is exchange:
                self._current = None  # the handler dropped the final code

    def _route(self, line: str) -> Handler:
        for pattern, handler in self._routes:
            if self._matches(pattern, line):
                return handler
        return reply("ERROR")

    @staticmethod
    def _matches(pattern: Pattern, line: str) -> bool:
        if isinstance(pattern, re.Pattern):
            return pattern.fullmatch(line) is not None
        if pattern.endswith("*"):
            return line.upper().startswith(pattern[:-1].upper())
        return line.upper() == pattern.upper()


async def never(x: Exchange) -> None:
    """A handler that answers nothing at all (the module hangs or lost the command)."""
    del x


async def collect(
    iterator: AsyncIterator[T], count: int | None = None, timeout: float = 3.0
) -> list[T]:
    """Take `count` items (or all until it ends) from an async iterator, then close it."""
    got: list[T] = []
    try:
        async with asyncio.timeout(timeout):
            async for item in iterator:
                got.append(item)
                if count is not None and len(got) >= count:
                    break
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()
    return got


__all__ = [
    "CTRL_Z",
    "Exchange",
    "Handler",
    "InTurn",
    "Script",
    "ScriptedModule",
    "collect",
    "mqtt_auto",
    "never",
    "recv_urc",
    "reply",
    "result_when",
    "split_args",
    "success_result",
]
