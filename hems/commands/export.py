"""`hems export`: the household's own data, as CSV, Parquet or a Green Button (ESPI) XML feed.

``hems export [--db PATH] [--config FILE] --format csv|espi [--channel CH ...] [--resolution 15m]
--from YYYY-MM-DD --to YYYY-MM-DD --out PATH``. Days are local and inclusive. CSV: one channel per
file (``--out FILE``), or several into a directory (``--out DIR``: ``<channel>_<resolution>.csv``).
ESPI: the grid import and export energy by default; any power channel (``..._w``) may be named.
Parquet: every channel (or the named ones) in one tidy file, ``--out FILE`` (needs pyarrow).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hems.errors import UsageError

NAME = "export"
HELP = "Export your data: CSV per channel, Parquet (one tidy table), or Green Button (ESPI) interval XML."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="hems database (default: [storage].path of --config)")
    parser.add_argument("--config", help="hems.toml: time zone and storage path")
    parser.add_argument("--format", choices=("csv", "espi", "parquet"), required=True)
    parser.add_argument(
        "--channel", action="append", help="channel to export (repeatable; default: csv all, espi grid)"
    )
    parser.add_argument("--resolution", choices=("raw", "1m", "15m", "1h", "1d"), default="15m")
    parser.add_argument("--from", dest="first", required=True, help="first local day, YYYY-MM-DD")
    parser.add_argument("--to", dest="last", required=True, help="last local day (inclusive), YYYY-MM-DD")
    parser.add_argument("--out", required=True, help="output file (or directory for several CSV channels)")


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"--out: cannot write {path}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from hems.clock import SystemClock
    from hems.reports.cli_support import db_path, load, open_storage, parse_day
    from hems.reports.export import ESPI_RESOLUTIONS, export_csv, export_espi
    from hems.reports.periods import local_midnight

    cfg = load(args.config)
    path = db_path(args.db, cfg, args.config)
    first, last = parse_day(args.first, "--from"), parse_day(args.last, "--to")
    assert first is not None and last is not None
    if last < first:
        raise UsageError(f"--to: {last} is before --from {first}")
    out = Path(args.out)
    with open_storage(path, readonly=True) as st:
        tz = ZoneInfo(cfg.site.timezone) if args.config else st.timezone
        known = st.channels()
        if args.format == "espi":
            channels = args.channel or [c for c in ("grid.p_import_w", "grid.p_export_w") if c in known]
        else:
            channels = args.channel or known
        unknown = [c for c in channels if c not in known]
        if unknown:
            raise UsageError(
                f"--channel: {', '.join(unknown)} not in the database (it has: {', '.join(known)})"
            )
        if not channels:
            raise UsageError(f"{path}: the database holds no channels to export")
        if args.format == "espi":
            if args.resolution not in ESPI_RESOLUTIONS:
                raise UsageError(
                    f"--resolution: ESPI interval data needs 15m, 1h or 1d, got {args.resolution}"
                )
            try:
                data = export_espi(st, channels, args.resolution, first, last, tz, SystemClock().now())
            except ValueError as exc:
                raise UsageError(f"--channel: {exc}") from None
            _write(out, data)
            print(f"wrote {out} (Green Button ESPI, {len(channels)} channel(s), {first} – {last})")
            return 0
        start, end = local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz)
        if args.format == "parquet":
            from hems.reports.parquet import ParquetUnavailable, export_parquet

            try:
                rows = export_parquet(st, channels, args.resolution, start, end, tz, out)
            except ParquetUnavailable as exc:
                raise UsageError(str(exc)) from None
            except OSError as exc:
                raise UsageError(f"--out: cannot write {out}: {exc}") from None
            print(f"wrote {out} (Parquet, {len(channels)} channel(s), {rows} rows, {first} – {last})")
            return 0
        if len(channels) == 1 and not out.is_dir():
            _write(out, export_csv(st, channels[0], args.resolution, start, end, tz).encode())
            print(f"wrote {out}")
            return 0
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--out: cannot make directory {out}: {exc}") from None
        for channel in channels:
            target = out / f"{channel}_{args.resolution}.csv"
            _write(target, export_csv(st, channel, args.resolution, start, end, tz).encode())
        print(f"wrote {len(channels)} CSV files to {out}/")
    return 0
