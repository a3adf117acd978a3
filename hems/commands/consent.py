"""`hems consent withdraw|give|status`: the household decides what leaves the box.

- ``withdraw [--config FILE] [--db PATH]``: stop uploads for good (recorded in the database, so
  they stay stopped even if the config still says ``consent = true``), delete the outbox, and send
  a deletion request for the household's pseudonymous id (retried by the daemon until confirmed).
  Exit 0 once the withdrawal is recorded, also when the deletion request had to be queued.
- ``give [--config FILE] [--db PATH]``: clear a recorded withdrawal; uploads resume under a new,
  unlinkable id, if [telemetry] consent = true.
- ``status``: what is recorded.
"""

from __future__ import annotations

import argparse

NAME = "consent"
HELP = "Withdraw (or give again) consent to share de-identified data with the research server."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="consent_command", metavar="ACTION", required=True)
    for name, text in (
        ("withdraw", "stop uploads, delete the outbox, ask the server to delete your data"),
        ("give", "resume uploads (under a new pseudonymous id) after a withdrawal"),
        ("status", "show what is recorded"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--config", help="hems.toml ([telemetry], [storage]); default: built-in defaults")
        p.add_argument("--db", help="hems database (default: [storage].path of --config)")


def run(args: argparse.Namespace) -> int:
    from hems.clock import SystemClock
    from hems.reports.cli_support import db_path, load, open_storage
    from hems.telemetry import give_consent, withdraw
    from hems.telemetry.outbox import Outbox
    from hems.telemetry.upload import consent_blocker

    cfg = load(args.config)
    path = db_path(args.db, cfg, args.config)
    with open_storage(path, readonly=False) as st:
        if args.consent_command == "withdraw":
            w = withdraw(cfg.telemetry, st, SystemClock())
            print("consent withdrawn: uploads are stopped and stay stopped")
            print(f"outbox deleted: {w.batches_deleted} unsent batch(es)")
            if w.household_id is None:
                print("no data was ever prepared for the research server: nothing to delete there")
            elif w.deletion_sent:
                print(f"the research server confirmed the deletion of {w.household_id}")
            else:
                print(f"deletion request for {w.household_id} queued ({w.error}); the daemon retries it")
            print("set [telemetry] consent = false in the config as well")
            return 0  # the withdrawal is recorded and the outbox gone; a queued deletion is retried
        outbox = Outbox(st.connection, st.lock)
        if args.consent_command == "give":
            give_consent(st)
            print("withdrawal cleared: uploads resume under a new pseudonymous id")
            if not cfg.telemetry.consent:
                print("note: [telemetry] consent = false in the config, so nothing is sent yet")
            return 0
        withdrawn = outbox.withdrawn_at()
        print(f"config consent       {cfg.telemetry.consent}")
        print(f"withdrawn at         {withdrawn.isoformat() if withdrawn else '—'}")
        print(f"uploads              {consent_blocker(cfg.telemetry, outbox) or 'allowed'}")
        print(f"deletions pending    {outbox.status().deletions_pending}")
    return 0
