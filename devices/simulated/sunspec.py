"""A simulated SunSpec battery inverter: a pymodbus server holding models 1, 103 and 124 at 40000
(devices/appliances/drivers/sunspec.py reads and writes them). It follows its storage controls
at once within its power and charge (``mode="ignore"``: takes writes but keeps its own control, as
an inverter switched to manual would), and keeps its state of charge — or, given the twin's
battery (``battery``), passes the controls to it and reports its charge and power.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from devices.appliances.drivers.sunspec import MODELS

BASE = 40000
LENGTHS = {1: 66, 103: 50, 124: 24}


class SimSunSpec:
    """The inverter's registers and physics."""

    def __init__(
        self,
        capacity_kwh: float = 10.0,
        max_w: float = 5000.0,
        soc_pct: float = 50.0,
        mode: str = "ok",
        now: Any = None,
        battery: Any = None,
    ) -> None:
        self.capacity_kwh, self.max_w, self.mode = capacity_kwh, max_w, mode
        self.battery = battery  #: the twin's `SimBattery`: its charge and power are the inverter's
        self.soc_kwh = capacity_kwh * soc_pct / 100.0
        self.now = now or (lambda: datetime.now(UTC))
        self.p_w = 0.0  #: + charging
        self.self_w = 0.0  #: what it does on its own (self-consumption) [W]
        self.addr: dict[int, int] = {}
        image: dict[int, int] = {BASE: 0x5375, BASE + 1: 0x6E53}
        a = BASE + 2
        for model, length in LENGTHS.items():
            image[a], image[a + 1] = model, length
            self.addr[model] = a + 2
            a += 2 + length
        image[a], image[a + 1] = 0xFFFF, 0
        m124 = self.addr[124]
        image[m124 + MODELS[124]["WChaMax"][0]] = int(max_w / 10)
        image[m124 + MODELS[124]["WChaMax_SF"][0]] = 1  # ×10 W
        image[m124 + MODELS[124]["ChaState_SF"][0]] = 0xFFFF  # −1: 0.1 %
        image[m124 + MODELS[124]["InOutWRte_SF"][0]] = 0xFFFF  # −1: 0.1 %
        self.image = image
        self._last: datetime | None = None
        self.writes = 0

    def device(self, unit_id: int = 1) -> Any:
        from devices.modbus.sim import sim_device

        return sim_device(unit_id, self.image, function="holding", action=self.action)

    def _reg(self, regs: list[int], start: int, model: int, name: str) -> int:
        return regs[self.addr[model] + MODELS[model][name][0] - start]

    async def action(
        self, fc: int, start: int, address: int, count: int, regs: list[int], values: Any
    ) -> None:
        now = self.now()
        if self.battery is not None:
            self.soc_kwh = self.battery.soc_kwh
        elif self._last is not None:
            hours = (now - self._last).total_seconds() / 3600.0
            self.soc_kwh = min(max(self.soc_kwh + self.p_w * hours / 1000.0, 0.0), self.capacity_kwh)
        self._last = now
        if values is not None:
            self.writes += 1
            if self.mode == "ignore":
                values[:] = [regs[address - start + i] for i in range(len(values))]  # taken, not used
            else:
                for i, v in enumerate(values):
                    regs[address - start + i] = v
        mode = self._reg(regs, start, 124, "StorCtl_Mod")

        def pct(name: str) -> float:
            v = self._reg(regs, start, 124, name)
            return (v - 0x10000 if v >= 0x8000 else v) / 1000.0

        told = {1: pct("InWRte") * self.max_w, 2: -pct("OutWRte") * self.max_w, 3: 0.0}.get(mode)
        p = self.self_w if told is None else told
        if (p > 0 and self.soc_kwh >= self.capacity_kwh) or (p < 0 and self.soc_kwh <= 0):
            p = 0.0
        if self.battery is not None:  # the twin's battery does it (its own control when not told)
            self.battery.direct_w = told
            p = float(self.battery.status(now).p_w) if told is None else p
        self.p_w = p
        m103, m124 = self.addr[103], self.addr[124]
        regs[m103 + MODELS[103]["W"][0] - start] = round(-p) & 0xFFFF  # + to the grid
        regs[m124 + MODELS[124]["ChaState"][0] - start] = round(self.soc_kwh / self.capacity_kwh * 1000)
