"""The appliance side of the box's protocol (docs/control.md): what an appliance needs and does
(`device.ApplianceDevice`, `device.Need`), the agent that speaks for it (`agent.ApplianceAgent`),
and how messages travel (`link.LocalBus` in-process, `mqtt_link.MqttLink` over a broker).

The digital twin's appliances and the drivers of real ones (#19: Shelly, Tasmota, OCPP, SG Ready,
SunSpec) implement `ApplianceDevice`; the box cannot tell them apart.
"""
