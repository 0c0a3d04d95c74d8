"""`nm28 at PORT -i`: an interactive AT console on a module.

What is typed is checked and sent as `nm28 at` sends it (a line at a time, its answer awaited,
including a result line that comes after `OK`); URCs and received messages are shown as they
arrive, whatever is being typed. On a terminal, lines are edited with readline and kept in a
history (~/.nm28_history), except the lines that carry a password; from a pipe, each line is echoed
(`> AT+CSQ`) before its answer, as `nm28 at` prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TextIO

import anyio

from ...errors import CommandError, ModemClosedError, Nm28Error, PortLostError
from ...modem import Modem
from ...protocol.events import Message, RecvNotice, ResultLine, TextLine
from ...protocol.redact import redact, secrets_in
from ...tasks import first_leaf
from .. import at_script
from .common import EXIT_FAILED, EXIT_OK, fail, setup_logging

PROMPT = "> "
PAYLOAD_PROMPT = "payload> "
HISTORY = Path("~/.nm28_history")
HISTORY_LENGTH = 1000
QUIT = frozenset({"exit", "quit"})


def run(args: argparse.Namespace) -> int:
    """Run the console until end of input (Ctrl-D); 1 if the module is lost."""
    screen = Screen(sys.stdout, interactive=sys.stdin.isatty() and sys.stdout.isatty())
    setup_logging(args.verbose, show=screen.show)
    with screen.terminal():
        return asyncio.run(_console(args, screen))


class Screen:
    """Where the console writes. On a terminal, a line that arrives while one is being typed
    is printed above the prompt, and the prompt and what was typed so far are drawn again."""

    def __init__(self, out: TextIO, *, interactive: bool) -> None:
        self._out = out
        self.interactive = interactive
        self.prompt = ""
        """The prompt on screen now ("" while no line is being read)."""

    def show(self, text: str) -> None:
        if self.interactive and self.prompt:
            import readline

            typed = readline.get_line_buffer()
            self._out.write(f"\r\x1b[K{text}\n{self.prompt}{typed}")
        else:
            self._out.write(f"{text}\n")
        self._out.flush()

    @contextlib.contextmanager
    def terminal(self) -> Iterator[None]:
        """On a terminal: readline with its history file, and the terminal's settings put back
        however the console ends (readline changes them while it reads a line)."""
        if not self.interactive:
            yield
            return
        import readline
        import termios

        saved = termios.tcgetattr(sys.stdin)
        history = HISTORY.expanduser()
        with contextlib.suppress(OSError):
            readline.read_history_file(history)
        try:
            yield
        finally:
            termios.tcsetattr(sys.stdin, termios.TCSADRAIN, saved)
            self._out.write("\n")
            readline.set_history_length(HISTORY_LENGTH)
            with contextlib.suppress(OSError):
                readline.write_history_file(history)


class Keyboard:
    """Lines typed (or piped) in, read by a thread so that the event loop keeps showing what
    arrives meanwhile. A daemon thread: at exit it may still wait in `input()`."""

    def __init__(self, screen: Screen) -> None:
        self._screen = screen
        self._loop = asyncio.get_running_loop()
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._wanted = threading.Semaphore(0)
        self._prompt = PROMPT
        threading.Thread(target=self._read, name="nm28-console-input", daemon=True).start()

    async def line(self, prompt: str = PROMPT) -> str | None:
        """The next line, or None at end of input."""
        self._prompt = prompt
        self._wanted.release()
        return await self._lines.get()

    def _read(self) -> None:
        while True:
            self._wanted.acquire()
            prompt = self._prompt if self._screen.interactive else ""
            self._screen.prompt = prompt
            try:
                line: str | None = input(prompt)
            except EOFError:
                line = None
            finally:
                self._screen.prompt = ""
            if line and self._screen.interactive and secrets_in(line):
                _forget_last_line()
            try:
                self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
            except RuntimeError:  # the loop is gone: the console has ended
                return
            if line is None:
                return


def _forget_last_line() -> None:
    """Take the line just typed out of the history: it carries a password."""
    import readline

    readline.remove_history_item(readline.get_current_history_length() - 1)


async def _console(args: argparse.Namespace, screen: Screen) -> int:
    code = EXIT_OK
    try:
        async with (
            Modem.open(
                args.port,
                baudrate=args.baudrate,
                command_timeout=args.timeout,
                result_timeout=args.result_timeout,
                record=args.record,
            ) as modem,
            anyio.create_task_group() as tasks,
        ):
            tasks.start_soon(_show_urcs, modem, screen.show)
            for client in modem.clients:
                tasks.start_soon(_show_messages, client.messages(), screen.show)
            await _read_eval_print(modem, screen, Keyboard(screen))
            tasks.cancel_scope.cancel()
    except* Nm28Error as failed:  # the port could not be opened or was lost; a silent module
        code = fail("nm28 at", first_leaf(failed), EXIT_FAILED)
    return code


async def _read_eval_print(modem: Modem, screen: Screen, keyboard: Keyboard) -> None:
    while (line := await keyboard.line()) is not None:
        line = line.strip()
        if not line:
            continue
        if line.lower() in QUIT:
            return
        if not screen.interactive:
            screen.show(f"{PROMPT}{redact(line)}")
        payloads = []
        if at_script.needs_payload(line):
            payload = await keyboard.line(PAYLOAD_PROMPT)
            if payload is None:
                return
            payloads.append(payload)
        try:
            (command,) = at_script.prepare([line], payloads)
        except ValueError as exc:
            screen.show(f"invalid: {exc}")
            continue
        try:
            done = await modem.execute(command)
        except CommandError as exc:
            screen.show(str(exc.final))
        except (PortLostError, ModemClosedError):
            raise
        except Nm28Error as exc:
            screen.show(f"failed: {exc}")
        else:
            for shown in at_script.answer(done):
                screen.show(shown)


async def _show_urcs(modem: Modem, show: Callable[[str], None]) -> None:
    async for urc in modem.urcs():
        if isinstance(urc, ResultLine):
            show(urc.raw)
        elif isinstance(urc, TextLine):
            show(urc.text)
        elif isinstance(urc, RecvNotice):
            show(f"+MQTTRECV: {urc.client_index},{urc.packet_id},{urc.topic},{urc.length}")
        else:
            show(at_script.recv_line(urc))


async def _show_messages(messages: AsyncIterator[Message], show: Callable[[str], None]) -> None:
    async for message in messages:
        show(at_script.recv_line(message))
