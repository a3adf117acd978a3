"""A raw PV forecast corrected against the PV meter, as the forecast job corrects its own.

The forecast job's documents (`hems.forecast`, pvlib with the weather service) are corrected
already: per local hour, measured PV over the forecast of the days before (``sources.bias`` in the
document). A raw document — from an outside service, or the twin's simulated weather service — is
not, and its error is often one-sided (a day-ahead cloud forecast maps to PV through a curve, so a
symmetric cloud error gives a lopsided PV error; measured on a July month of the twin: 8 % low).
`raw_bias` fits the same per-hour correction (`optimiser.forecast.bias.fit_hourly_bias`, a weighted
median of measured/forecast per local hour) on the stored raw forecasts of the last
``RAW_BIAS_DAYS`` days against the PV meter's 15-min means; with fewer than ``MIN_DAYS`` days to
learn from there is no correction.
"""

from __future__ import annotations

import logging
import math
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from optimiser.forecast.bias import HourlyBias, fit_hourly_bias

log = logging.getLogger(__name__)

RAW_BIAS_DAYS = 14
MIN_DAYS = 3
PV_CHANNEL = "pv.p_w"
INTRADAY_HOURS = 2.0  #: the measured stretch behind today's correction [h]
INTRADAY_FADE_H = 12.0  #: the correction's time constant ahead [h]
INTRADAY_MIN_KWH = 0.25  #: forecast energy in that stretch below which nothing is learnt (dawn)
INTRADAY_LIMITS = (0.25, 4.0)


def is_raw(doc: dict[str, Any]) -> bool:
    """True for a forecast document the forecast job has not corrected against the meter."""
    sources = doc.get("sources")
    return not (isinstance(sources, dict) and "bias" in sources)


def _slots(doc: dict[str, Any]) -> list[tuple[datetime, float]]:
    out = []
    for slot in doc.get("slots", []):
        try:
            t = datetime.fromisoformat(str(slot["start"]).replace("Z", "+00:00"))
            out.append((t, max(float(slot["pv_w"]), 0.0)))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def raw_bias(storage: Any, tz: str, day: date, days: int = RAW_BIAS_DAYS) -> HourlyBias | None:
    """The per-hour correction of raw forecasts learnt on the ``days`` before ``day`` (None: too
    little to learn from, or no PV meter)."""
    zone = ZoneInfo(tz)
    if PV_CHANNEL not in storage.channels():
        return None
    forecast: list[tuple[datetime, float]] = []
    for back in range(1, days + 1):
        doc = storage.get_doc(f"forecast.pv.{(day - timedelta(days=back)).isoformat()}")
        if isinstance(doc, dict) and is_raw(doc):
            forecast += _slots(doc)
    if not forecast:
        return None
    start = datetime.combine(day - timedelta(days=days), time(0), zone)
    end = datetime.combine(day, time(0), zone)
    measured = [(p.time, p.mean) for p in storage.series(PV_CHANNEL, start, end, "15m") if p.mean is not None]
    bias = fit_hourly_bias(forecast, measured, tz, min_days=MIN_DAYS)
    return bias if bias.days >= MIN_DAYS else None


class RawCorrection:
    """`raw_bias` per planned day, learnt once a day (plans are made many times a day)."""

    def __init__(self, storage: Any, tz: str) -> None:
        self.storage = storage
        self.tz = tz
        self._by_day: dict[date, HourlyBias | None] = {}

    def factor(self, day: date, t: datetime) -> float:
        if day not in self._by_day:
            try:
                self._by_day = {day: raw_bias(self.storage, self.tz, day)}
            except Exception as exc:  # a correction that cannot be learnt is no reason to stop planning
                log.warning("no PV forecast correction for %s: %s", day, exc)
                self._by_day = {day: None}
        bias = self._by_day[day]
        return 1.0 if bias is None else bias.factor(t, self.tz)


def intraday_factors(
    storage: Any, forecast_kw: dict[datetime, float], slots: list[datetime], tz: str
) -> list[float]:
    """Today's correction of the forecast for ``slots`` (the plan's, from the next slot boundary):
    measured PV over the forecast in the last ``INTRADAY_HOURS``, fading with the lead time over
    ``INTRADAY_FADE_H`` and 1 from tomorrow on. A day-ahead cloud forecast errs for the whole day
    (a grey morning forecast sunny stays grey), and each re-plan sees the sky as it is; 1 where the
    stretch had too little sun to learn from, or no PV meter.

    ``forecast_kw``: the forecast [kW] per slot start, the stretch's slots included."""
    ones = [1.0] * len(slots)
    if not slots or PV_CHANNEL not in storage.channels():
        return ones
    now = slots[0]
    since = now - timedelta(hours=INTRADAY_HOURS)
    points = storage.series(PV_CHANNEL, since, now, "15m")
    measured = {p.time: p.mean / 1000.0 for p in points if p.mean is not None}
    both = [(measured[t], forecast_kw[t]) for t in measured if t in forecast_kw]
    expected = sum(f for _, f in both) * 0.25
    if expected < INTRADAY_MIN_KWH:
        return ones
    lo, hi = INTRADAY_LIMITS
    ratio = min(hi, max(lo, sum(m for m, _ in both) * 0.25 / expected))
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    out = []
    for t in slots:
        if t.astimezone(zone).date() != today:
            out.append(1.0)
            continue
        lead_h = (t - now).total_seconds() / 3600.0
        out.append(1.0 + (ratio - 1.0) * math.exp(-lead_h / INTRADAY_FADE_H))
    return out
