"""The social comparison on the box: fetched with the daily upload, kept as a document, said in words.

With consent and ``[telemetry] comparison = true``, `fetch_comparison` asks the research server
(``GET {endpoint}/comparison``, wire/comparison.py) how similar homes under the household's released
postcode prefix imported from the grid in the month of the last complete day: first the group of
its own site facts (fuse, heating, PV, EV), then, below k, every home of the prefix. The answer —
or the server's reason why there is none — is stored as the document ``comparison.<YYYY-MM>``
(table ``doc`` of the box's database), which the monthly report and the dashboard read.
`comparison_sentence` words it: the household's mean day against the group's median day.
"""

from __future__ import annotations

import urllib.parse
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hems.telemetry import transport
from hems.telemetry.privacy import SiteFacts
from wire.comparison import ALL, group_key, parse_comparison
from wire.errors import WireError

KEY = "comparison.{month}"  #: the stored document of a month (YYYY-MM)


def doc_key(month: str) -> str:
    return KEY.format(month=month)


def comparison_month(now: datetime, tz: ZoneInfo) -> str:
    """The month of the last complete local day (on the 1st: the month just ended)."""
    return f"{(now.astimezone(tz) - timedelta(days=1)).date():%Y-%m}"


def fetch_comparison(endpoint: transport.Endpoint, storage: Any, site: SiteFacts, now: datetime) -> str:
    """Fetch and store this month's comparison; returns what happened, in words. Raises
    `transport.TransportError` for server or network trouble (nothing is stored then)."""
    month = comparison_month(now, ZoneInfo(site.timezone))
    facts = site.group()
    # the home's own cell of the partition when every fact is known (the server offers no coarser
    # groups: they could be subtracted from each other), then the whole prefix
    groups = ([group_key(facts)] if all(v is not None for v in facts.values()) else []) + [ALL]
    reason = ""
    for group in dict.fromkeys(groups):  # the home's own group, then the whole prefix
        query = urllib.parse.urlencode({"group": group, "month": month})
        status, answer = transport.get_refusable(endpoint, f"/comparison?{query}")
        if status == 200:
            try:
                doc = parse_comparison(answer)
            except WireError as exc:
                raise transport.ServerRefused(f"the comparison answer is malformed: {exc}") from None
            storage.put_doc(doc_key(month), {"comparison": doc, "reason": None}, now)
            return f"comparison for {month}: {doc['prefix']}, group {doc['group']}"
        reason = str(answer.get("error") or f"HTTP {status}")
        if status != 403:  # 404: the prefix or the month is not there at all; a coarser group won't be
            break
    storage.put_doc(doc_key(month), {"comparison": None, "reason": reason}, now)
    return f"no comparison for {month}: {reason}"


def comparison_sentence(own_kwh_per_day: float | None, stored: Any, when: str = "this month") -> str | None:
    """``You used 12 % less than similar homes in 108x this month (41 homes; ...)``, a line saying
    why there is no comparison, or None when nothing was fetched (the household did not opt in).

    ``own_kwh_per_day``: the household's mean day of grid import over the month's days with data,
    the measure the server's ``monthly`` figures describe; compared with their median (p50)."""
    if not isinstance(stored, dict):
        return None
    doc = stored.get("comparison")
    if not isinstance(doc, dict):
        return f"No comparison {when}: {stored.get('reason') or 'the research server has none'}."
    monthly = doc.get("monthly")
    prefix, k = doc.get("prefix"), doc.get("k")
    homes = "similar homes" if doc.get("group") != ALL else "homes"
    if not isinstance(monthly, dict):
        return f"No comparison {when} yet: fewer than {k} {homes} in {prefix} have reported enough days."
    median = float(monthly["p50"])
    if own_kwh_per_day is None or median <= 0:
        return None
    change = 100.0 * (own_kwh_per_day - median) / median
    n = int(monthly["homes"])
    detail = (
        f"({n} homes; grid import, your {own_kwh_per_day:.1f} kWh a day against their median {median:.1f})"
    )
    if round(abs(change)) == 0:
        return f"You used about as much as {homes} in {prefix} {when} {detail}."
    word = "less" if change < 0 else "more"
    return f"You used {abs(change):.0f} % {word} than {homes} in {prefix} {when} {detail}."
