"""De-identification: what of the household may leave the box, and the research side's k-check.

Pure functions. The only site facts telemetry ever sees are a `SiteFacts`, made by
`deidentify_site` from the [site] section: the postcode cut to three characters plus ``x``, the
country, the time zone, the supply network and the main fuse. The meter id, the household's name,
address and full postcode are never inputs to anything in this package.
"""

from __future__ import annotations

import fnmatch
import re
import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from hems.postcode import postcode_prefix

#: Channel names that never leave the box whatever the config says: cumulative energy registers can
#: be matched against the grid company's meter readings, which would re-identify the household.
NEVER_SENT = ("*.e_*_kwh", "*meter_id*", "*.raw*")

_HOUSEHOLD_ID = re.compile(r"^h-[a-z2-7]{26}$")


class _SiteLike(Protocol):
    """The fields of hems.config.SiteConfig that de-identification reads."""

    postcode: str | None
    country: str
    timezone: str
    network: str
    main_fuse_a: float


@dataclass(frozen=True)
class SiteFacts:
    """The de-identified facts about the site that go with every batch."""

    postcode_prefix: str | None  #: e.g. "108x"; None when no postcode is configured
    country: str  #: ISO 3166 alpha-2, e.g. "NO"
    timezone: str  #: IANA zone of the local day, e.g. "Europe/Oslo"
    network: str  #: "TN", "IT" or "1P"
    main_fuse_a: float  #: main fuse rating [A]
    heating: str | None = None  #: [site] heating (wire.telemetry.HEATING); None: not said
    pv: bool | None = None  #: the home has PV ([pv] with an array); None: not known
    ev: bool | None = None  #: the home charges an EV (an ``energy`` appliance); None: not known

    def to_dict(self) -> dict[str, Any]:
        """The batch's ``site``: a fact that is not known is left out (as boxes before them did)."""
        return {k: v for k, v in asdict(self).items() if v is not None or k == "postcode_prefix"}

    def group(self) -> dict[str, Any]:
        """The facts that group similar homes (wire.comparison.group_key)."""
        return {"fuse": self.main_fuse_a, "heating": self.heating, "pv": self.pv, "ev": self.ev}


def equipment(pv: Any, appliances: Iterable[Any]) -> dict[str, bool]:
    """``pv`` and ``ev`` for `deidentify_site` from the [pv] section and the [[appliance]] list:
    PV when [pv] has an array, an EV when an appliance is of kind ``energy`` (an EV charger)."""
    return {
        "pv": bool(pv is not None and getattr(pv, "array", None)),
        "ev": any(getattr(a, "kind", None) == "energy" for a in appliances),
    }


def deidentify_site(site: _SiteLike, *, pv: bool | None = None, ev: bool | None = None) -> SiteFacts:
    """The de-identified `SiteFacts` of a [site] section (hems.config.SiteConfig); ``pv`` and
    ``ev`` from `equipment` (left out when not given)."""
    return SiteFacts(
        postcode_prefix=postcode_prefix(site.postcode),
        country=site.country,
        timezone=site.timezone,
        network=site.network,
        main_fuse_a=float(site.main_fuse_a),
        heating=getattr(site, "heating", None),
        pv=pv,
        ev=ev,
    )


def new_household_id() -> str:
    """A fresh random pseudonymous household id: ``h-`` plus 26 base32 characters (130 bits).

    Random, never derived from the meter id or anything else about the household. The alphabet
    (a–z, 2–7) has no 0, 1, 8 or 9, so the id can never contain a Norwegian postcode by chance.
    """
    raw = secrets.token_bytes(17)
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    number = int.from_bytes(raw, "big")
    return "h-" + "".join(alphabet[(number >> (5 * i)) & 31] for i in range(26))


def is_household_id(value: str) -> bool:
    return bool(_HOUSEHOLD_ID.match(value))


def channel_allowed(channel: str, patterns: Iterable[str]) -> bool:
    """True when ``channel`` matches one of ``patterns`` and none of `NEVER_SENT`."""
    if any(fnmatch.fnmatchcase(channel, bad) for bad in NEVER_SENT):
        return False
    return any(fnmatch.fnmatchcase(channel, pattern) for pattern in patterns)


@dataclass(frozen=True)
class PrefixFinding:
    """A postcode prefix shared by fewer than ``k`` households."""

    prefix: str
    households: int


def privacy_check(prefixes: Iterable[str], k: int = 5) -> list[PrefixFinding]:
    """Postcode prefixes used by fewer than ``k`` households (one entry per household), rarest first.

    A prefix shared by few households narrows a household down to a handful of streets; the
    research side should merge or withhold such prefixes before publishing (k-anonymity on the
    postcode prefix alone; combined with other attributes the groups are smaller still).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    counts = Counter(p.strip() for p in prefixes if p.strip())
    rare = [PrefixFinding(prefix, n) for prefix, n in counts.items() if n < k]
    return sorted(rare, key=lambda f: (f.households, f.prefix))


def read_prefix_list(text: str) -> list[str]:
    """Prefixes from a file: one per line, or CSV whose first column is the prefix.

    Blank lines and lines starting with ``#`` are skipped, and so is a header line whose first
    field is ``postcode_prefix`` or ``prefix``.
    """
    out = []
    for line in text.splitlines():
        field = line.split(",", 1)[0].strip().strip('"')
        if not field or field.startswith("#") or field.lower() in ("postcode_prefix", "prefix"):
            continue
        out.append(field)
    return out
