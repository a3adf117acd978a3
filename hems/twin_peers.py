"""The devices in front of the twin's driven appliances (``hems demo --drivers``, ``hems evaluate
--drivers``): each twin appliance configured with a real driver sits behind the simulated device
that driver talks to — a Shelly or Tasmota relay on the box's transport, an OCPP charge point
connecting to the box's server over a real websocket, a SunSpec inverter serving Modbus TCP — so
the box's real drivers run end to end.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devices.appliances.link import LocalBus
    from hems.config import HemsConfig

log = logging.getLogger(__name__)


class DrivenPeer:
    """A twin appliance behind simulated relays (an SG Ready heat pump has two), or a task serving
    its charge point or inverter (what `Twin.attach` ticks)."""

    def __init__(self, device: Any, relay: Any = None, task: Any = None, more: tuple[Any, ...] = ()) -> None:
        self.device, self.task = device, task
        self.relays = [r for r in (relay, *more) if r is not None]

    @property
    def relay(self) -> Any:
        return self.relays[0] if self.relays else None

    def tick(self, now: datetime) -> None:
        for relay in self.relays:
            relay.tick(now)

    def next_event(self, now: datetime) -> datetime | None:
        """The next instant the appliance changes by itself (its thermostat)."""
        t = self.device.next_change(now)
        return t if t is not None and t > now else None

    def disconnect(self, clean: bool = False) -> None:
        for relay in self.relays:
            relay.link.close(clean=clean)
        if self.task is not None:
            self.task.cancel()


def driven_peer(
    device: Any, a: Any, cfg: HemsConfig, bus: LocalBus | None, mqtt: tuple[str, int] | None, now: Any
) -> DrivenPeer:
    """Twin ``device`` behind the simulated device its driver ``a.driver`` talks to (on ``bus`` or
    the broker at ``mqtt``); ``now``: the twin's clock."""
    from devices.appliances.drivers.config import RELAY_DRIVERS

    def link(name: str) -> Any:
        if bus is not None:
            return bus.client(f"twin-relay-{name}")
        from devices.appliances.mqtt_link import MqttLink

        assert mqtt is not None
        return MqttLink(mqtt[0], mqtt[1], f"twin-relay-{cfg.site.id}-{name}")

    if a.driver in RELAY_DRIVERS:
        from devices.simulated.relays import SIM_RELAYS, TwinLoad

        device.set_power(now(), 0.0)  # the relay starts off
        return DrivenPeer(
            device, SIM_RELAYS[a.driver](link(a.id), a.device.topic, TwinLoad(device), a.device.channel)
        )
    if a.driver == "sg-ready":
        from devices.simulated.heatpump import Contact
        from devices.simulated.relays import SIM_RELAYS

        o = a.device  # the dialect as the driver picks it (devices/appliances/drivers/sgready.py)
        relay = SIM_RELAYS["shelly" if o.topic.startswith("shelly") else "tasmota"]
        contact_a = relay(link(f"{a.id}-a"), o.topic, Contact(device, "a"), o.channel)
        contact_b = relay(link(f"{a.id}-b"), o.topic_b or o.topic, Contact(device, "b"), o.channel_b)
        return DrivenPeer(device, contact_a, more=(contact_b,))
    if a.driver == "ocpp" and cfg.ocpp is not None:
        import asyncio

        return DrivenPeer(
            device, task=asyncio.get_running_loop().create_task(_charge_point(device, a, cfg, now))
        )
    if a.driver == "sunspec":
        import asyncio

        return DrivenPeer(device, task=asyncio.get_running_loop().create_task(_inverter(device, a, now)))
    raise ValueError(f"the twin has no simulated {a.driver!r} device for {a.id}")


async def _charge_point(device: Any, a: Any, cfg: HemsConfig, now: Any) -> None:
    """The twin's EV on a simulated charge point, connecting (again) until the box's server answers."""
    import asyncio

    from devices.simulated.chargepoint import run_charge_point

    assert cfg.ocpp is not None
    url = f"ws://127.0.0.1:{cfg.ocpp.port}"
    while True:
        try:
            await run_charge_point(
                url,
                a.device.charge_point,
                a.device.password,
                car=device,
                now=now,
                meter_s=1.0,
                car_w=(a.power_kw or 11.0) * 1000.0,
                car_kwh=a.device.car_kwh,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("twin charge point: %s; connecting again", type(exc).__name__)
        await asyncio.sleep(1.0)


async def _inverter(battery: Any, a: Any, now: Any) -> None:
    """The twin's battery behind a simulated SunSpec inverter: a Modbus TCP server on ``a``'s port."""
    import asyncio

    from devices.modbus.sim import start_tcp_server
    from devices.simulated.sunspec import SimSunSpec

    sim = SimSunSpec(battery.capacity_kwh, battery.max_kw * 1000.0, now=now, battery=battery)
    server, _ = await start_tcp_server([sim.device(a.device.unit_id)], port=a.device.port)
    try:
        await asyncio.Event().wait()  # until cancelled
    finally:
        await server.shutdown()
