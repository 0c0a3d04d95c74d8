"""The virtual NM28's radio: registration, signal and the PDP context, spelled as 3GPP TS
27.007 prints them.

Two parts with different lives. :class:`Air` is the network around the module (coverage,
what registration the network grants, the signal): the test bench sets it, and it outlives a
reboot. :class:`Radio` is the module's side (functionality, URC modes, its PDP context, a
wedged MQTT stack): a reboot starts a new one. Both are plain state: a transition returns a
:class:`~.replies.Change` with the URCs to print and whether the data path went, and the
interpreter does the printing and the dropping.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from ..protocol.network import (
    REGISTRATION_OF_STAT,
    AccessTechnology,
    RegistrationStat,
    Signal,
)
from .replies import Change, Later

REGISTRATION_DELAY: Final = 0.5
"""Seconds from ``AT+CFUN=1`` to registered: long enough for a host to see it searching."""

DOMAINS: Final = ("+C5GREG", "+CEREG", "+CGREG", "+CREG")
"""The registration commands, in the order their URCs are printed (5GS, EPS, GPRS, CS)."""

URC_MODES: Final = range(0, 4)
"""``<n>``: 0 no URC, 1 ``<stat>``, 2 with the cell, 3 with the reject cause too."""

_FIELDS_BEFORE_CAUSE: Final = {"+C5GREG": 2, "+CGREG": 1, "+CEREG": 0, "+CREG": 0}
"""Fields between ``<AcT>`` and ``<cause_type>``: 5GS's Allowed NSSAI length and list,
GPRS's ``<rac>``."""

CID: Final = 1
"""The one PDP context the module defines, the ``"pdpcid"`` every client defaults to."""

FUNCTIONALITIES: Final = (0, 1, 4)
"""``AT+CFUN=<fun>``: minimum (radio off), full, flight mode (radio off as well)."""

DEFAULT_SIGNAL: Final = Signal(rssi_dbm=-65.0, rsrp_dbm=-90.0, rsrq_db=-10.0, sinr_db=15.0)
"""A good signal: ``+CSQ: 24,99``."""

_NO_LOCATION: Final = frozenset(
    {RegistrationStat.NOT_REGISTERED, RegistrationStat.SEARCHING, RegistrationStat.UNKNOWN}
)
"""Stats with no cell to name: the module camps on none."""

_LTE_FIELDS: Final = frozenset(
    {
        AccessTechnology.E_UTRAN,
        AccessTechnology.E_UTRAN_NB_S1,
        AccessTechnology.E_UTRA_5GCN,
        AccessTechnology.E_UTRA_NR_DUAL,
    }
)
"""Technologies whose ``+CESQ`` carries ``<rsrq>`` and ``<rsrp>`` (E-UTRA is measured)."""

_NR_FIELDS: Final = frozenset(
    {AccessTechnology.NR_5GCN, AccessTechnology.NG_RAN, AccessTechnology.E_UTRA_NR_DUAL}
)
"""Technologies whose ``+CESQ`` carries the SS (5G NR) fields."""


def level(value: float | None, lowest: float, step: float, top: int, unknown: int) -> int:
    """27.007's index of a measurement: 0 below ``lowest``, then one more per ``step``, at
    most ``top``; ``unknown`` when there is no value."""
    if value is None:
        return unknown
    return max(0, min(top, math.floor((value - lowest) / step) + 1))


def csq(signal: Signal | None) -> str:
    """``+CSQ: <rssi>,<ber>``: rssi 0 (-113 dBm or less) to 31 (-51 dBm or more)."""
    rssi = level(signal.rssi_dbm if signal else None, -111, 2, 31, 99)
    return f"+CSQ: {rssi},99"


def cesq(signal: Signal | None, technology: AccessTechnology) -> str:
    """``+CESQ``: no GSM or UMTS measurement, E-UTRA's RSRQ and RSRP, NR's SS-RSRQ, SS-RSRP and
    SS-SINR, each as 27.007 scales it, 255 where the technology has none."""
    lte = signal if signal is not None and technology in _LTE_FIELDS else None
    nr = signal if signal is not None and technology in _NR_FIELDS else None
    fields = (
        99,
        99,
        255,
        255,
        level(lte.rsrq_db if lte else None, -19.5, 0.5, 34, 255),
        level(lte.rsrp_dbm if lte else None, -140, 1, 97, 255),
        level(nr.rsrq_db if nr else None, -43, 0.5, 127, 255),
        level(nr.rsrp_dbm if nr else None, -156, 1, 127, 255),
        level(nr.sinr_db if nr else None, -23, 0.5, 127, 255),
    )
    return "+CESQ: " + ",".join(map(str, fields))


@dataclass(slots=True)
class Air:
    """The network around the module, as the test bench sets it."""

    coverage: bool = True
    registration: RegistrationStat = RegistrationStat.HOME
    """What the network makes of the module's attempt to register while in coverage."""
    reject_cause: int | None = None
    technology: AccessTechnology = AccessTechnology.NR_5GCN
    signal: Signal = DEFAULT_SIGNAL
    operator: str = "Yuge Sim"
    area: str = "1A2B"
    cell_id: str = "01C2D3E4"
    address: str = "10.0.0.2"


_View = tuple[RegistrationStat, tuple[str, str, int] | None, int | None]
"""What a registration line shows: stat, cell (area, id, AcT), reject cause."""


class Radio:
    """The module's radio. It powers on registered when the air allows (it had the time to
    register before anyone opened its port), with every URC mode 0."""

    def __init__(self, air: Air) -> None:
        self._air = air
        self.fun = 1
        self.wedged = False
        """The MQTT stack hangs: its commands answer ``ERROR`` until the radio is cycled."""
        self._attaching = False  # after AT+CFUN=1, until REGISTRATION_DELAY has passed
        self._attempt = 0
        self._pdp_down = False  # deactivated by the host or the network
        self._modes = dict.fromkeys(DOMAINS, 0)
        self._reported = self._view()
        self._active = self.pdp_active

    # state ---------------------------------------------------------------------------

    @property
    def _camping(self) -> bool:
        """On a cell and past attaching, so the network's verdict is what the module has."""
        return self.fun == 1 and self._air.coverage and not self._attaching

    @property
    def stat(self) -> RegistrationStat:
        if self.fun != 1:
            return RegistrationStat.NOT_REGISTERED
        return self._air.registration if self._camping else RegistrationStat.SEARCHING

    @property
    def registered(self) -> bool:
        return REGISTRATION_OF_STAT[self.stat].registered

    @property
    def pdp_active(self) -> bool:
        """An IP address to open MQTT networks with: without one ``AT+MQTTOPEN`` answers 3."""
        return self.registered and not self._pdp_down

    def _view(self) -> _View:
        stat = self.stat
        air = self._air
        location = None
        if self._camping and stat not in _NO_LOCATION:
            location = (air.area, air.cell_id, int(air.technology))
        return stat, location, air.reject_cause if self._camping else None

    # transitions ---------------------------------------------------------------------

    def follow(self) -> Change:
        """Catch up with the air and the functionality: the URCs of what changed since the
        last transition, and whether the data path went. Registering again brings the default
        PDP context back (an attach sets it up)."""
        was_registered = REGISTRATION_OF_STAT[self._reported[0]].registered
        if self.registered and not was_registered:
            self._pdp_down = False
        view, active = self._view(), self.pdp_active
        urcs = tuple(self._urcs(view)) if view != self._reported else ()
        lost = self._active and not active
        self._reported, self._active = view, active
        return Change(urcs, lost)

    def switch_off(self, fun: int) -> Change:
        """``AT+CFUN=0`` or ``=4``: deregistered, the PDP context and every link gone."""
        self.fun, self._attaching = fun, False
        return self.follow()

    def switch_on(self) -> tuple[Change, Later | None]:
        """``AT+CFUN=1``: from off, search now and register :data:`REGISTRATION_DELAY` later;
        a wedged MQTT stack starts afresh. Already on, nothing happens."""
        if self.fun == 1:
            return Change(), None
        self.fun, self.wedged, self._attaching = 1, False, True
        self._attempt += 1
        attempt = self._attempt
        return self.follow(), Later(REGISTRATION_DELAY, lambda: self._attached(attempt))

    def _attached(self, attempt: int) -> Change:
        if attempt == self._attempt:  # not a registration an AT+CFUN since has overtaken
            self._attaching = False
        return self.follow()

    def activate_pdp(self) -> Change | None:
        """``AT+CGACT=1,1``: None (``ERROR``) when not registered."""
        if not self.registered:
            return None
        self._pdp_down = False
        return self.follow()

    def deactivate_pdp(self) -> Change:
        """``AT+CGACT=0,1``, or the network dropping the context: no IP, links gone."""
        self._pdp_down = True
        return self.follow()

    def set_mode(self, domain: str, n: int) -> None:
        self._modes[domain] = n

    # what it prints ------------------------------------------------------------------

    def _fields(self, domain: str, n: int, view: _View) -> str:
        stat, location, cause = view
        parts = [str(int(stat))]
        if n >= 2:
            cell = [f'"{location[0]}"', f'"{location[1]}"', str(location[2])] if location else []
            if n >= 3 and cause is not None:
                cell = cell or ["", "", ""]
                parts += [*cell, *[""] * _FIELDS_BEFORE_CAUSE[domain], "0", str(cause)]
            else:
                parts += cell
        return ",".join(parts)

    def _urcs(self, view: _View) -> Iterator[str]:
        for domain in DOMAINS:
            n = self._modes[domain]
            if n:
                yield f"{domain}: {self._fields(domain, n, view)}"

    def registration(self, domain: str) -> str:
        """The read form: ``+CEREG: <n>,<stat>[,"<tac>","<ci>",<AcT>[,,<cause_type>,...]]``."""
        n = self._modes[domain]
        return f"{domain}: {n},{self._fields(domain, n, self._view())}"

    @property
    def _signal(self) -> Signal | None:
        return self._air.signal if self.fun == 1 and self._air.coverage else None

    def csq(self) -> str:
        return csq(self._signal)

    def cesq(self) -> str:
        return cesq(self._signal, self._air.technology)

    def cops(self) -> str:
        """Automatic selection; the operator's long name and the technology when registered."""
        if not self.registered:
            return "+COPS: 0"
        return f'+COPS: 0,0,"{self._air.operator}",{int(self._air.technology)}'

    def cgatt(self) -> str:
        return f"+CGATT: {int(self.registered)}"

    def cgact(self) -> str:
        return f"+CGACT: {CID},{int(self.pdp_active)}"

    def cgpaddr(self) -> str:
        return f'+CGPADDR: {CID},"{self._air.address}"' if self.pdp_active else f"+CGPADDR: {CID}"

    def cfun(self) -> str:
        return f"+CFUN: {self.fun}"
