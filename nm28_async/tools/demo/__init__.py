"""`nm28 demo`: six devices on a virtual NM28, a platform, faults, and counts of what arrived."""

from .run import run_demo

__all__ = ["run_demo"]
