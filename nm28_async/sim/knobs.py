"""The behaviour switches that make the virtual NM28 a test bench (see ``VirtualModem``)."""

from __future__ import annotations

from dataclasses import dataclass

PROMPTS = {"CONNECT": b"\r\nCONNECT\r\n", ">": b"\r\n> "}
"""What precedes a PUBEX payload: the manual's ``CONNECT`` line, or the ``> `` of other
firmware, which (as Quectel's and SIMCom's modules print it) ends no line."""


@dataclass(frozen=True, slots=True)
class Knobs:
    """How this module answers; fixed for its life, reboots included."""

    result_after_ok: bool = False
    network_latency: float = 0.0
    command_latency: float = 0.0
    prompt_latency: float = 0.0
    echo: bool = True
    spaced_results: bool = False
    quoted_recv: bool = False
    prompt: str = "CONNECT"
    link_lost_urc: bool = False

    def __post_init__(self) -> None:
        if min(self.network_latency, self.command_latency, self.prompt_latency) < 0:
            raise ValueError("latencies cannot be negative")
        if self.prompt not in PROMPTS:
            raise ValueError(f"prompt must be one of {sorted(PROMPTS)}, got {self.prompt!r}")
