"""Drivers for appliances a household owns (#19): relays (Shelly Gen1/Gen2/Gen3, Tasmota) over MQTT,
EV chargers over OCPP 1.6J (the box is the central system), SG Ready heat pumps on two relays, and
battery inverters over Modbus (SunSpec). Each is an `base.Actuator` behind a `base.DrivenDevice`,
which the `devices.appliances.agent.ApplianceAgent` speaks for: the box cannot tell them from an
appliance that speaks its protocol itself. See docs/appliances.md.
"""
