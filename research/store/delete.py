"""Removing a household from the store: its partition directories, every table, every file."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from research.store import layout


@dataclass(frozen=True)
class Removed:
    files: int
    bytes: int
    tables: tuple[str, ...]


def delete_household(store: Path, household_id: str) -> Removed:
    """Remove ``store/<table>/household=<id>`` for every table (and anything else under the id)."""
    files = size = 0
    tables = []
    for table in layout.TABLES:
        folder = layout.household_dir(store, table, household_id)
        if not folder.exists():
            continue
        for p in folder.rglob("*"):
            if p.is_file():
                files += 1
                size += p.stat().st_size
        shutil.rmtree(folder)
        fd = os.open(folder.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        tables.append(table)
    return Removed(files, size, tuple(tables))
