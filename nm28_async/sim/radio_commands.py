"""The 3GPP TS 27.007 commands of the radio: registration, operator, signal, PDP, CFUN.

Argument checks here, state and spelling in :mod:`.radio`. The forms a gateway's network
status and recovery ladder use; anything else of 27.007 answers ``ERROR``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from ..protocol import limits
from .at_syntax import AtLine, LineRejected
from .radio import CID, DOMAINS, FUNCTIONALITIES, URC_MODES, Radio
from .replies import OK, Answer, Effect, Handler, Reply, Reset, Table, fixed


def _modes_range() -> str:
    return f"({URC_MODES.start}-{URC_MODES.stop - 1})"


class RadioCommands:
    """Handlers on one :class:`Radio` (a reboot brings a new radio, and new handlers)."""

    def __init__(self, radio: Radio) -> None:
        self._radio = radio

    def table(self) -> Table:
        radio = self._radio
        handlers: dict[str, Handler] = {
            "AT+COPS?": self._say(radio.cops),
            "AT+CSQ": self._say(radio.csq),
            "AT+CSQ=?": fixed("+CSQ: (0-31,99),(99)"),
            "AT+CESQ": self._say(radio.cesq),
            "AT+CGATT?": self._say(radio.cgatt),
            "AT+CGACT?": self._say(radio.cgact),
            "AT+CGACT=": self._cgact,
            "AT+CGACT=?": fixed("+CGACT: (0,1)"),
            "AT+CGPADDR": self._say(radio.cgpaddr),
            "AT+CGPADDR=": self._cgpaddr,
            "AT+CFUN?": self._say(radio.cfun),
            "AT+CFUN=": self._cfun,
            "AT+CFUN=?": fixed("+CFUN: (0,1,4),(0,1)"),
        }
        for domain in DOMAINS:
            handlers[f"AT{domain}?"] = self._say(functools.partial(radio.registration, domain))
            handlers[f"AT{domain}="] = self._set_mode(domain)
            handlers[f"AT{domain}=?"] = fixed(f"{domain}: {_modes_range()}")
        return handlers

    @staticmethod
    def _say(line: Callable[[], str]) -> Handler:
        """A query without arguments: the radio's line as it is now, and OK."""

        def handle(cmd: AtLine) -> Reply:
            cmd.count(0, 0)
            return Answer((line(), "OK"))

        return handle

    def _set_mode(self, domain: str) -> Handler:
        """``AT+CEREG=<n>``: which URCs the domain prints (an omitted ``<n>`` is 0)."""

        def handle(cmd: AtLine) -> Reply:
            cmd.count(1, 1)
            self._radio.set_mode(domain, cmd.opt_int_at(0, URC_MODES, 0))
            return OK

        return handle

    def _cgact(self, cmd: AtLine) -> Reply:
        """``AT+CGACT=<state>[,<cid>]``: only context 1 is defined; activating needs a network."""
        cmd.count(1, 2)
        state = cmd.int_at(0, limits.FLAGS)
        cmd.opt_int_at(1, (CID,), CID)
        if state == 0:
            return Answer(("OK",), (self._radio.deactivate_pdp(),))
        change = self._radio.activate_pdp()
        if change is None:
            raise LineRejected("no network to activate a PDP context on")
        return Answer(("OK",), (change,))

    def _cgpaddr(self, cmd: AtLine) -> Reply:
        cmd.count(1, 1)
        cmd.int_at(0, (CID,))
        return Answer((self._radio.cgpaddr(), "OK"))

    def _cfun(self, cmd: AtLine) -> Reply:
        """``AT+CFUN=<fun>[,<rst>]``: radio off (0, 4), on (1), reset (1,1), as 27.007 says."""
        cmd.count(1, 2)
        fun = cmd.int_at(0, FUNCTIONALITIES)
        if cmd.opt_int_at(1, limits.FLAGS, 0) == 1:
            if fun != 1:
                raise LineRejected("a reset comes back at full functionality only")
            return Answer(("OK",), (Reset(),))
        effects: tuple[Effect, ...]
        if fun == 1:
            change, later = self._radio.switch_on()
            effects = (change,) if later is None else (change, later)
        else:
            effects = (self._radio.switch_off(fun),)
        return Answer(("OK",), effects)
