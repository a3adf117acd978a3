"""Paths of the Parquet store: tables, household and month partitions, daily and monthly files."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

TABLES = ("readings", "batches")

_HOUSEHOLD = re.compile(r"^h-[a-z2-7]{26}$")


def check_household(household_id: str) -> str:
    """The id, when it is a box's pseudonymous id (``h-`` + 26 base32); it names directories."""
    if not _HOUSEHOLD.match(household_id):
        raise ValueError(f"not a household id: {household_id!r}")
    return household_id


def household_dir(store: Path, table: str, household_id: str) -> Path:
    return store / table / f"household={check_household(household_id)}"


def month_dir(store: Path, table: str, household_id: str, month: str) -> Path:
    return household_dir(store, table, household_id) / f"month={month}"


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def day_file(store: Path, table: str, household_id: str, day: date) -> Path:
    return month_dir(store, table, household_id, month_of(day)) / f"day-{day.isoformat()}.parquet"


def month_file(store: Path, table: str, household_id: str, month: str) -> Path:
    return month_dir(store, table, household_id, month) / f"month-{month}.parquet"


def table_glob(store: Path, table: str) -> str:
    """Every Parquet file of ``table`` (daily and monthly), for DuckDB's ``read_parquet``."""
    return str(store / table / "household=*" / "month=*" / "*.parquet")


def table_files(store: Path, table: str) -> list[Path]:
    return sorted((store / table).glob("household=*/month=*/*.parquet"))


def households_in_store(store: Path) -> set[str]:
    found = set()
    for table in TABLES:
        for d in (store / table).glob("household=*"):
            found.add(d.name.removeprefix("household="))
    return found
