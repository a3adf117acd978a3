"""Home Assistant MQTT discovery (device-based: one document describes the box and its entities).

Published retained on ``homeassistant/device/hems_<site>/config`` and again whenever Home Assistant
announces itself (``homeassistant/status`` = ``online``). Entities read the box's own topics: the
retained ``state`` (power, price, active alerts), ``plan`` (next planned start), ``alert`` (the last
alert) and ``status`` (availability).
"""

from __future__ import annotations

from typing import Any

from hems import __version__
from hems.mqtt import topics


def discovery_document(site: str, circuits: list[str] | None = None, currency: str = "NOK") -> dict[str, Any]:
    """The device-based discovery payload for site ``site`` (abbreviated keys as HA documents)."""
    uid = f"hems_{site.replace('-', '_')}"
    state = topics.state(site)
    cmps: dict[str, dict[str, Any]] = {
        f"{uid}_grid_import": {
            "p": "sensor",
            "name": "Grid import",
            "device_class": "power",
            "state_class": "measurement",
            "unit_of_measurement": "W",
            "state_topic": state,
            "value_template": "{{ value_json.grid.p_import_w | default(none) if value_json.grid else none }}",
            "unique_id": f"{uid}_grid_import",
        },
        f"{uid}_pv": {
            "p": "sensor",
            "name": "PV power",
            "device_class": "power",
            "state_class": "measurement",
            "unit_of_measurement": "W",
            "state_topic": state,
            "value_template": "{{ value_json.pv.p_w | default(none) if value_json.pv else none }}",
            "unique_id": f"{uid}_pv",
        },
        f"{uid}_price": {
            "p": "sensor",
            "name": "Import price now",
            "state_class": "measurement",
            "unit_of_measurement": f"{currency}/kWh",
            "state_topic": state,
            "value_template": "{{ value_json.price_now_per_kwh }}",
            "unique_id": f"{uid}_price",
        },
        f"{uid}_alerts": {
            "p": "sensor",
            "name": "Active warnings",
            "state_topic": state,
            "value_template": "{{ value_json.alerts_active | length }}",
            "json_attributes_topic": state,
            "json_attributes_template": "{{ {'alerts': value_json.alerts_active} | tojson }}",
            "unique_id": f"{uid}_alerts",
        },
        f"{uid}_last_alert": {
            "p": "sensor",
            "name": "Last warning",
            "state_topic": topics.alert(site),
            "value_template": "{{ value_json.message[:250] }}",
            "unique_id": f"{uid}_last_alert",
        },
        f"{uid}_next_start": {
            "p": "sensor",
            "name": "Next planned start",
            "device_class": "timestamp",
            "state_topic": topics.plan(site),
            "value_template": "{{ value_json.next_start }}",
            "json_attributes_topic": topics.plan(site),
            "json_attributes_template": "{{ {'starts': value_json.starts} | tojson }}",
            "unique_id": f"{uid}_next_start",
        },
    }
    for cid in circuits or []:
        cmps[f"{uid}_circuit_{cid}"] = {
            "p": "sensor",
            "name": f"Circuit {cid} current",
            "device_class": "current",
            "state_class": "measurement",
            "unit_of_measurement": "A",
            "state_topic": state,
            "value_template": f"{{{{ value_json.circuits['{cid}'].i_a | default(none) }}}}",
            "unique_id": f"{uid}_circuit_{cid}",
        }
    return {
        "dev": {"ids": [uid], "name": f"hems {site}", "mf": "hems", "mdl": "hems box", "sw": __version__},
        "o": {"name": "hems", "sw": __version__},
        "cmps": cmps,
        "availability_topic": topics.status(site),
        "payload_available": "online",
        "payload_not_available": "offline",
        "qos": 1,
    }
