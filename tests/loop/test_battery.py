"""A home battery under the box's plan keeps to the plan's own direction: it does not sell what the
PV forecast got wrong, nor buy to make up for a load smaller than planned (or shed); and load
shedding does not undo a capacity hour the plan chose."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from devices.appliances.agent import ApplianceAgent
from devices.appliances.link import LocalBus
from devices.simulated.appliances import SimBattery
from hems.alerts.engine import Condition
from hems.control.planning import Planning
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
    # more sun than forecast (the house imports 0.5 kW): the planned 2 kW, the import falls to 2.5 kW
    assert charging.power_w(NOW + timedelta(seconds=30), 500.0) == pytest.approx(2000.0)
    # so much sun that the house has 2.5 kW spare: all of it is stored, nothing bought
    assert charging.power_w(NOW + timedelta(seconds=40), -2500.0) == pytest.approx(2500.0)


def _capacity(hour: datetime, so_far: float, projected: float, limit: float, shed: float) -> Condition:
    data = {
        "hour_start": hour.isoformat(),
        "energy_so_far_kwh": so_far,
        "projected_kwh": projected,
        "limit_kwh": limit,
    }
    return Condition("capacity", "capacity", 1, "capacity", data, shed)


def test_shedding_does_not_undo_a_capacity_hour_the_plan_chose() -> None:
    box = Planning()
    hour = NOW.replace(minute=0)
    now = hour + timedelta(minutes=15)  # 0.75 h left, 2 kWh so far
    # the plan runs this hour at 6 kW from now on: 2 + 6 × 0.75 = 6.5 kWh, above the 4 kWh limit
    slots = [(now + timedelta(minutes=15 * i)).isoformat() for i in range(4)]
    box.plan = {"plan": {"slots": slots, "grid": {"import_kw": [6.0, 6.0, 6.0, 0.5]}}}
    within = box.within_plan([_capacity(hour, 2.0, 6.5, 4.0, 3.33)], now)[0]
    assert within.shed_kw == pytest.approx(0.0)  # the hour runs as planned
    over = box.within_plan([_capacity(hour, 2.0, 8.0, 4.0, 5.33)], now)[0]
    assert over.shed_kw == pytest.approx((8.0 - 6.5) / 0.75, abs=1e-3)  # only what goes beyond it
    # a plan that keeps the hour under the limit: the alert asks for all it asked for
    box.plan = {"plan": {"slots": slots, "grid": {"import_kw": [1.0, 1.0, 1.0, 1.0]}}}
    kept = box.within_plan([_capacity(hour, 2.0, 6.5, 4.0, 3.33)], now)[0]
    assert kept.shed_kw == pytest.approx(3.33)
    breaker = Condition("breaker.main.L1", "breaker", 1, "fuse", {}, 2.0)
    assert box.within_plan([breaker], now) == [breaker]  # safety is never weighed against a plan
