"""`hems research job ACTION --data DIR`: research jobs on the server (docs/research-jobs.md).

- ``submit --spec FILE [--sql FILE] [--id ID] [--researcher TEXT]``: check, sign and publish a job.
  The spec (TOML or JSON; ``--job`` is the same option) holds the job's fields: title, purpose,
  researcher, categories, period, channels, keys, outputs, budget, k, privacy, expires_at, and the
  SQL unless ``--sql`` gives it (``id``, ``created_at`` and, when missing, ``expires_at`` are filled
  in);
- ``list``, ``show ID``: what was published and how many homes answered;
- ``result ID``: the combined answer, once at least k homes have contributed;
- ``close ID``: stop offering a job to the boxes;
- ``key``: the public key households put in [research_jobs] ``server_key``.
"""

from __future__ import annotations

import argparse
import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NAME = "job"
HELP = "research jobs: submit (check, sign, publish), list, show, result, close, key"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="job_action", metavar="ACTION", required=True)
    submit = actions.add_parser("submit", help="check, sign and publish a job")
    submit.add_argument("--sql", help="file holding the job's one SELECT (default: the spec's sql)")
    submit.add_argument(
        "--spec", "--job", dest="spec", required=True, help="TOML or JSON file with the job's fields"
    )
    submit.add_argument("--id", help="the job's id (default: the spec's, else generated)")
    submit.add_argument("--researcher", help="who asks, shown to households (default: the spec's)")
    submit.add_argument("--submitter", default="administrator", help="the account submitting it")
    for name, text in (("list", "the jobs published"), ("key", "the server's public signing key")):
        actions.add_parser(name, help=text)
    for name, text in (
        ("show", "one job and how many homes answered"),
        ("result", "the combined answer (once k homes contributed)"),
        ("close", "stop offering a job"),
    ):
        p = actions.add_parser(name, help=text)
        p.add_argument("job_id")
    for p in actions.choices.values():
        p.add_argument("--data", required=True, help="the server's data directory")
        p.add_argument("--json", action="store_true")


def _read_spec(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"--spec {path}: {exc.strerror}") from None
    try:
        doc = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
        raise ValueError(f"--spec {path}: not valid {kind}: {exc}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"--spec {path}: expected a table of the job's fields")
    # TOML's dates and times become the ISO text a job document holds
    return dict(json.loads(json.dumps(doc, default=lambda v: v.isoformat())))


def run(args: argparse.Namespace) -> int:
    from research.jobs import service, store
    from research.paths import DataDir

    data = DataDir(Path(args.data))
    now = datetime.now(UTC)
    out: Any
    if args.job_action == "submit":
        doc = _read_spec(Path(args.spec))
        if args.sql:
            try:
                doc["sql"] = Path(args.sql).read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(f"--sql {args.sql}: {exc.strerror}") from None
        elif not isinstance(doc.get("sql"), str):
            raise ValueError(f"--spec {args.spec} holds no sql: give the job's SELECT with --sql FILE")
        if args.id:
            doc["id"] = args.id
        record = service.submit(
            data, service.complete(doc, now, args.researcher), submitter=args.submitter, now=now
        )
        out = record.to_dict()
        text = f"published job {record.job.id} (offered until {record.job.expires_at:%Y-%m-%d %H:%M} UTC)"
    elif args.job_action == "list":
        out = [r.to_dict() for r in store.list_jobs(data)]
        rows = [f"{r['id']:28} {r['status']:9} {r['homes']:>5} homes  {r['title']}" for r in out]
        text = "\n".join(rows) if rows else "no research jobs"
    elif args.job_action == "show":
        found = store.get_job(data, args.job_id)
        if found is None:
            raise LookupError(f"no research job {args.job_id!r}")
        out = {**found.to_dict(), "job": found.job.to_dict()}
        text = json.dumps(out, indent=2, ensure_ascii=False)
    elif args.job_action == "result":
        out = service.answer(data, args.job_id)
        text = json.dumps(out, indent=2, ensure_ascii=False)
    elif args.job_action == "close":
        if not store.close_job(data, args.job_id, now):
            raise LookupError(f"no research job {args.job_id!r}")
        out = {"id": args.job_id, "status": "closed"}
        text = f"job {args.job_id} is no longer offered to the boxes"
    else:  # key
        out = {"server_key": service.public_key(data)}
        text = f'[research_jobs]\nserver_key = "{out["server_key"]}"'
    print(json.dumps(out, ensure_ascii=False) if args.json else text)
    return 0
