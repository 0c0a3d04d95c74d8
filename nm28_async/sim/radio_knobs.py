"""The radio's knobs of the virtual NM28: coverage, signal, registration, the PDP context and
a wedged MQTT stack, as a test bench turns them while the module runs."""

from __future__ import annotations

from ..protocol.network import AccessTechnology, RegistrationStat, Signal
from .interpreter import AtInterpreter
from .radio import Air


class RadioKnobs:
    """Mixin of :class:`~.virtual_modem.VirtualModem`: it keeps the air (``_air``, the network
    around the module, which outlives a reboot) and the power cycle now running
    (``_interpreter``); each knob changes one and lets the other's radio catch up."""

    _air: Air
    _interpreter: AtInterpreter | None

    def _radio_changed(self) -> None:
        """The air changed: the running radio catches up (URCs, links dropped)."""
        if self._interpreter is not None:
            self._interpreter.apply(self._interpreter.radio.follow())

    def set_coverage(self, covered: bool) -> None:
        """Lose coverage (searching, stat 2; links over the air drop; OPEN answers 3) or
        regain it (registered again at once, with its URC)."""
        self._air.coverage = covered
        self._radio_changed()

    def set_signal(
        self,
        *,
        rssi_dbm: float | None = None,
        rsrp_dbm: float | None = None,
        rsrq_db: float | None = None,
        sinr_db: float | None = None,
    ) -> None:
        """What ``AT+CSQ`` and ``AT+CESQ`` report while in coverage; None: not known."""
        self._air.signal = Signal(rssi_dbm, rsrp_dbm, rsrq_db, sinr_db)

    def set_registration(
        self,
        stat: RegistrationStat,
        *,
        reject_cause: int | None = None,
        technology: AccessTechnology | None = None,
    ) -> None:
        """What the network grants while in coverage: ``HOME`` (the default), ``ROAMING``, or
        ``DENIED`` with the ``reject_cause`` (3GPP TS 24.501/24.301) that ``<n>`` 3 shows."""
        stat = RegistrationStat(stat)
        if reject_cause is not None and stat in (RegistrationStat.HOME, RegistrationStat.ROAMING):
            raise ValueError("a reject cause goes with a registration that failed")
        self._air.registration, self._air.reject_cause = stat, reject_cause
        if technology is not None:
            self._air.technology = AccessTechnology(technology)
        self._radio_changed()

    def drop_pdp(self) -> None:
        """The network deactivates the PDP context: ``+CGACT: 1,0``, links drop, OPEN answers
        3 until the host sends ``AT+CGACT=1,1`` (or the module registers anew)."""
        interpreter = self._running_interpreter()
        interpreter.apply(interpreter.radio.deactivate_pdp())

    def wedge(self) -> None:
        """The MQTT stack hangs: every MQTT command answers ``ERROR`` until ``AT+CFUN=0`` then
        ``AT+CFUN=1``, or ``AT+CFUN=1,1``, or a reboot."""
        self._running_interpreter().radio.wedged = True

    def _running_interpreter(self) -> AtInterpreter:
        if self._interpreter is None:
            raise RuntimeError("the modem is not running")
        return self._interpreter
