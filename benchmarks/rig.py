"""A pty whose master side is served by `benchmarks.responder` in another process."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def responder_pty() -> Iterator[str]:
    """Yield the slave path of a pty answered by a responder process; stop it on exit.

    The slave stays open here for the whole block, so consumers may open and close the
    path many times without the master seeing a hang-up.
    """
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.responder", str(master)],
            pass_fds=(master,),
            stdin=subprocess.PIPE,
            cwd=ROOT,
        )
    finally:
        os.close(master)
    try:
        yield os.ttyname(slave)
    finally:
        end_by_eof(proc)
        os.close(slave)


def end_by_eof(proc: subprocess.Popen[Any], timeout: float = 5.0) -> None:
    """Close the stdin of a child that exits on EOF (the responder), wait up to `timeout` s
    for it to exit, then kill it."""
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
