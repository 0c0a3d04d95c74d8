"""The radio as values: registration, access technology, signal, and the module's network
status (`modem.network.status()`), with the 3GPP TS 27.007 numbers they are read from.

The numbers are code tables the driver and the virtual NM28 share: the driver reads them
from `+C5GREG`, `+CEREG`, `+CREG`, `+COPS`, `+CSQ` and `+CESQ` lines, the virtual NM28
prints them. No parsing lives here (see `network_parse`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class RegistrationStat(enum.IntEnum):
    """`<stat>` of `+CREG`, `+CEREG` and `+C5GREG` (3GPP TS 27.007, 7.2, 10.1.22, 10.1.36)."""

    NOT_REGISTERED = 0
    """Not registered, not searching for an operator."""
    HOME = 1
    SEARCHING = 2
    """Not registered, searching for an operator to register to."""
    DENIED = 3
    UNKNOWN = 4
    """Out of coverage, for example."""
    ROAMING = 5
    HOME_SMS_ONLY = 6
    ROAMING_SMS_ONLY = 7
    EMERGENCY_ONLY = 8
    HOME_CSFB_NOT_PREFERRED = 9
    ROAMING_CSFB_NOT_PREFERRED = 10
    EMERGENCY_ONLY_5G = 11
    """`+C5GREG` 11: registered for emergency services only (some releases number it so)."""


class Registration(enum.Enum):
    """Where the module stands with the network: what a gateway acts on."""

    NOT_REGISTERED = "not registered"
    HOME = "registered, home network"
    SEARCHING = "searching"
    DENIED = "registration denied"
    UNKNOWN = "unknown (out of coverage?)"
    ROAMING = "registered, roaming"
    EMERGENCY_ONLY = "emergency services only"

    @property
    def registered(self) -> bool:
        return self in (Registration.HOME, Registration.ROAMING)


REGISTRATION_OF_STAT: dict[int, Registration] = {
    RegistrationStat.NOT_REGISTERED: Registration.NOT_REGISTERED,
    RegistrationStat.HOME: Registration.HOME,
    RegistrationStat.SEARCHING: Registration.SEARCHING,
    RegistrationStat.DENIED: Registration.DENIED,
    RegistrationStat.UNKNOWN: Registration.UNKNOWN,
    RegistrationStat.ROAMING: Registration.ROAMING,
    RegistrationStat.HOME_SMS_ONLY: Registration.HOME,
    RegistrationStat.ROAMING_SMS_ONLY: Registration.ROAMING,
    RegistrationStat.EMERGENCY_ONLY: Registration.EMERGENCY_ONLY,
    RegistrationStat.HOME_CSFB_NOT_PREFERRED: Registration.HOME,
    RegistrationStat.ROAMING_CSFB_NOT_PREFERRED: Registration.ROAMING,
    RegistrationStat.EMERGENCY_ONLY_5G: Registration.EMERGENCY_ONLY,
}
"""What each `<stat>` means to a gateway; a number not listed is `Registration.UNKNOWN`."""


class AccessTechnology(enum.IntEnum):
    """`<AcT>` of `+COPS`, `+CREG`, `+CEREG` and `+C5GREG` (3GPP TS 27.007, 7.3)."""

    GSM = 0
    GSM_COMPACT = 1
    UTRAN = 2
    GSM_EGPRS = 3
    UTRAN_HSDPA = 4
    UTRAN_HSUPA = 5
    UTRAN_HSDPA_HSUPA = 6
    E_UTRAN = 7
    EC_GSM_IOT = 8
    E_UTRAN_NB_S1 = 9
    E_UTRA_5GCN = 10
    NR_5GCN = 11
    NG_RAN = 12
    E_UTRA_NR_DUAL = 13


class Technology(enum.Enum):
    """The radio access technology the module is on."""

    GSM = "GSM"
    UMTS = "UMTS"
    LTE = "LTE"
    NB_IOT = "NB-IoT"
    LTE_5GCN = "LTE on a 5G core"
    NR5G_SA = "5G NR standalone"
    NR5G_NSA = "5G NR non-standalone"


TECHNOLOGY_OF_ACT: dict[int, Technology] = {
    AccessTechnology.GSM: Technology.GSM,
    AccessTechnology.GSM_COMPACT: Technology.GSM,
    AccessTechnology.UTRAN: Technology.UMTS,
    AccessTechnology.GSM_EGPRS: Technology.GSM,
    AccessTechnology.UTRAN_HSDPA: Technology.UMTS,
    AccessTechnology.UTRAN_HSUPA: Technology.UMTS,
    AccessTechnology.UTRAN_HSDPA_HSUPA: Technology.UMTS,
    AccessTechnology.E_UTRAN: Technology.LTE,
    AccessTechnology.EC_GSM_IOT: Technology.GSM,
    AccessTechnology.E_UTRAN_NB_S1: Technology.NB_IOT,
    AccessTechnology.E_UTRA_5GCN: Technology.LTE_5GCN,
    AccessTechnology.NR_5GCN: Technology.NR5G_SA,
    AccessTechnology.NG_RAN: Technology.NR5G_SA,
    AccessTechnology.E_UTRA_NR_DUAL: Technology.NR5G_NSA,
}
"""What each `<AcT>` is; a number not listed is no technology (None)."""


@dataclass(frozen=True, slots=True)
class Signal:
    """Signal quality in physical units; None where the module does not know or say.

    `rssi_dbm` from `+CSQ`; `rsrp_dbm` and `rsrq_db` from `+CESQ` (LTE, or 5G's SS-RSRP and
    SS-RSRQ where the module reports them); `sinr_db` from `+CESQ`'s SS-SINR (5G only).
    """

    rssi_dbm: float | None = None
    rsrp_dbm: float | None = None
    rsrq_db: float | None = None
    sinr_db: float | None = None


@dataclass(frozen=True, slots=True)
class Cell:
    """Where a registration line says the module is: `<tac>`/`<lac>` and `<ci>` as the
    hexadecimal text the module printed (upper case, no quotes), and the technology."""

    area: str | None = None
    cell_id: str | None = None
    technology: Technology | None = None


@dataclass(frozen=True, slots=True)
class RegistrationChange:
    """A registration URC (`+C5GREG: 1,...`): which domain (`C5GREG`, `CEREG`, `CREG`)
    changed, to what, and where. What `modem.network.changes()` yields."""

    domain: str
    registration: Registration
    stat: int
    cell: Cell = Cell()
    reject_cause: int | None = None


@dataclass(frozen=True, slots=True)
class NetworkStatus:
    """The module's network, as one `modem.network.status()` read it. A field whose command
    the firmware lacks (`ERROR`) is None."""

    registration: Registration
    technology: Technology | None = None
    operator: str | None = None
    signal: Signal = Signal()
    attached: bool | None = None
    pdp_active: bool | None = None
    ip: str | None = None
    cell: Cell = Cell()
    domains: tuple[tuple[str, Registration], ...] = ()
    """Each registration domain that answered (`("C5GREG", HOME)`, ...), in asking order."""

    @property
    def registered(self) -> bool:
        """Registered on the home network or roaming."""
        return self.registration.registered
