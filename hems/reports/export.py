"""Export of the household's own data: CSV per channel and resolution, and Green Button (ESPI) XML.

Green Button "Download My Data" is an Atom feed (RFC 4287) whose entries carry NAESB REQ.21 ESPI
resources (namespace ``http://naesb.org/espi``), linked by ``self``/``up``/``related`` links:

    UsagePoint (ServiceCategory kind 0 = electricity) ─related→ MeterReading, LocalTimeParameters
    MeterReading (one per exported channel) ─related→ ReadingType, IntervalBlock
    ReadingType: accumulationBehaviour 4 (delta data), commodity 1 (electricity), dataQualifier 12
        (normal), flowDirection 1 (forward: delivered to the home) or 19 (reverse: exported),
        intervalLength [s], kind 12 (energy), powerOfTenMultiplier 0, timeAttribute 0, uom 72 (Wh)
    IntervalBlock (one per local day): interval {duration, start} and IntervalReading
        {timePeriod {duration [s], start [unix s]}, value [Wh]}

Child elements follow the order of the ESPI schema's sequences. Slot energies come from the
storage rollups: Wh = mean power [W] × slot length [h].
"""

from __future__ import annotations

import csv
import io
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hems.reports.periods import local_midnight
from hems.reports.summary import StorageReader

ATOM = "http://www.w3.org/2005/Atom"
ESPI = "http://naesb.org/espi"
ET.register_namespace("", ATOM)
ET.register_namespace("espi", ESPI)

SLOT_SECONDS = {"1m": 60, "15m": 900, "1h": 3600}
ESPI_RESOLUTIONS = ("15m", "1h", "1d")
_UUID_NS = uuid.UUID("5d1c0f6e-8a53-4c5e-9a57-0e8b4b1a7c11")  #: ids are stable for the same export


def _slot_end(t: datetime, resolution: str, tz: ZoneInfo) -> datetime:
    if resolution == "1d":
        return local_midnight(t.astimezone(tz).date() + timedelta(days=1), tz)
    if resolution == "raw":
        return t
    return t + timedelta(seconds=SLOT_SECONDS[resolution])


def _number(value: float, digits: int) -> str:
    """``value`` with at most ``digits`` significant digits, in its shortest form (5049.87)."""
    return repr(float(f"{float(value):.{digits}g}"))


def export_csv(
    storage: StorageReader, channel: str, resolution: str, start: datetime, end: datetime, tz: ZoneInfo
) -> str:
    """One channel at one resolution: ``time_utc,time_local,mean,min,max,n`` (values in the
    channel's unit, named in the header, e.g. ``mean_w``). Values carry the precision they were
    stored with (hems/storage/codec.py): 7 significant digits for float32 channels — 5049.87, not
    5049.86962890625 — and 15 for the float64 energy registers (``*_kwh``)."""
    digits = 15 if channel.endswith("_kwh") else 7
    unit = channel.rsplit("_", 1)[-1] if "_" in channel.rsplit(".", 1)[-1] else "value"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["time_utc", "time_local", f"mean_{unit}", f"min_{unit}", f"max_{unit}", "n"])
    for p in storage.series(channel, start, end, resolution):
        writer.writerow(
            [
                p.time.astimezone(UTC).isoformat(),
                p.time.astimezone(tz).isoformat(),
                _number(p.mean, digits),
                _number(p.min, digits),
                _number(p.max, digits),
                p.n,
            ]
        )
    return buf.getvalue()


# ----- Green Button / ESPI ---------------------------------------------------------------------------
def _a(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        el.text = text
    return el


def _e(parent: ET.Element, tag: str, text: object = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ESPI}}}{tag}")
    if text is not None:
        el.text = str(text)
    return el


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dst_rule(month: int, hour: int) -> str:
    """ESPI DstRuleType: the last Sunday of ``month`` at ``hour`` local (the EU rule), as hex.

    Bits 28–31 month, 25–27 operator (7 = last occurrence), 20–24 day of month (0: n/a),
    17–19 day of week (7 = Sunday), 12–16 hours, 0–11 seconds.
    """
    return f"{(month << 28) | (7 << 25) | (7 << 17) | (hour << 12):08X}"


def local_time_parameters(tz: ZoneInfo, year: int) -> dict[str, str]:
    """tzOffset/dstOffset [s] of ``tz`` and, for zones with summer time, the EU transition rules."""
    winter = datetime(year, 1, 15, 12, tzinfo=tz).utcoffset() or timedelta(0)
    summer = datetime(year, 7, 15, 12, tzinfo=tz).utcoffset() or timedelta(0)
    dst = summer - winter
    has_dst = dst != timedelta(0)
    return {
        "dstEndRule": _dst_rule(10, 3) if has_dst else "00000000",
        "dstOffset": str(int(dst.total_seconds())),
        "dstStartRule": _dst_rule(3, 2) if has_dst else "00000000",
        "tzOffset": str(int(winter.total_seconds())),
    }


def export_espi(
    storage: StorageReader,
    channels: list[str],
    resolution: str,
    first: date,
    last: date,
    tz: ZoneInfo,
    now: datetime,
) -> bytes:
    """A Green Button feed of the energy of ``channels`` (power channels [W]) for local days
    [first, last] at ``resolution`` ("15m", "1h" or "1d"), one IntervalBlock per local day."""
    if resolution not in ESPI_RESOLUTIONS:
        raise ValueError(f"ESPI interval data needs 15m, 1h or 1d, got {resolution!r}")
    for ch in channels:
        if not ch.endswith("_w"):
            raise ValueError(f"ESPI exports energy: {ch!r} is not a power channel (…_w)")
    stamp = _iso(now)
    feed = ET.Element(f"{{{ATOM}}}feed")
    key = f"{first}/{last}/{resolution}/{','.join(channels)}"
    _a(feed, "id", f"urn:uuid:{uuid.uuid5(_UUID_NS, key)}")
    _a(feed, "title", "hems: Green Button Download My Data")
    _a(feed, "updated", stamp)
    base = "RetailCustomer/1/UsagePoint"
    up = f"{base}/1"
    entries: list[tuple[ET.Element, ET.Element]] = []

    def entry(key: str, title: str, self_href: str, up_href: str, related: list[str]) -> ET.Element:
        e = _a(feed, "entry")
        _a(e, "id", f"urn:uuid:{uuid.uuid5(_UUID_NS, key)}")
        _a(e, "link", rel="self", href=self_href)
        _a(e, "link", rel="up", href=up_href)
        for href in related:
            _a(e, "link", rel="related", href=href)
        _a(e, "title", title)
        content = _a(e, "content")
        entries.append((e, content))
        return content

    usage = entry("usagepoint", "hems household", up, base, [f"{up}/MeterReading", "LocalTimeParameters/1"])
    _e(_e(_e(usage, "UsagePoint"), "ServiceCategory"), "kind", 0)
    ltp = _e(
        entry("ltp", "local time", "LocalTimeParameters/1", "LocalTimeParameters", []), "LocalTimeParameters"
    )
    for tag, value in local_time_parameters(tz, first.year).items():
        _e(ltp, tag, value)
    start, end = local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz)
    for i, channel in enumerate(channels, start=1):
        mr = f"{up}/MeterReading/{i}"
        _e(
            entry(
                f"mr/{channel}",
                channel,
                mr,
                f"{up}/MeterReading",
                [f"{mr}/IntervalBlock", f"ReadingType/{i}"],
            ),
            "MeterReading",
        )
        rt = _e(
            entry(f"rt/{channel}/{resolution}", f"{channel} energy", f"ReadingType/{i}", "ReadingType", []),
            "ReadingType",
        )
        interval_s = SLOT_SECONDS.get(resolution, 86400)
        reading_type: tuple[tuple[str, int], ...] = (
            ("accumulationBehaviour", 4),
            ("commodity", 1),
            ("dataQualifier", 12),
            ("flowDirection", 19 if channel == "grid.p_export_w" else 1),
            ("intervalLength", interval_s),
            ("kind", 12),
            ("powerOfTenMultiplier", 0),
            ("timeAttribute", 0),
            ("uom", 72),
        )
        for tag, code in reading_type:
            _e(rt, tag, code)
        by_day: dict[date, list[tuple[datetime, datetime, float]]] = {}
        for p in storage.series(channel, start, end, resolution):
            slot_end = _slot_end(p.time, resolution, tz)
            wh = p.mean * (slot_end - p.time).total_seconds() / 3600
            by_day.setdefault(p.time.astimezone(tz).date(), []).append((p.time, slot_end, wh))
        for j, day in enumerate(sorted(by_day), start=1):
            block = _e(
                entry(
                    f"ib/{channel}/{resolution}/{day}",
                    f"{channel} {day}",
                    f"{mr}/IntervalBlock/{j}",
                    f"{mr}/IntervalBlock",
                    [],
                ),
                "IntervalBlock",
            )
            d0, d1 = local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
            interval = _e(block, "interval")
            _e(interval, "duration", int((d1 - d0).total_seconds()))
            _e(interval, "start", int(d0.timestamp()))
            for t0, t1, wh in by_day[day]:
                reading = _e(block, "IntervalReading")
                period = _e(reading, "timePeriod")
                _e(period, "duration", int((t1 - t0).total_seconds()))
                _e(period, "start", int(t0.timestamp()))
                _e(reading, "value", round(wh))
    for e, _ in entries:
        _a(e, "published", stamp)
        _a(e, "updated", stamp)
    ET.indent(feed, space=" ")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


__all__ = ["ESPI_RESOLUTIONS", "export_csv", "export_espi", "local_time_parameters"]
