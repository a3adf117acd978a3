"""What the report, export, telemetry and consent commands share: config, database, dates.

Every problem becomes a `UsageError` naming the option or file and what was expected.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from hems.errors import UsageError

if TYPE_CHECKING:
    from hems.config import HemsConfig
    from hems.storage import Storage


def load(config_path: str | None) -> HemsConfig:
    """The config from ``--config``, or the defaults when none is given."""
    from hems.config import load_config, parse_config

    return load_config(config_path) if config_path else parse_config({}, "<defaults>")


def db_path(db: str | None, cfg: HemsConfig, config_path: str | None) -> Path:
    """``--db``, else [storage].path of ``--config``; the file must exist."""
    if db is None and config_path is None:
        raise UsageError("--db: give the database (--db PATH) or a config whose [storage].path names it")
    path = Path(db) if db is not None else Path(cfg.storage.path)
    where = "--db" if db is not None else f"{config_path}: storage.path"
    if not path.is_file():
        raise UsageError(f"{where}: {path}: no such database file")
    return path


@contextmanager
def open_storage(path: Path, *, readonly: bool) -> Iterator[Storage]:
    """The database at ``path``; a file that is not a hems database is one clear line."""
    from hems.storage import Storage

    try:
        st = Storage.open(path, readonly=readonly)
        st.channels()
    except (sqlite3.DatabaseError, OSError) as exc:
        raise UsageError(f"{path}: cannot read the database: {exc}") from None
    try:
        yield st
    finally:
        st.close()


def parse_day(text: str | None, option: str = "--date") -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}: expected a date YYYY-MM-DD, got {text!r}") from None
