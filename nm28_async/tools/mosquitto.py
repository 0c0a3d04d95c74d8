"""mosquitto, the broker the demo, the pytest plugin, the test suite and the benchmarks run:
where it is installed, a free loopback port, its configuration, a process that listens before
anything uses it and stops on SIGTERM (restartable on the same port, sessions kept when asked).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

START_LIMIT = 30.0
"""Seconds mosquitto may take to listen, and to stop."""
_FOLDERS = ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin")
"""Where Debian installs mosquitto and its clients (sbin is not on a user's PATH)."""


def find_program(name: str) -> str | None:
    """A program on PATH, or in the folders Debian installs mosquitto's programs to."""
    found = shutil.which(name)
    if found is not None:
        return found
    for folder in _FOLDERS:
        candidate = Path(folder, name)
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mosquitto:
    """mosquitto on a loopback port, its configuration file (and persistence) in `folder`."""

    def __init__(
        self,
        binary: str,
        folder: Path,
        *,
        port: int | None = None,
        persistence: bool = False,
        anonymous: bool = True,
        extra: tuple[str, ...] = (),
    ) -> None:
        self.binary = binary
        self.port = free_port() if port is None else port
        self.host = "127.0.0.1"
        self._config = folder / f"mosquitto-{self.port}.conf"
        self._lines = (
            # as root, mosquitto would become a user that cannot read or write the folder
            *(["user root"] if os.geteuid() == 0 else []),
            f"listener {self.port} 127.0.0.1",
            f"allow_anonymous {'true' if anonymous else 'false'}",
            f"persistence {'true' if persistence else 'false'}",
            f"persistence_location {folder}/",
            *extra,
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it (again, on the same port) and return once it accepts connections."""
        self._config.write_text("".join(f"{line}\n" for line in self._lines))
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self._config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_listening(self.port, self.process)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> bool:
        """SIGTERM (mosquitto saves its sessions, then exits), killed if it would not stop;
        False in that case."""
        process, self.process = self.process, None
        if process is None:
            return True
        process.send_signal(signal.SIGCONT)  # a paused broker cannot act on SIGTERM
        if _terminate(process):
            return True
        process.kill()
        process.wait()
        return False


def _terminate(process: subprocess.Popen[bytes]) -> bool:
    """SIGTERM until it exits (within START_LIMIT); False if it would not.

    mosquitto sets its run flag after it installed its handler and opened its listener, so a
    SIGTERM that comes in between (a short test on a busy machine) is lost: send another.
    """
    deadline = time.monotonic() + START_LIMIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return True
        process.terminate()
        try:
            process.wait(1)
        except subprocess.TimeoutExpired:
            continue
        return True
    return False


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    """Return once `process` accepts connections on `port`; raise ConnectionError if it exits
    or does not listen within START_LIMIT."""
    deadline = time.monotonic() + START_LIMIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConnectionError(f"mosquitto exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise ConnectionError(f"mosquitto did not listen on port {port} within {START_LIMIT:g} s")
