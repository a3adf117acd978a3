"""A home battery under the box's plan keeps to the plan's own direction: it does not sell what the
PV forecast got wrong, nor buy to make up for a load smaller than planned (or shed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from devices.appliances.agent import ApplianceAgent
from devices.appliances.link import LocalBus
from devices.simulated.appliances import SimBattery
from hems.mqtt import topics

SITE = "home"
NOW = datetime(2026, 7, 10, 8, 0, tzinfo=UTC)


def _battery_under(schedule: dict[str, object]) -> SimBattery:
    """A half-full battery whose agent has heard ``schedule`` on the bus."""
    bus = LocalBus()
    battery = SimBattery("battery", 10.0, 5.0)
    agent = ApplianceAgent(battery, bus.client("twin-battery"), SITE)
    box = bus.client("box")
    doc = {"version": 1, "seq": 0, "issued": NOW.isoformat(), "start": NOW.isoformat()}
    doc.update(slot_start=NOW.isoformat(), slot_minutes=15, **schedule)
    box.publish(topics.appliance(SITE, "battery", "schedule"), json.dumps(doc).encode(), retain=True)
    agent.tick(NOW)
    agent.tick(NOW + timedelta(seconds=10))
    return battery


def test_a_battery_does_not_sell_what_the_pv_forecast_got_wrong() -> None:
    # planned: export 3 kW, the battery idle; the sun gives 2 kW less than forecast (the house's
    # surplus is 1 kW): the battery covers nothing and exports nothing of its own
    idle = _battery_under({"power_kw": [-3.0, -3.0], "battery_kw": [0.0, 0.0]})
    assert idle.power_w(NOW + timedelta(seconds=20), -1000.0) == pytest.approx(0.0)
    # the house draws 1.5 kW from the grid: the battery still covers the house itself
    assert idle.power_w(NOW + timedelta(seconds=30), 1500.0) == pytest.approx(-1500.0)
    # planned to discharge into the grid (a price peak): it keeps the planned exchange
    selling = _battery_under({"power_kw": [-3.0, -3.0], "battery_kw": [-2.0, -2.0]})
    assert selling.power_w(NOW + timedelta(seconds=20), -1000.0) == pytest.approx(-2000.0)
    # a schedule without the battery's own power: the aim alone (as before)
    aim_only = _battery_under({"power_kw": [-3.0, -3.0]})
    assert aim_only.power_w(NOW + timedelta(seconds=20), -1000.0) == pytest.approx(-2000.0)


def test_a_battery_does_not_charge_from_the_grid_where_the_plan_does_not_charge() -> None:
    # planned: import 3 kW (the EV), the battery idle; the EV is held down (the house imports 1 kW):
    # the battery does not fill the planned import from the grid (a new peak hour bought to store)
    idle = _battery_under({"power_kw": [3.0, 3.0], "battery_kw": [0.0, 0.0]})
    assert idle.power_w(NOW + timedelta(seconds=20), 1000.0) == pytest.approx(0.0)
    assert idle.power_w(NOW + timedelta(seconds=30), -800.0) == pytest.approx(800.0)  # surplus PV: yes
    # planned to charge from the grid (a cheap night hour): it keeps the planned import
    charging = _battery_under({"power_kw": [3.0, 3.0], "battery_kw": [2.0, 2.0]})
    assert charging.power_w(NOW + timedelta(seconds=20), 1000.0) == pytest.approx(2000.0)
