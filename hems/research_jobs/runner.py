"""Running a checked job in its own process, watched against its budget (the totem manager).

The worker (`hems.research_jobs.worker`) is a fresh Python process in a new session with a private
temporary directory as its working directory. While it runs, the parent reads its CPU time and
resident memory (Linux ``/proc``) every `POLL_S` and kills it — SIGKILL, no negotiation — the
moment either exceeds the job's budget, or when it outlives its wall-clock allowance. Inside, the
worker stops itself at the rows-read and output-cells budgets, and an RLIMIT_CPU backstop ends it if
the parent cannot. Whatever happens, the daemon gets a `RunOutcome`, never an exception.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wire.jobcheck import FUNCTIONS, CheckedJob

POLL_S = 0.05  #: how often the parent looks at the worker [s]
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class RunOutcome:
    ok: bool
    reason: str | None = None  #: why it stopped (over budget, killed, an error)
    killed: bool = False  #: the parent killed the worker
    groups: list[dict[str, Any]] = field(default_factory=list)  #: [{"key": [...], "values": {...}}]
    suppressed: int = 0  #: groups of fewer than k rows, left out
    privacy: dict[str, Any] | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    channels: list[str] = field(default_factory=list)  #: what the job's copy held


def _usage(pid: int) -> tuple[float, float]:
    """CPU seconds and resident MB of a running process (0, 0 where /proc cannot tell)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / _TICK
        rss_mb = 0.0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss_mb = int(line.split()[1]) / 1024
                break
        return cpu, rss_mb
    except (OSError, ValueError, IndexError):
        return 0.0, 0.0


def run_checked(
    checked: CheckedJob,
    db_path: str | Path,
    *,
    channels: list[str],
    facts: dict[str, list[dict[str, Any]]],
    k: int,
) -> RunOutcome:
    """Run ``checked`` on the database at ``db_path`` in a watched worker process; its copy holds
    ``channels`` (`hems.research_jobs.facts.wanted_channels`) and the ``facts`` views."""
    job = checked.job
    budget = job.budget
    with tempfile.TemporaryDirectory(prefix="hems-job-") as tmp:
        request = {
            "db": str(Path(db_path).resolve()),
            "job": job.to_dict(),
            "checked": {
                "sql": checked.sql,
                "keys": list(checked.keys),
                "outputs": [
                    {"index": job.outputs.index(o.output), "columns": o.columns} for o in checked.outputs
                ],
                "rows_column": checked.rows_column,
                "aggregates": checked.aggregates,
                "views": sorted(checked.views),
            },
            "functions": sorted(FUNCTIONS),
            "channels": channels,
            "facts": facts,
            "k": k,
            "result_path": str(Path(tmp) / "result.json"),
        }
        request_path = Path(tmp) / "request.json"
        request_path.write_text(json.dumps(request), encoding="utf-8")
        with open(Path(tmp) / "stderr.txt", "wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "hems.research_jobs.worker", str(request_path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                cwd=tmp,
                start_new_session=True,
            )
            reason, cpu, rss = _watch(proc, budget.cpu_seconds, budget.memory_mb)
        if reason is not None:
            return RunOutcome(
                False, reason, killed=True, usage={"cpu_s": round(cpu, 2), "peak_rss_mb": round(rss, 1)}
            )
        result_path = Path(tmp) / "result.json"
        if proc.returncode < 0 or not result_path.exists():
            tail = (Path(tmp) / "stderr.txt").read_text(errors="replace").strip().splitlines()[-1:]
            how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit status {proc.returncode}"
            return RunOutcome(
                False,
                f"the job's worker ended without a result ({how}{': ' + tail[0] if tail else ''})",
                killed=proc.returncode < 0,
            )
        answer = json.loads(result_path.read_text(encoding="utf-8"))
    if not answer.get("ok"):
        return RunOutcome(False, str(answer.get("error")))
    return RunOutcome(
        True,
        groups=answer["groups"],
        suppressed=answer["suppressed"],
        privacy=answer["privacy"],
        usage=answer["usage"],
        channels=channels,
    )


def _watch(
    proc: subprocess.Popen[bytes], cpu_budget: float, memory_mb: int
) -> tuple[str | None, float, float]:
    """Wait for ``proc``; kill it when it goes over budget. Returns why it was killed (or None) and
    the highest CPU seconds and resident MB seen."""
    wall_limit = cpu_budget * 4 + 30  # waiting on a busy machine is not the job's fault; hanging is
    started = time.monotonic()
    peak_cpu = peak_rss = 0.0
    while True:
        try:
            proc.wait(timeout=POLL_S)
            return None, peak_cpu, peak_rss
        except subprocess.TimeoutExpired:
            pass
        cpu, rss = _usage(proc.pid)
        peak_cpu, peak_rss = max(peak_cpu, cpu), max(peak_rss, rss)
        reason = None
        if cpu > cpu_budget:
            reason = f"killed: over budget: {cpu:.1f} CPU seconds, the budget is {cpu_budget:g}"
        elif rss > memory_mb:
            reason = f"killed: over budget: {rss:.0f} MB of memory, the budget is {memory_mb} MB"
        elif time.monotonic() - started > wall_limit:
            reason = f"killed: still running after {wall_limit:.0f} s of wall-clock time"
        if reason is not None:
            proc.kill()
            proc.wait()
            return reason, peak_cpu, peak_rss
