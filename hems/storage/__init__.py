"""Storage: one SQLite database in WAL mode (see store.py for the read API, writer.py for batching)."""

from hems.storage.rollup import RESOLUTIONS, ROLLUPS
from hems.storage.schema import SchemaError
from hems.storage.store import Event, Point, Storage, from_unix, to_unix
from hems.storage.writer import SampleWriter, WriterSettings

__all__ = [
    "RESOLUTIONS",
    "ROLLUPS",
    "Event",
    "Point",
    "SampleWriter",
    "SchemaError",
    "Storage",
    "WriterSettings",
    "from_unix",
    "to_unix",
]
