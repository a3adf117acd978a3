"""ENTSO-E A44 documents and price CSVs parse to the right slots; bad ones give clear errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tariffs.series import day_slots
from tariffs.spot import (
    PriceDataError,
    PriceUnavailable,
    parse_entsoe_xml,
    parse_price_csv,
    read_prices,
    to_currency,
)

DATA = Path(__file__).parents[1] / "data" / "tariffs"
OSLO = ZoneInfo("Europe/Oslo")


def test_hourly_document_gives_24_slots_from_local_midnight() -> None:
    s = parse_entsoe_xml((DATA / "entsoe_no1_2026-01-15_pt60m.xml").read_bytes())
    assert (s.slot_minutes, len(s), s.currency) == (60, 24, "EUR")
    assert s.start == datetime(2026, 1, 14, 23, tzinfo=UTC)
    assert s.start.astimezone(OSLO).hour == 0
    assert s.price_per_kwh[11] == pytest.approx(0.05217)  # 52.17 EUR/MWh at 11:00 local
    assert s.price_per_kwh[12] == pytest.approx(0.09565)


def test_spring_dst_day_has_92_quarter_hours_and_a03_gaps_forward_filled() -> None:
    s = parse_entsoe_xml((DATA / "entsoe_no1_2026-03-29_pt15m_dst.xml").read_bytes())
    assert s.slot_minutes == 15
    assert s.slot_starts() == day_slots(date(2026, 3, 29), "Europe/Oslo", 15)
    assert len(s) == 92
    assert s.price_per_kwh[:28] == pytest.approx((0.05,) * 28)  # positions 2..28 repeat position 1
    assert s.at(datetime(2026, 3, 29, 7, 45, tzinfo=OSLO)) == pytest.approx(0.05)
    assert s.at(datetime(2026, 3, 29, 8, 0, tzinfo=OSLO)) == pytest.approx(0.08)
    assert s.price_per_kwh[28:] == pytest.approx((0.08,) * 64)


def test_autumn_dst_day_has_100_quarter_hours() -> None:
    s = parse_entsoe_xml((DATA / "entsoe_no5_2025-10-26_pt15m_dst.xml").read_bytes())
    assert len(s) == 100
    assert s.slot_starts() == day_slots(date(2025, 10, 26), "Europe/Oslo", 15)
    assert s.price_per_kwh[:8] == pytest.approx((0.0413,) * 8)
    assert s.price_per_kwh[8:29] == pytest.approx(
        (0.0389,) * 21
    )  # 9 and 13 both given, 10-12 and 14-29 filled
    assert s.price_per_kwh[29] == pytest.approx(0.0612)
    assert s.price_per_kwh[99] == pytest.approx(0.0475)


def test_finer_resolution_wins_when_both_are_present_and_negative_prices_pass() -> None:
    s = parse_entsoe_xml((DATA / "entsoe_no2_2026-02-17_two_resolutions.xml").read_bytes())
    assert (s.slot_minutes, len(s)) == (15, 96)
    assert s.price_per_kwh[0] == pytest.approx(-0.002)
    assert s.price_per_kwh[16] == pytest.approx(-0.0005)
    assert s.price_per_kwh[20] == pytest.approx(0.031)


def test_acknowledgement_means_no_data_with_its_reason() -> None:
    with pytest.raises(PriceUnavailable, match="No matching data found"):
        parse_entsoe_xml((DATA / "entsoe_acknowledgement.xml").read_bytes())


def _mutate(old: str, new: str) -> bytes:
    text = (DATA / "entsoe_no1_2026-01-15_pt60m.xml").read_text()
    assert old in text
    return text.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("<resolution>PT60M</resolution>", "<resolution>P1D</resolution>", "resolution P1D not supported"),
        ("<resolution>PT60M</resolution>", "", "missing <resolution>"),
        ("<position>24</position>", "<position>25</position>", "position 25 outside 1..24"),
        ("<position>7</position>", "<position>8</position>", "position 7 missing"),
        ("<price.amount>52.17</price.amount>", "<price.amount>abc</price.amount>", "non-numeric"),
        ("<price.amount>95.65</price.amount>", "<price.amount>9000</price.amount>", "SDAC limits"),
        ("<currency_Unit.name>EUR", "<currency_Unit.name>NOK", "expected EUR/MWH"),
        ("<type>A44</type>", "<type>A65</type>", "expected A44"),
        (
            "<end>2026-01-15T23:00Z</end>\n      </timeInterval>",
            "<end>2026-01-15T23:30Z</end>\n      </timeInterval>",
            "whole number",
        ),
        ("</Publication_MarketDocument>", "", "not well-formed"),
    ],
)
def test_malformed_documents_say_what_is_wrong(old: str, new: str, message: str) -> None:
    with pytest.raises(PriceDataError, match=message):
        parse_entsoe_xml(_mutate(old, new))


def test_wrong_root_and_empty_document() -> None:
    with pytest.raises(PriceDataError, match="expected Publication_MarketDocument"):
        parse_entsoe_xml(b"<html><body>Bad gateway</body></html>")
    with pytest.raises(PriceDataError, match="no <TimeSeries>"):
        parse_entsoe_xml(
            b'<Publication_MarketDocument xmlns="x"><type>A44</type></Publication_MarketDocument>'
        )


def test_csv_prices_and_currency_conversion() -> None:
    s = read_prices(DATA / "prices_2026-01-15.csv")
    assert (s.slot_minutes, len(s), s.currency) == (60, 24, "NOK")
    assert s.start == datetime(2026, 1, 14, 23, tzinfo=UTC)
    assert s.price_per_kwh[11:13] == (0.60, 1.10)
    eur = parse_price_csv("start,price_eur_per_mwh\n2026-01-15T00:00Z,80\n2026-01-15T00:15Z,100\n")
    assert (eur.slot_minutes, eur.currency) == (15, "EUR")
    nok = to_currency(eur, 11.5, "NOK")
    assert nok.price_per_kwh == pytest.approx((0.92, 1.15))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no price rows"),
        ("time,price\n2026-01-15T00:00Z,1\n", "header must be"),
        ("start,price_per_kwh\n2026-01-15T00:00Z,x\n", ":2: price 'x' is not a number"),
        ("start,price_per_kwh\n2026-01-15T00:00,1\n", "has no offset"),
        (
            "start,price_per_kwh\n2026-01-15T00:00Z,1\n2026-01-15T01:00Z,1\n2026-01-15T03:00Z,1\n",
            ":4: rows must be evenly",
        ),
        ("start,price_per_kwh\n2026-01-15T00:00Z,1\n2026-01-15T00:05Z,1\n", "slot_minutes must be 15 or 60"),
    ],
)
def test_bad_csv_names_the_line(text: str, message: str) -> None:
    with pytest.raises(PriceDataError, match=message):
        parse_price_csv(text, "p.csv")


def test_unreadable_file_is_a_price_data_error(tmp_path: Path) -> None:
    with pytest.raises(PriceDataError, match="cannot read"):
        read_prices(tmp_path / "missing.xml")
    bad = tmp_path / "bad.xml"
    bad.write_text("<Publication_MarketDocument>")
    with pytest.raises(PriceDataError, match=r"bad\.xml: ENTSO-E document: not well-formed"):
        read_prices(bad)


def test_hourly_and_quarter_hour_days_in_one_document_are_both_kept() -> None:
    # 30 Sep 2025 in hourly prices, 1 Oct 2025 (the first 15-minute SDAC day) in quarter-hours: the
    # hourly day is laid on the quarter-hour grid (each hour's price on its four quarters).
    s = parse_entsoe_xml((DATA / "entsoe_no1_2025-09-30_mixed_resolutions.xml").read_bytes())
    assert (s.slot_minutes, len(s)) == (15, 192)
    assert s.start == datetime(2025, 9, 29, 22, tzinfo=UTC)  # local midnight of 30 Sep
    assert s.price_per_kwh[:8] == pytest.approx((0.040,) * 4 + (0.041,) * 4)
    assert s.price_per_kwh[95] == pytest.approx(0.063)  # 23:45 on 30 Sep: the 23:00 hour's price
    assert s.price_per_kwh[96:101] == pytest.approx((0.060,) * 4 + (0.070,))
    assert s.price_per_kwh[-1] == pytest.approx(0.0805)
    assert s.on_slots([datetime(2025, 9, 30, 5, tzinfo=UTC)], 60) == pytest.approx([0.047])
