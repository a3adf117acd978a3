"""Per-circuit Modbus energy meters (RTU over RS-485, or TCP gateways).

`build_circuit_meters(circuits)` is what the daemon calls; the register maps live in `maps`, the I/O
in `driver`. pymodbus is imported only when a bus is first opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devices.modbus.driver import (
        ModbusCircuitMeter,
        ModbusConfigError,
        WrongMapError,
        build_circuit_meters,
    )

__all__ = ["ModbusCircuitMeter", "ModbusConfigError", "WrongMapError", "build_circuit_meters"]


def __getattr__(name: str) -> Any:
    # lazy, so that loading the config (which imports devices.modbus.config) stays light
    if name in __all__:
        from devices.modbus import driver

        return getattr(driver, name)
    raise AttributeError(f"module 'devices.modbus' has no attribute {name!r}")
