"""A researcher's SQL, checked before it runs: one read-only SELECT over the released views.

Parsed with sqlglot (DuckDB's dialect), never matched with a regex. Refused, with the reason:
anything but one SELECT (or UNION/INTERSECT/EXCEPT of SELECTs), a table that is not one of the
released views (or the query's own WITH names), a qualified name (``main.x``,
``information_schema.x``), a table function (``read_parquet(...)``, ``glob(...)``), and functions that
reach outside the data (files, settings, the environment, the catalog). The engine is the second
line: the connection cannot read files outside the store or change its configuration
(research.store.released).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

VIEWS = ("households", "batches", "readings", "prefixes")
MAX_SQL_CHARS = 20_000
_DENIED_PREFIXES = ("read_", "duckdb_", "pragma_", "parquet_", "sqlite_", "postgres_", "mysql_", "iceberg_")
_DENIED = {
    "getenv", "current_setting", "glob", "query", "query_table", "sniff_csv", "parquet_scan",
    "csv_scan", "delta_scan", "json_scan", "read_text", "read_blob", "load_extension", "which_secret",
    "current_database", "current_schema", "current_schemas", "version", "checkpoint", "force_checkpoint",
    "enable_profiling", "set_config",
}  # fmt: skip


class QueryRefused(ValueError):
    """The SQL is not run (the reason is the message)."""


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower()


def check_sql(sql: str) -> exp.Query:
    """The parsed query, or `QueryRefused` with the reason."""
    if not sql.strip():
        raise QueryRefused("the query is empty")
    if len(sql) > MAX_SQL_CHARS:
        raise QueryRefused(f"the query is longer than {MAX_SQL_CHARS} characters")
    try:
        statements = [s for s in sqlglot.parse(sql, dialect="duckdb") if s is not None]
    except (ParseError, RecursionError, ValueError) as exc:
        raise QueryRefused(f"not SQL this server reads: {str(exc).splitlines()[0][:300]}") from None
    if len(statements) != 1:
        raise QueryRefused(f"one statement only, got {len(statements)}")
    query = statements[0]
    if not isinstance(query, exp.Query):
        kind = query.key.upper() if isinstance(query, exp.Expression) else "?"
        raise QueryRefused(f"read-only SELECT only: this is {kind}, which is not allowed")
    for node in query.walk():
        if isinstance(node, exp.Command | exp.Attach | exp.Copy | exp.Pragma | exp.Set | exp.Install):
            raise QueryRefused(f"{node.key.upper()} is not allowed: read-only SELECT only")
        if isinstance(node, exp.Insert | exp.Update | exp.Delete | exp.Create | exp.Drop | exp.Alter):
            raise QueryRefused(f"{node.key.upper()} writes: read-only SELECT only")
    own = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
    for table in query.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise QueryRefused(
                f"table functions are not allowed ({table.this.sql(dialect='duckdb')[:80]}): "
                f"read the released views {', '.join(VIEWS)}"
            )
        if table.args.get("db") or table.args.get("catalog"):
            raise QueryRefused(f"qualified names are not allowed ({table.sql(dialect='duckdb')[:80]})")
        name = table.name.lower()
        if name not in VIEWS and name not in own:
            raise QueryRefused(f"no table {table.name!r}: the released views are {', '.join(VIEWS)}")
    for func in query.find_all(exp.Func):
        name = _function_name(func)
        if name in _DENIED or name.startswith(_DENIED_PREFIXES):
            raise QueryRefused(f"the function {name}() is not allowed: it reaches outside the released data")
    return query
