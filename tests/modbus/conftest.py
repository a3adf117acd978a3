"""Real peers for the Modbus tests: pymodbus servers on localhost, meters built from configs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest

from devices.modbus import ModbusCircuitMeter, build_circuit_meters
from devices.modbus.config import CircuitConfig
from devices.modbus.sim import start_tcp_server


@pytest.fixture
async def tcp_server() -> AsyncIterator[Callable[..., Any]]:
    """``port = await tcp_server(devices, framer="socket")``; every server is shut down afterwards."""
    servers: list[Any] = []

    async def start(devices: Sequence[Any], framer: str = "socket") -> int:
        server, port = await start_tcp_server(devices, framer)
        servers.append(server)
        return int(port)

    yield start
    for server in servers:
        await server.shutdown()


@pytest.fixture
def meters() -> Any:
    """``meters(circuit_dicts, clock=None)`` -> built meters, whose buses are closed afterwards."""
    built: list[ModbusCircuitMeter] = []

    def build(circuits: Sequence[dict[str, Any]], clock: Any = None) -> list[ModbusCircuitMeter]:
        out = build_circuit_meters([CircuitConfig.model_validate(c) for c in circuits], clock)
        built.extend(out)
        return out

    yield build
    for meter in built:
        meter.close()


def circuit(cid: str, model: str, unit_id: int = 1, line: str = "L1", **where: Any) -> dict[str, Any]:
    """A [[circuit]] entry as parsed from TOML."""
    return {"id": cid, "line": line, "breaker_a": 16, "meter": {"model": model, "unit_id": unit_id, **where}}


@pytest.fixture
def make_circuit() -> Callable[..., dict[str, Any]]:
    return circuit
