"""Tariffs and prices: what every kWh costs, slot by slot. Depends on nothing else in hems.

Public API (see docs/tariffs.md):

- `tariffs.household.household_tariff(config, country=, tz=, site_main_fuse_a=)` → `HouseholdTariff`
  with ``slot_prices(slots, slot_minutes, spot)`` (all-in import/export and their components).
- `tariffs.cost.cost(household, energy, spot)` → `Bill` (per slot, per month: energy, capacity, fixed).
- `tariffs.statement.statement(household, month_energy, spot)` → a month's bills line by line
  (`hems bill`); `tariffs.consumption.read_consumption(path)` reads a ``time,kwh`` file.
- `tariffs.describe.included(household, day, ...)` → what a price or bill includes and leaves out.
- `tariffs.planning.day_inputs(household, day, spot, slot_minutes=, history=)` → `DayInputs` for the
  optimiser (price arrays and the scenario format's ``[capacity_tariff]``).
- `tariffs.spot`: ``parse_entsoe_xml``, ``parse_price_csv``, ``read_prices``, ``get_entsoe_prices``.
- `tariffs.cache`: the ``PriceCache`` protocol, ``spot_for_day`` (cache → fetch → last pattern) and
  ``spot_for_period(start, end, tz, zone, cache=, fetch=)`` for a planning horizon.
- `tariffs.grid`: the Norwegian grid companies' presets (fri-nettleie, CC BY 4.0; see ``CREDIT``).
- `tariffs.series`: ``PriceSeries``, ``EnergySeries``, ``day_slots`` (alignment documented there).
"""
