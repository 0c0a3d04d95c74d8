"""What the figures were measured on."""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
from collections.abc import Callable
from importlib import metadata
from typing import Any

from .rig import ROOT

PACKAGES = ("nm28-async", "pyserial", "pyserial-asyncio", "anyio", "uvloop")
"""What the figures depend on (uvloop: whether installed; only `--uvloop` runs on it)."""


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def _event_loop(factory: Callable[[], asyncio.AbstractEventLoop]) -> str:
    """The loop the figures ran on (the targets are judged on asyncio's default one)."""
    loop = factory()
    try:
        return f"{type(loop).__module__.partition('.')[0]} {type(loop).__name__}"
    finally:
        loop.close()


def describe(
    loop_factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop,
) -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "event_loop": _event_loop(loop_factory),
        "packages": {name: _version(name) for name in PACKAGES},
        "commit": _commit(),
        "load_average_at_start": os.getloadavg(),
    }
