"""The module's own commands: ``AT``, echo (``ATE``), identity (``ATI``, ``AT+CGMI`` ...)."""

from __future__ import annotations

from ..protocol import limits
from . import cloud
from .at_syntax import AtLine
from .replies import OK, Answer, Reply, Table, fixed


class BasicCommands:
    """Echo is the one state here: the interpreter reads :attr:`echo` before each line."""

    def __init__(self, echo: bool) -> None:
        self.echo = echo

    def table(self) -> Table:
        return {
            "AT": lambda _cmd: OK,
            "ATE": self._echo,
            "ATI": self._identify,
            "AT+CGMI": fixed("Yuge"),
            "AT+CGMM": fixed("NM28"),
            "AT+CGMR": fixed(cloud.FIRMWARE_VERSION),
        }

    def _echo(self, cmd: AtLine) -> Reply:
        cmd.count(0, 1)
        self.echo = cmd.opt_int_at(0, limits.FLAGS, 0) == 1
        return OK

    @staticmethod
    def _identify(cmd: AtLine) -> Reply:
        cmd.count(0, 0)
        return Answer(("Yuge", "NM28", f"Revision: {cloud.FIRMWARE_VERSION}", "OK"))
