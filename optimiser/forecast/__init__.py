"""PV and base-load forecasts (see docs/forecast.md).

Entry points: `optimiser.forecast.worker.forecast_in_subprocess` (the daemon: pvlib stays in a
worker process), `optimiser.forecast.service.run_forecast` (same, in-process), and the pure parts
`metno.parse_locationforecast`, `bias.fit_hourly_bias`, `bias.accuracy_by_day`, `load.forecast_load`.
Importing this package imports neither pvlib nor pandas.
"""
