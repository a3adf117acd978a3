"""The research data as Parquet files (pyarrow), read with DuckDB (or Spark, Trino) unchanged.

Layout (one Hive-style tree per table; `layout` names every path)::

    store/<table>/household=<household_id>/month=<YYYY-MM>/day-<YYYY-MM-DD>.parquet   as received
    store/<table>/household=<household_id>/month=<YYYY-MM>/month-<YYYY-MM>.parquet    compacted

Tables: ``readings`` (one row per channel and slot), ``batches`` (one row per received day: site
facts, interval, the day's summary, conformity flags). Removing ``store/*/household=<id>`` removes
everything held for a household.
"""
