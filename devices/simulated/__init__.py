"""The digital twin of a household: simulated devices implementing the same natures as real ones."""

from devices.simulated.household import Household
from devices.simulated.layout import SimCircuit, household_circuits
from devices.simulated.twin import SimCircuitMeter, SimGridMeter, SimPvInverter, Twin, TwinState

__all__ = [
    "Household",
    "SimCircuit",
    "SimCircuitMeter",
    "SimGridMeter",
    "SimPvInverter",
    "Twin",
    "TwinState",
    "household_circuits",
]
