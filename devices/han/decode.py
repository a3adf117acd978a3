"""One complete frame -> readings: HDLC, M-Bus, LLC/APDU or P1, plain or encrypted. Pure.

`parse_frame` takes the bytes of one frame (as given to ``hems decode --hex``) and returns a
`MeterReading` or raises `FrameError`; `parse_hdlc_frame`, `parse_mbus_frames`, `parse_apdu` and
`parse_telegram` are the per-transport steps that the stream decoder reuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from devices.han import cosem, dlms, framing, p1
from devices.han.errors import FrameError
from devices.limits import implausible
from devices.natures import GridReading

#: HDLC source address -> vendor, for lists that do not name their vendor (list 1)
_HDLC_VENDORS = {b"\x08\x83": "Aidon", b"\x02\x01": "Kaifa", b"\x00\x01": "Kaifa", b"\x21": "Kamstrup"}

#: The time zone a meter's wall clock runs in, by country (meters' deviation fields are unreliable)
COUNTRY_TZ = {
    "NO": "Europe/Oslo",
    "SE": "Europe/Stockholm",
    "DK": "Europe/Copenhagen",
    "FI": "Europe/Helsinki",
    "NL": "Europe/Amsterdam",
    "BE": "Europe/Brussels",
    "LU": "Europe/Luxembourg",
    "AT": "Europe/Vienna",
    "CH": "Europe/Zurich",
    "PL": "Europe/Warsaw",
}


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """What a frame alone does not tell: keys, and the country for Kamstrup's energy scaling."""

    keys: dlms.Keys | None = None
    country: str | None = None  #: None: guessed from the frame where it matters
    kamstrup_energy_wh: int | None = None  #: 1 or 10 [Wh per count]; None: from the country


@dataclass(frozen=True, slots=True)
class MeterReading:
    """The decoded readings of one frame, keyed as in meter_frames.json ("expected")."""

    protocol: str  #: "han" (DLMS push) or "p1" (ASCII telegram)
    fields: dict[str, Any]
    raw: bytes = field(repr=False)  #: the frame bytes as received

    def __post_init__(self) -> None:
        # a frame carrying a value no meter can measure (an infinity, NaN, 1e300 W) is corrupt or
        # hostile: refused whole, so nothing of it reaches storage, reports or telemetry
        for key, value in self.fields.items():
            reason = implausible(key, value)
            if reason is not None:
                raise FrameError("implausible_value", f"{key} = {value!r}: {reason}", field=key)

    def to_grid_reading(self, received: datetime, timezone: str | tzinfo | None = None) -> GridReading:
        """The daemon's `GridReading`: ``time`` = reception [UTC], meter clock made aware.

        Wall clocks are read in the meter's country time zone (``timezone``, default Europe/Oslo)
        rather than by their deviation field, which Aidon sets to 0 on local time. IT meters'
        unmeasured phase (sent as 0) becomes None.
        """
        f = self.fields
        tz = ZoneInfo(timezone) if isinstance(timezone, str) else (timezone or ZoneInfo("Europe/Oslo"))
        values: dict[str, Any] = {}
        for key in GridReading.__dataclass_fields__:
            if key in f and key not in ("meter_clock", "time", "raw"):
                values[key] = f[key]
        if f.get("network") == "IT":
            for key in ("u_l2_v", "i_l2_a"):
                if values.get(key) == 0:
                    values[key] = None
        if f.get("stale_hourly"):
            values.pop("e_import_kwh", None)
            values.pop("e_export_kwh", None)
        for key in ("meter_id", "meter_type", "list_id"):
            if key in values and values[key] is not None:
                values[key] = str(values[key])
        for key, value in list(values.items()):
            if isinstance(value, int) and not isinstance(value, bool):
                values[key] = float(value)
        clock = f.get("meter_clock") or f.get("apdu_datetime")
        meter_clock = None
        if isinstance(clock, str):
            wall = datetime.fromisoformat(clock)
            # in the hour the clocks go back a wall time happens twice: the one nearest reception
            folds = [wall.replace(tzinfo=tz, fold=f).astimezone(UTC) for f in (0, 1)]
            meter_clock = min(folds, key=lambda c: abs(c - received.astimezone(UTC)))
        elif "timestamp_raw" in f:
            meter_clock = p1_timestamp(str(f["timestamp_raw"]), tz)
        return GridReading(time=received.astimezone(UTC), meter_clock=meter_clock, raw=self.raw, **values)


def p1_timestamp(raw: str, tz: tzinfo) -> datetime | None:
    """``YYMMDDhhmmssX`` (X = W winter / S summer) as aware UTC; None when not in that form."""
    digits = raw[:12]
    if len(digits) != 12 or not digits.isdigit():
        return None
    try:
        wall = datetime.strptime(digits, "%y%m%d%H%M%S")  # noqa: DTZ007 - local wall clock
    except ValueError:
        return None
    # "S" means summer time: of the two readings of an ambiguous hour, the first (fold=0).
    fold = 1 if raw[12:13] == "W" else 0
    return wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)


def parse_apdu(
    apdu: bytes, options: DecodeOptions, raw: bytes, vendor_hint: str | None = None
) -> MeterReading:
    """An APDU (plain or general-glo-ciphered, LLC stripped) -> readings."""
    plain, security = dlms.decipher(apdu, options.keys)
    if plain[:1] == b"/":  # Luxembourg Smarty: a P1 telegram inside the ciphering
        reading = parse_telegram(plain, raw=raw)
        if security:
            reading.fields["security"] = security
        return reading
    note = dlms.parse_notification(plain)
    cosem_options = cosem.CosemOptions(
        country=options.country, kamstrup_energy_wh=options.kamstrup_energy_wh, vendor_hint=vendor_hint
    )
    fields = cosem.readings(note, cosem_options)
    if not any(k not in ("apdu_datetime", "apdu_datetime_deviation_min") for k in fields):
        raise FrameError("unsupported", "data-notification holds no list this decoder knows")
    if security:
        fields["security"] = security
    return MeterReading(protocol="han", fields=fields, raw=raw)


def parse_hdlc_frame(data: bytes, options: DecodeOptions) -> MeterReading:
    """One complete, unsegmented HDLC frame."""
    frame = framing.parse_hdlc(data)
    if frame.segmented:
        raise FrameError("unsupported", "segmented HDLC frame: decode the stream to reassemble it")
    if not frame.info:
        raise FrameError("unsupported", "HDLC frame without information field")
    raw = data[: frame.length + 2]
    reading = parse_apdu(dlms.strip_llc(frame.info), options, raw, _HDLC_VENDORS.get(frame.src))
    if len(data) > len(raw):
        reading.fields["trailing_bytes"] = len(data) - len(raw)
    return reading


def parse_mbus_frames(data: bytes, options: DecodeOptions) -> MeterReading:
    """One or more M-Bus long frames back to back, holding the segments of one APDU."""
    pos, payload = 0, b""
    while True:
        total = framing.mbus_length(data, pos)
        if total is None:
            raise FrameError("truncated", "M-Bus segments end before the last segment")
        segment = framing.parse_mbus(data[pos : pos + total])
        payload += segment.payload
        pos += total
        if segment.last:
            break
    return parse_apdu(dlms.strip_llc(payload), options, data[:pos])


def parse_telegram(data: bytes, raw: bytes | None = None) -> MeterReading:
    return MeterReading(protocol="p1", fields=p1.parse_p1(data), raw=data if raw is None else raw)


def parse_frame(data: bytes, options: DecodeOptions | None = None) -> MeterReading:
    """Decode one frame of any supported kind, detected from its first bytes."""
    options = options or DecodeOptions()
    if not data:
        raise FrameError("truncated", "empty frame")
    head = data.lstrip(b"\r\n\x00 ")[:1]
    if data[0] == framing.FLAG:
        return parse_hdlc_frame(data, options)
    if data[0] == 0x68 and len(data) >= 4 and data[3] == 0x68:
        return parse_mbus_frames(data, options)
    if head == b"/":
        return parse_telegram(data)
    if data[:3] == dlms.LLC:
        return parse_apdu(data[3:], options, data)
    if data[0] in (dlms.DATA_NOTIFICATION, dlms.GENERAL_GLO_CIPHERING):
        return parse_apdu(data, options, data)
    raise FrameError(
        "unsupported", f"unknown frame start 0x{data[0]:02x} (expected 7E, 68, E6, 0F, DB or '/')"
    )
