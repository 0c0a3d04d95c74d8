"""The radio's commands, what each query's answer looks like, and the status built from
the answers (`modem.network.status()`, the recovery ladder).

Every command goes through `commands.raw`, the one encoder of commands the driver has no
typed encoder for: `AT+CEREG?` collects `+CEREG:` lines as its information lines.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from . import limits
from .commands import Command, check_int, raw
from .network import Cell, NetworkStatus, Registration, RegistrationChange, Signal
from .network_parse import (
    AnswerLine,
    Operator,
    ip_address,
    merge_signals,
    named_lines,
    parse_cesq,
    parse_cgatt,
    parse_cops,
    parse_csq,
    pdp_active,
    registration_answer,
)

T = TypeVar("T")


def _waits_for_network(line: str) -> Command:
    """A command whose final code waits for the network (a PDP activation, the radio going
    off or on): bounded by the network deadline, not the local one."""
    return dataclasses.replace(raw(line), network=True)


C5GREG_QUERY = raw("AT+C5GREG?")
CEREG_QUERY = raw("AT+CEREG?")
CGREG_QUERY = raw("AT+CGREG?")
CREG_QUERY = raw("AT+CREG?")
COPS_QUERY = raw("AT+COPS?")
CSQ = raw("AT+CSQ")
CESQ = raw("AT+CESQ")
CGATT_QUERY = raw("AT+CGATT?")
CGACT_QUERY = raw("AT+CGACT?")
CGPADDR = raw("AT+CGPADDR")

C5GREG_URCS_ON = raw("AT+C5GREG=2")
"""Registration URCs with the cell (`+C5GREG: <stat>,<tac>,<ci>,<AcT>,...`)."""
CEREG_URCS_ON = raw("AT+CEREG=2")
RADIO_OFF = _waits_for_network("AT+CFUN=0")
RADIO_ON = _waits_for_network("AT+CFUN=1")
RESET_MODULE = _waits_for_network("AT+CFUN=1,1")
"""Full functionality after a reset: the module reboots (its banner follows the `OK`)."""


def activate_pdp(cid: int) -> Command:
    """`AT+CGACT=1,<cid>`: the ladder's PDP reactivation."""
    check_int("cid", cid, limits.PDP_CIDS)
    return _waits_for_network(f"AT+CGACT=1,{cid}")


def answer_of(lines: Iterable[AnswerLine], name: str, parse: Callable[[AnswerLine], T]) -> T | None:
    """`parse` applied to the last `+NAME:` line of an answer; None when it has none."""
    named = named_lines(lines, name)
    return parse(named[-1]) if named else None


@dataclass(frozen=True, slots=True)
class Query(Generic[T]):
    """A query, the `+NAME:` prefix of its information lines, and how its answer (the
    lines of its `Completed`) reads; the reading raises ValueError on a malformed line."""

    command: Command
    prefix: str
    parse: Callable[[Iterable[AnswerLine]], T]


def _registration(domain: str) -> Callable[[Iterable[AnswerLine]], RegistrationChange | None]:
    return lambda lines: registration_answer(lines, domain)


C5GREG = Query(C5GREG_QUERY, "C5GREG", _registration("C5GREG"))
CEREG = Query(CEREG_QUERY, "CEREG", _registration("CEREG"))
CGREG = Query(CGREG_QUERY, "CGREG", _registration("CGREG"))
CREG = Query(CREG_QUERY, "CREG", _registration("CREG"))
OPERATOR = Query(COPS_QUERY, "COPS", lambda lines: answer_of(lines, "COPS", parse_cops))
SIGNAL_CSQ = Query(CSQ, "CSQ", lambda lines: answer_of(lines, "CSQ", parse_csq))
SIGNAL_CESQ = Query(CESQ, "CESQ", lambda lines: answer_of(lines, "CESQ", parse_cesq))
ATTACHED = Query(CGATT_QUERY, "CGATT", lambda lines: answer_of(lines, "CGATT", parse_cgatt))
PDP_ACTIVE = Query(CGACT_QUERY, "CGACT", pdp_active)
"""Whether any context is active (`pdp_active(lines, cid)` for one)."""
IP_ADDRESS = Query(CGPADDR, "CGPADDR", ip_address)
"""The first address of any context (`ip_address(lines, cid)` for one)."""

REGISTRATION_QUERIES = (C5GREG, CEREG, CGREG, CREG)
"""In `REGISTRATION_DOMAINS` order: newest radio first."""
STATUS_QUERIES: tuple[Query[Any], ...] = (
    C5GREG,
    CEREG,
    CREG,
    OPERATOR,
    SIGNAL_CSQ,
    SIGNAL_CESQ,
    ATTACHED,
    PDP_ACTIVE,
    IP_ADDRESS,
)
"""What `status()` asks, in order: the commands `gateway.md` names (CGREG is not one)."""

_PREFERENCE = (
    Registration.EMERGENCY_ONLY,
    Registration.SEARCHING,
    Registration.DENIED,
    Registration.UNKNOWN,
    Registration.NOT_REGISTERED,
)


def network_status(
    registrations: Iterable[RegistrationChange | None],
    *,
    operator: Operator | None = None,
    signal: Signal | None = None,
    attached: bool | None = None,
    pdp_active: bool | None = None,
    ip: str | None = None,
) -> NetworkStatus:
    """The status from what each command answered (None: it did not, `ERROR`).

    `registrations` come in asking order (`REGISTRATION_DOMAINS`). The first registered
    domain is the registration, and its cell the cell; with none registered, the state
    nearest to service wins (emergency only, then searching: a domain still trying says
    what the module becomes; then denied, unknown, not registered), the first of equals.
    No domain at all is UNKNOWN. The technology is `+COPS`'s `<AcT>` (the serving one),
    else the chosen domain's.
    """
    answered = [r for r in registrations if r is not None]
    chosen = next((r for r in answered if r.registration.registered), None)
    if chosen is None and answered:
        chosen = min(answered, key=lambda r: _PREFERENCE.index(r.registration))
    technology = None if operator is None else operator.technology
    if technology is None and chosen is not None:
        technology = chosen.cell.technology
    return NetworkStatus(
        registration=Registration.UNKNOWN if chosen is None else chosen.registration,
        technology=technology,
        operator=None if operator is None else operator.name,
        signal=Signal() if signal is None else signal,
        attached=attached,
        pdp_active=pdp_active,
        ip=ip,
        cell=Cell() if chosen is None else chosen.cell,
        domains=tuple((r.domain, r.registration) for r in answered),
    )


def status_of(answers: Mapping[str, Iterable[AnswerLine] | None]) -> NetworkStatus:
    """The status from each query's answer lines, keyed by prefix (`"CEREG"`); a prefix
    missing or None is a command the firmware lacks. Raises ValueError on a malformed line
    (a caller that would rather lose one field reads each `Query` itself: `assemble`)."""

    def read(query: Query[T]) -> T | None:
        lines = answers.get(query.prefix)
        return None if lines is None else query.parse(lines)

    return assemble(read, [q for q in REGISTRATION_QUERIES if q.prefix in answers])


class Reader(Protocol):
    """What one query answered, read (None: the firmware lacks it, or it could not be read)."""

    def __call__(self, query: Query[T], /) -> T | None: ...


def assemble(
    read: Reader, registrations: Iterable[Query[RegistrationChange | None]]
) -> NetworkStatus:
    """The status from `read(query)` of each query `STATUS_QUERIES` holds, the registration
    domains in the order given."""
    return network_status(
        [read(q) for q in registrations],
        operator=read(OPERATOR),
        signal=merge_signals(read(SIGNAL_CSQ), read(SIGNAL_CESQ)),
        attached=read(ATTACHED),
        pdp_active=read(PDP_ACTIVE),
        ip=read(IP_ADDRESS),
    )
