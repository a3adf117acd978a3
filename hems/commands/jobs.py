"""`hems jobs list|show|approve|refuse|sync`: researchers' jobs on this box, and the household's say.

- ``list [--status S] [--json]``: every job ever offered, newest first: its status, the decision and
  why (refused jobs say why; stopped jobs what stopped them).
- ``show ID [--json]``: one job whole: who asks and why, its SQL and budget, the decision, the
  resources it used and the exact result that left (or will leave) the box.
- ``approve ID`` / ``refuse ID [--why TEXT]``: the household's answer to a waiting job ("ask" in
  [research_jobs]). An approved job runs at the box's next daily round, or now with ``sync``.
- ``sync``: fetch new jobs, run approved ones and send finished results now.

All take ``--config FILE`` and ``--db PATH`` like `hems telemetry`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from hems.errors import UsageError

NAME = "jobs"
HELP = "Researchers' jobs on this box: list, show, approve, refuse, sync."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="every job offered to this box, its decision and result")
    listing.add_argument("--status", help="only jobs with this status (waiting, refused, sent, ...)")
    show = sub.add_parser("show", help="one job whole: its SQL, decision, usage and result")
    show.add_argument("id")
    approve = sub.add_parser("approve", help="run a job that waits for the household's answer")
    approve.add_argument("id")
    refuse = sub.add_parser("refuse", help="refuse a job that waits for the household's answer")
    refuse.add_argument("id")
    refuse.add_argument("--why", help="a note kept with the refusal (stays on the box)")
    sync = sub.add_parser("sync", help="fetch new jobs, run approved ones, send results, now")
    for p in (listing, show, approve, refuse, sync):
        p.add_argument(
            "--config", help="hems.toml ([telemetry], [research_jobs]); default: built-in defaults"
        )
        p.add_argument("--db", help="hems database (default: [storage].path of --config)")
        p.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    from hems.clock import SystemClock
    from hems.reports.cli_support import db_path, load, open_storage
    from hems.research_jobs.store import STATUSES, JobStore

    cfg = load(args.config)
    path = db_path(args.db, cfg, args.config)
    now = SystemClock().now()
    command = args.jobs_command
    with open_storage(path, readonly=False) as st:
        store = JobStore(st.connection, st.lock)
        if command == "list":
            if args.status is not None and args.status not in STATUSES:
                raise UsageError(f"--status: expected one of {', '.join(STATUSES)}, got {args.status!r}")
            records = store.records(args.status)
            if args.json:
                _dump([r.to_dict() for r in records])
            else:
                _print_list(records)
            return 0
        if command == "show":
            record = store.get(args.id)
            if record is None:
                raise UsageError(f"no research job {args.id!r} on this box (see `hems jobs list`)")
            if args.json:
                _dump(record.to_dict(full=True))
            else:
                _print_record(record.to_dict(full=True))
            return 0
        if command in ("approve", "refuse"):
            from hems.research_jobs.decide import DecisionError, answer

            try:
                status = answer(st, args.id, command == "approve", now, getattr(args, "why", None))
            except DecisionError as exc:
                raise UsageError(str(exc)) from None
            doc = {"id": args.id, "status": status}
            if args.json:
                _dump(doc)
            elif status == "approved":
                print(
                    f"job {args.id} approved: it runs at the box's next daily round (or now: hems jobs sync)"
                )
            else:
                print(f"job {args.id} refused: it will not run")
            return 0
        from hems.research_jobs.facts import box_facts
        from hems.research_jobs.service import sync as sync_jobs
        from hems.telemetry.privacy import deidentify_site

        site: Any = cfg.site
        facts = box_facts(deidentify_site(site), cfg.circuits, cfg.appliances)
        result = sync_jobs(cfg.telemetry, cfg.research_jobs, st, now, facts)
    if args.json:
        _dump(result.to_dict())
    else:
        for key, value in result.to_dict().items():
            shown = ", ".join(value) if isinstance(value, list) else value
            print(f"{key:<10} {shown if shown not in (None, '') else '—'}")
    return 1 if result.error else 0


def _dump(doc: Any) -> None:
    json.dump(doc, sys.stdout, indent=1, ensure_ascii=False)
    print()


def _print_list(records: list[Any]) -> None:
    if not records:
        print("no research job has been offered to this box")
        return
    print(f"{'id':<24} {'status':<9} {'received':<17} {'categories':<22} title")
    for r in records:
        received = r.received_at.strftime("%Y-%m-%d %H:%M")
        print(f"{r.id[:24]:<24} {r.status:<9} {received:<17} {','.join(r.categories)[:22]:<22} {r.title}")
        if r.reason:
            print(f"{'':<24} {r.reason}")


def _print_record(doc: dict[str, Any]) -> None:
    job = doc.get("job") or {}
    print(f"job        {doc['id']}: {doc['title'] or '(unreadable)'}")
    print(f"researcher {doc['researcher'] or '—'}")
    if job.get("purpose"):
        print(f"purpose    {job['purpose']}")
    print(f"categories {', '.join(doc['categories']) or '—'}")
    print(f"status     {doc['status']} (decision: {doc['decision']}) — {doc['reason'] or ''}")
    if job:
        period = job.get("period", {})
        print(f"period     {period.get('start')} to {period.get('end')} (end excluded)")
        print(f"channels   {', '.join(job.get('channels', []))}")
        print(f"budget     {json.dumps(job.get('budget'))}, k = {job.get('k')}")
        privacy = job.get("privacy")
        print(f"privacy    {json.dumps(privacy) if privacy else 'none (exact aggregates)'}")
        print("sql")
        for line in str(job.get("sql", "")).splitlines():
            print(f"    {line}")
    if doc.get("usage"):
        print(f"used       {json.dumps(doc['usage'])}")
    if doc.get("notes"):
        print(f"notes      {json.dumps(doc['notes'])}")
    if doc.get("result"):
        groups = doc["result"].get("groups", [])
        print(
            f"result     {len(groups)} group(s); sent {doc['sent_at'] or 'not yet'} (--json shows it whole)"
        )
