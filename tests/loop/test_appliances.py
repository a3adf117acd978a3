"""The twin's appliances obey the plan: to the slot, over the in-process bus and over a real broker;
one that goes offline runs on its own and the box re-plans without it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from loop_testing import Loop, at, two_prices

from devices.appliances.device import Need
from devices.simulated.behaviour import DISHWASHER, EV_MAX_W, EV_MIN_W, WASHER


def dishwasher(when: Any, end: Any) -> Need:
    return Need("dishwasher", "dw:1", "shiftable", when, end, when, DISHWASHER)


def washer(when: Any, end: Any) -> Need:
    return Need("washer", "wm:1", "shiftable", when, end, when, WASHER)


#: no capacity steps to defend: these tests are about following schedules, not about shedding
NO_STEPS = {"alerts": {"capacity_step_upper_kw": [1000.0], "capacity_step_price": [0.0, 0.0]}}


def ev(when: Any, end: Any, kwh: float) -> Need:
    return Need("ev", "ev:1", "energy", when, end, when, (), kwh * 1000, EV_MIN_W, EV_MAX_W, True)


async def test_appliances_follow_their_schedules_to_the_slot(tmp_path: Any) -> None:
    needs = [dishwasher(at(15, 15, 5), at(15, 23)), ev(at(15, 15, 10), at(15, 23), 10.0)]
    loop = Loop(tmp_path, at(15, 15), needs, two_prices(at(15, 19), at(15, 21)), config=NO_STEPS)
    ev_power: list[tuple[Any, float, float]] = []  # (time, measured [W], planned then [W])
    try:
        while loop.clock.now() < at(15, 23):
            snapshot = await loop.daemon.run_cycle(loop.clock.now())
            plan_then = loop.agent("ev").plan
            planned = plan_then.power_at(snapshot.time) * 1000 if plan_then is not None else 0.0
            if loop.device("ev").remaining_wh() <= 0:
                planned = 0.0  # the car has what it needs: the charger stops whatever the plan says
            ev_power.append((snapshot.time, snapshot.circuits["ev-charger"].p_w or 0.0, planned))
            await loop.control.idle()
            loop.clock.advance(10)
        dw, ev_agent = loop.agent("dishwasher"), loop.agent("ev")
        assert dw.refusals == [] and ev_agent.refusals == []  # the box took every request
        plan = dw.plan
        assert plan is not None and plan.start is not None
        assert at(15, 19) <= plan.start <= at(15, 21)  # the cheap hours
        assert loop.device("dishwasher").started["dw:1"] == plan.start  # to the slot (and second)
        book = loop.control.book.entries
        assert book["dishwasher"].acked == plan.version and book["ev"].acked == ev_agent.plan.version
        # the charger drew what its schedule said, slot by slot (6 A is its least: below, it pauses)
        for t, p_w, planned in ev_power:
            expect = planned if planned >= EV_MIN_W else 0.0
            if t > at(15, 15, 11):
                assert abs(p_w - expect) < 1.0, (t, p_w, expect)
        assert loop.device("ev").sessions[0][1] == 10_000.0  # all of it, by the deadline
    finally:
        await loop.close()


async def test_an_appliance_gone_offline_runs_on_its_own_and_the_box_replans(tmp_path: Any) -> None:
    needs = [dishwasher(at(15, 15, 5), at(15, 23)), washer(at(15, 15, 5), at(15, 22))]
    loop = Loop(tmp_path, at(15, 15), needs, two_prices(at(15, 19), at(15, 21)), config=NO_STEPS)
    try:
        await loop.run_until(at(15, 16))
        wm = loop.agent("washer")
        assert wm.plan is not None and wm.plan.start >= at(15, 19)  # planned for the cheap hours
        plans_before = loop.control.plans_made
        wm.disconnect(clean=False)  # its Wi-Fi drops: the broker's last will says "offline"
        await loop.run_until(at(15, 17))
        started = loop.device("washer").started["wm:1"]
        assert at(15, 16) <= started <= at(15, 16) + timedelta(seconds=10)  # its own start (already due)
        entry = loop.control.book.entries["washer"]
        assert entry.online is False and entry.request is None
        assert "washer" not in loop.control.book.schedules()  # the box withdrew its schedule ...
        assert loop.control.plans_made > plans_before  # ... and planned the others again
        doc = loop.storage.get_doc("plan")
        assert doc["time"] >= at(15, 16).isoformat() and "washer" not in doc["starts"]
        assert doc["book"]["washer"]["online"] is False
        await loop.run_until(at(15, 22))
        dw = loop.agent("dishwasher")
        assert loop.device("dishwasher").started["dw:1"] == dw.plan.start  # the other kept its plan
    finally:
        await loop.close()


async def test_the_same_loop_over_a_real_broker(tmp_path: Any, broker: Any) -> None:
    needs = [dishwasher(at(15, 15, 5), at(15, 20))]
    prices = two_prices(at(15, 16), at(15, 17))
    loop = Loop(tmp_path, at(15, 15), needs, prices, mqtt_port=broker.port, config=NO_STEPS)

    async def pause() -> None:
        await asyncio.sleep(0.01)  # let paho carry the messages

    try:
        await loop.control.start()
        for _ in range(500):
            if loop.control.bridge is not None and loop.control.bridge.connected.is_set():
                break
            await asyncio.sleep(0.01)
        await loop.run_until(at(15, 17), pause)
        dw = loop.agent("dishwasher")
        assert dw.plan is not None and at(15, 16) <= dw.plan.start < at(15, 17)
        assert loop.device("dishwasher").started["dw:1"] == dw.plan.start
        assert loop.control.book.entries["dishwasher"].acked == dw.plan.version
    finally:
        await loop.close()
