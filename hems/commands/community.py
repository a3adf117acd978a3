"""`hems community`: shared solar in a building or an energy community (community/).

``hems community bill --members FILE.toml --period YYYY-MM [--json] [--csv DIR] [--png FILE]
[--as PARTICIPANT|producer|grid-operator] [--key-file FILE] [--prices FILE]``: check the month's
data, allocate the production and bill each participant, or refuse the bill and say why.
``--as`` opens one view with its key (``HEMS_COMMUNITY_KEY`` or ``--key-file``); without it the
organiser's view. Exit status: 0 billed, 3 refused (the findings say why), 2 bad input.

``hems community key``: a new random access key and the hash to put in the members file.
See docs/community.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from pathlib import Path

from hems.errors import UsageError

NAME = "community"
HELP = "Shared solar in a building or an energy community: allocation and a bill per participant."
REFUSED = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    bill = sub.add_parser("bill", help="check, allocate and bill one month")
    bill.add_argument("--members", required=True, help="the members file (TOML)")
    bill.add_argument("--period", required=True, help="the month, YYYY-MM (local time of the community)")
    bill.add_argument("--json", action="store_true", help="print JSON instead of text")
    bill.add_argument(
        "--csv", metavar="DIR", help="write one CSV per participant (as the view allows) to DIR"
    )
    bill.add_argument("--png", metavar="FILE", help="draw production, shared and grid energy to a PNG")
    bill.add_argument(
        "--as",
        dest="who",
        metavar="WHO",
        help="a participant id, 'producer' or 'grid-operator' (needs its key)",
    )
    bill.add_argument("--key-file", help="file holding the access key (else $HEMS_COMMUNITY_KEY)")
    bill.add_argument("--prices", help="spot/zonal price file (overrides [community] prices)")
    sub.add_parser("key", help="print a new access key and the hash for the members file")


def _key(args: argparse.Namespace) -> str | None:
    if args.key_file:
        try:
            return Path(args.key_file).read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise UsageError(f"--key-file: cannot read {args.key_file}: {exc.strerror or exc}") from None
    return os.environ.get("HEMS_COMMUNITY_KEY") or None


def box_reader(path: Path, channel: str, start: datetime, end: datetime) -> list[tuple[datetime, float]]:
    """15-minute means [W] of a channel of a hems database (the hems box's own storage)."""
    import sqlite3

    from hems.storage import Storage

    try:
        with Storage.open(path, readonly=True) as st:
            known = st.channels()
            if channel not in known:
                raise ValueError(f"no channel {channel!r} (it has: {', '.join(known) or 'none'})")
            return [(p.time, p.mean) for p in st.series(channel, start, end, "15m")]
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"not a hems database ({exc})") from None


def run(args: argparse.Namespace) -> int:
    if args.action == "key":
        from community.access import hash_key, new_key

        key = new_key()
        print(f"key (give it to the participant, keep it secret): {key}")
        print(f'key_hash = "{hash_key(key)}"')
        return 0
    return _bill(args)


def _bill(args: argparse.Namespace) -> int:
    from community.access import AccessDenied, resolve_viewer
    from community.members import MembersError, load_members
    from community.pipeline import load_prices, run_month
    from community.render import ChartUnavailable, render_text, write_csv, write_png
    from community.series import Period
    from community.views import chart_series, tables, view

    try:
        members, base = load_members(args.members)
    except MembersError as exc:
        for line in exc.lines:
            print(f"hems: error: {line}", file=sys.stderr)
        return 2
    try:
        period = Period.month(args.period, members.community.tz)
    except ValueError as exc:
        raise UsageError(f"--period: {exc}") from None
    try:
        viewer = resolve_viewer(members, args.who, _key(args))
    except AccessDenied as exc:
        raise UsageError(str(exc)) from None
    try:
        prices = load_prices(members, base, args.prices)
    except ValueError as exc:
        raise UsageError(
            f"{'--prices' if args.prices else args.members + ': community.prices'}: {exc}"
        ) from None
    try:
        month = run_month(members, base, period, prices, box_reader)
    except ValueError as exc:  # a participant's tariff that tariffs/ cannot build
        raise UsageError(f"{args.members}: {exc}") from None
    doc = view(month, viewer)
    print(
        json.dumps(doc, indent=2, ensure_ascii=False) if args.json else render_text(doc),
        end="" if not args.json else "\n",
    )
    if month.refused:
        if args.csv or args.png:
            print("hems: no CSV or PNG for a refused bill", file=sys.stderr)
        return REFUSED
    if args.csv:
        try:
            written = write_csv(tables(month, viewer), Path(args.csv))
        except OSError as exc:
            raise UsageError(f"--csv: cannot write to {args.csv}: {exc.strerror or exc}") from None
        print(f"wrote {len(written)} CSV file(s) to {args.csv}/", file=sys.stderr)
    if args.png:
        assert month.bill is not None
        title = f"{members.community.name} {period.label} ({viewer.label})"
        try:
            write_png(
                chart_series(month, viewer), month.bill.allocation.slots, period.tz, title, Path(args.png)
            )
        except ChartUnavailable as exc:
            raise UsageError(str(exc)) from None
        except OSError as exc:
            raise UsageError(f"--png: cannot write {args.png}: {exc.strerror or exc}") from None
        print(f"wrote {args.png}", file=sys.stderr)
    return 0
