"""`hems telemetry preview|status|send|privacy-check`: the research-server link, in the open.

- ``preview [--config FILE] [--db PATH] [--date D] [--json]``: exactly the batch that would be
  uploaded for the last complete day (or D), byte for byte before compression.
- ``status [--config FILE] [--db PATH] [--json]``: consent, outbox, last error.
- ``send [--config FILE] [--db PATH] [--simulated]``: run the daily job now (queue complete days,
  send what is due). A simulated database (``hems demo``, ``hems evaluate``) is refused unless
  ``--simulated`` says it is meant; its batches then carry ``"simulated": true``.
- ``privacy-check FILE [--k 5] [--json]``: for the research side, the postcode prefixes used by
  fewer than k households (FILE: one prefix per line, or CSV with the prefix first). Exit 1 if any.

Only ``cfg.telemetry`` and the de-identified site facts (`deidentify_site(cfg.site)`) are handed to
hems.telemetry; the [contact] section never is.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from hems.errors import UsageError

NAME = "telemetry"
HELP = "Preview, send and check the de-identified telemetry for the research server."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="telemetry_command", metavar="ACTION", required=True)
    preview = sub.add_parser("preview", help="print exactly what would be uploaded for a day")
    status = sub.add_parser("status", help="consent, outbox and the last upload error")
    send = sub.add_parser("send", help="queue complete days and send what is due, now")
    for p in (preview, status, send):
        p.add_argument("--config", help="hems.toml ([telemetry], [site]); default: built-in defaults")
        p.add_argument("--db", help="hems database (default: [storage].path of --config)")
    for p in (preview, status, send):
        p.add_argument("--json", action="store_true", help="print JSON")
    preview.add_argument("--date", help="local day YYYY-MM-DD (default: the last complete day)")
    send.add_argument(
        "--simulated",
        action="store_true",
        help="upload a simulated database (hems demo's) on purpose; its batches say they are simulated",
    )
    check = sub.add_parser("privacy-check", help="postcode prefixes shared by fewer than k households")
    check.add_argument("file", help="prefixes in use: one per line, or CSV with the prefix first")
    check.add_argument("--k", type=int, default=5, help="smallest acceptable group (default 5)")
    check.add_argument("--json", action="store_true")


def _site(cfg: Any, source: str) -> Any:
    from hems.telemetry.privacy import deidentify_site, equipment

    try:
        return deidentify_site(cfg.site, **equipment(cfg.pv, cfg.appliances))
    except ValueError as exc:
        raise UsageError(f"{source}: site.postcode: {exc}") from None


def run(args: argparse.Namespace) -> int:
    if args.telemetry_command == "privacy-check":
        return _privacy_check(args)
    from hems.clock import SystemClock
    from hems.reports.cli_support import db_path, load, open_storage, parse_day
    from hems.telemetry import daily_upload, preview
    from hems.telemetry.outbox import Outbox
    from hems.telemetry.upload import consent_blocker

    cfg = load(args.config)
    path = db_path(args.db, cfg, args.config)
    site = _site(cfg, args.config or "<defaults>")
    clock = SystemClock()
    with open_storage(path, readonly=False) as st:
        if args.telemetry_command == "preview":
            batch = preview(cfg.telemetry, st, site, parse_day(args.date), clock.now())
            blocker = consent_blocker(cfg.telemetry, Outbox(st.connection, st.lock))
            if args.json:
                json.dump(batch, sys.stdout, indent=1, ensure_ascii=False, sort_keys=True)
                print()
            else:
                _print_preview(batch, blocker)
            return 0
        if args.telemetry_command == "status":
            outbox = Outbox(st.connection, st.lock)
            status = outbox.status()
            withdrawn = outbox.withdrawn_at()
            doc = {  # consent: in force (the config's, unless withdrawn since)
                "consent": cfg.telemetry.consent and withdrawn is None,
                "consent_in_config": cfg.telemetry.consent,
                "withdrawn_at": withdrawn.isoformat() if withdrawn else None,
                "blocked": consent_blocker(cfg.telemetry, outbox),
                "endpoint": cfg.telemetry.endpoint,
                "household_id": outbox.get_state("household_id"),
                "pending": status.pending,
                "acknowledged": status.acked,
                "deletions_pending": status.deletions_pending,
                "oldest_pending_day": status.oldest_pending_day,
                "last_error": status.last_error,
            }
            _emit(doc, args.json)
            return 0
        simulated = bool(st.simulated)
        if simulated and not args.simulated:
            raise UsageError(
                f"{path}: this database holds simulated data ({st.simulated}), not a household's; "
                "to upload it anyway (marked simulated) add --simulated"
            )
        if args.simulated and not simulated:
            raise UsageError(f"--simulated: {path} is a household's own database, not a simulated one")
        result = daily_upload(cfg.telemetry, st, clock, site, simulated=simulated)
    _emit(result.to_dict(), args.json)
    return 0 if result.ok else 1


def _emit(doc: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(doc, indent=1, ensure_ascii=False))
        return
    for key, value in doc.items():
        print(f"{key:<20} {value if value is not None else '—'}")


def _print_preview(batch: dict[str, Any], blocker: str | None) -> None:
    from hems.telemetry.batch import encode

    summary = batch["summary"]["house"]
    print(f"batch {batch['batch_id']} ({len(encode(batch))} bytes gzip'd)")
    print(f"site: {json.dumps(batch['site'])}")
    interval = batch["interval"]
    every = (
        f"{interval['resolution_seconds']} s"
        if "resolution_seconds" in interval
        else f"{interval['resolution_minutes']} min"
    )
    print(f"readings every {every} ({interval['slots']} slots): {', '.join(batch['readings']) or 'none'}")
    print(
        f"summary: import {summary['import_kwh']} kWh, export {summary['export_kwh']} kWh,"
        f" PV {summary['pv_kwh']} kWh"
    )
    print(f"not sent: {blocker}" if blocker else "would be sent at the next upload")
    print("(--json prints the whole batch)")


def _privacy_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hems.telemetry.privacy import privacy_check, read_prefix_list

    if args.k < 1:
        raise UsageError(f"--k: expected a whole number of households >= 1, got {args.k}")
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{args.file}: cannot read: {exc}") from None
    prefixes = read_prefix_list(text)
    rare = privacy_check(prefixes, args.k)
    if args.json:
        doc = {
            "k": args.k,
            "households": len(prefixes),
            "prefixes": len(set(prefixes)),
            "rare": [{"prefix": f.prefix, "households": f.households} for f in rare],
        }
        print(json.dumps(doc, indent=1))
    elif rare:
        print(f"{len(rare)} of {len(set(prefixes))} postcode prefixes have fewer than {args.k} households:")
        for f in rare:
            print(f"  {f.prefix:<8} {f.households}")
        print("merge them with a neighbouring prefix or withhold them before publishing")
    else:
        print(f"every postcode prefix has at least {args.k} households ({len(prefixes)} households)")
    return 1 if rare else 0
