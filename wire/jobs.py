"""Research jobs ("code to data", TOTEM): the job a researcher sends and the result a box returns.

A **job** (``hems-job/1``) is SQL over the box's documented read-only views (`VIEWS`), the outputs
it declares (count, sum, mean, min, max, histogram, quantiles), the budget it may consume — the
*totem*: CPU seconds, rows read, output cells, memory — the smallest group size ``k`` and,
optionally, differential privacy. The research server signs an accepted job (``hems-signed-job/1``:
Ed25519 over the UTF-8 bytes of ``payload``, the job's JSON text, so no canonical form is needed).
A box answers with a **result** (``hems-job-result/1``): per group of the job's keys, each output
as a *partial* the server can merge with other boxes' (`wire.results`).

Standard library only: both the box and the research server import this module. People's version:
docs/research-jobs.md.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from wire.errors import WireError
from wire.fields import day, instant, need, number

JOB_SCHEMA = "hems-job/1"
SIGNED_SCHEMA = "hems-signed-job/1"
LIST_SCHEMA = "hems-jobs/1"
RESULT_SCHEMA = "hems-job-result/1"

#: The read-only views a job may read, with their columns. Nothing else exists for a job: never raw
#: frames, documents, events, the telemetry outbox or the household's contact details.
VIEWS: dict[str, tuple[str, ...]] = {
    "series_15m": (
        "t", "local_date", "year", "month", "day", "weekday", "hour", "minute",
        "channel", "mean", "min", "max", "n",
    ),
    "series_1h": (
        "t", "local_date", "year", "month", "day", "weekday", "hour", "minute",
        "channel", "mean", "min", "max", "n",
    ),
    "daily": (
        "local_date", "year", "month", "day", "weekday", "hours",
        "channel", "mean", "min", "max", "n", "kwh",
    ),
    "circuits": ("id", "line", "breaker_a", "curve", "metered"),
    "appliances": ("id", "kind", "circuit", "power_kw", "sheddable", "interruptible"),
    "site": ("country", "postcode_prefix", "timezone", "network", "main_fuse_a"),
}  # fmt: skip

#: What a household can allow, ask about or refuse, and what each covers: the channels a job's copy
#: may hold (shell patterns) and the views it may read. A job declares the categories it needs; the
#: box checks that its channels and views are covered by them.
CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "household": (("grid.*", "pv.*", "battery.*"), ("series_15m", "series_1h", "daily", "site")),
    "circuits": (("circuit.*",), ("series_15m", "series_1h", "daily", "circuits")),
    "appliances": (("appliance.*",), ("series_15m", "series_1h", "daily", "appliances")),
}

#: Output kinds and the SQL aggregate each is written with in the job's top-level SELECT.
KINDS: dict[str, tuple[str, ...]] = {
    "count": ("count",),
    "sum": ("sum", "total"),
    "mean": ("avg",),
    "min": ("min",),
    "max": ("max",),
    "histogram": ("histogram",),
    "quantiles": ("quantiles",),
}
#: Kinds that can be released with differential privacy (noisy counts and sums).
DP_KINDS = ("count", "sum", "mean", "histogram")

MAX_PERIOD_DAYS = 3660
MAX_SQL_CHARS = 20_000
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Output:
    """One declared output: a column of the job's SELECT and how it aggregates."""

    name: str  #: the column's name in the SELECT (its alias)
    kind: str  #: one of `KINDS`
    edges: tuple[float, ...] = ()  #: histogram: increasing bin edges (values below/above counted too)
    q: tuple[float, ...] = ()  #: quantiles: the probabilities wanted, 0..1

    def cells(self) -> int:
        """Cells this output adds to a group of the result (quantiles: before the sketch is known)."""
        if self.kind == "mean":
            return 2
        if self.kind == "histogram":
            return len(self.edges) + 1
        if self.kind == "quantiles":
            return len(self.q)
        return 1

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.edges:
            out["edges"] = list(self.edges)
        if self.q:
            out["q"] = list(self.q)
        return out

    @classmethod
    def from_dict(cls, doc: Any, where: str) -> Output:
        if not isinstance(doc, dict):
            raise WireError(f"{where}: expected an object, got {doc!r}")
        name = need(doc, "name", str, where)
        if not _NAME.match(name):
            raise WireError(f"{where}.name: expected a lowercase SQL name, got {name!r}")
        kind = need(doc, "kind", str, where)
        if kind not in KINDS:
            raise WireError(f"{where}.kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        edges: tuple[float, ...] = ()
        q: tuple[float, ...] = ()
        if kind == "histogram":
            raw = need(doc, "edges", list, where)
            edges = tuple(number(v, f"{where}.edges") for v in raw)
            if len(edges) < 2 or len(edges) > 1001 or any(b <= a for a, b in itertools.pairwise(edges)):
                raise WireError(f"{where}.edges: expected 2 to 1001 increasing numbers, got {raw!r}")
        elif "edges" in doc:
            raise WireError(f"{where}.edges: only a histogram has edges")
        if kind == "quantiles":
            raw = need(doc, "q", list, where)
            q = tuple(number(v, f"{where}.q") for v in raw)
            if not q or len(q) > 99 or any(not 0.0 <= p <= 1.0 for p in q):
                raise WireError(f"{where}.q: expected 1 to 99 probabilities between 0 and 1, got {raw!r}")
        elif "q" in doc:
            raise WireError(f"{where}.q: only quantiles have q")
        extra = set(doc) - {"name", "kind", "edges", "q"}
        if extra:
            raise WireError(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
        return cls(name, kind, edges, q)


@dataclass(frozen=True)
class Budget:
    """The totem: what running the job may consume on a box. Exceeding any of it stops the job."""

    cpu_seconds: float  #: CPU time of the job's worker process (building its copy and the SQL) [s]
    rows_read: int  #: rows the SQL reads from the views (every scan counts) [rows]
    output_cells: int  #: keys and output values of every group of the result, together [cells]
    memory_mb: int = 128  #: resident memory of the job's worker process [MB]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cpu_seconds": self.cpu_seconds,
            "rows_read": self.rows_read,
            "output_cells": self.output_cells,
            "memory_mb": self.memory_mb,
        }

    @classmethod
    def from_dict(cls, doc: Any, where: str = "budget") -> Budget:
        if not isinstance(doc, dict):
            raise WireError(f"{where}: expected an object, got {doc!r}")
        cpu = number(need(doc, "cpu_seconds", (int, float), where), f"{where}.cpu_seconds")
        rows = need(doc, "rows_read", int, where)
        cells = need(doc, "output_cells", int, where)
        memory = doc.get("memory_mb", 128)
        if isinstance(memory, bool) or not isinstance(memory, int):
            raise WireError(f"{where}.memory_mb: expected an integer, got {memory!r}")
        if not 0 < cpu <= 3600 or rows < 1 or cells < 1 or not 16 <= memory <= 65536:
            raise WireError(
                f"{where}: expected 0 < cpu_seconds <= 3600, rows_read >= 1, output_cells >= 1 and "
                f"16 <= memory_mb <= 65536, got {doc!r}"
            )
        extra = set(doc) - {"cpu_seconds", "rows_read", "output_cells", "memory_mb"}
        if extra:
            raise WireError(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
        return cls(cpu, rows, cells, memory)


@dataclass(frozen=True)
class Privacy:
    """Differential privacy the job asks for: noise added on the box before anything leaves it.

    The unit protected is one row of the view the job aggregates (one slot of one channel): adding
    or removing it changes each noisy count by at most 1 and each noisy sum by at most the larger
    magnitude of its declared ``bounds`` (values are clamped to them). ``epsilon`` is split evenly
    over the noisy quantities of a group (a mean is two: its sum and its count); groups are
    disjoint, so their noise composes in parallel.
    """

    epsilon: float
    mechanism: str = "laplace"  #: "laplace" (pure ε) or "gaussian" ((ε, δ))
    delta: float = 0.0
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)  #: output → (lo, hi)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"epsilon": self.epsilon, "mechanism": self.mechanism}
        if self.delta:
            out["delta"] = self.delta
        if self.bounds:
            out["bounds"] = {k: list(v) for k, v in sorted(self.bounds.items())}
        return out

    @classmethod
    def from_dict(cls, doc: Any, where: str = "privacy") -> Privacy:
        if not isinstance(doc, dict):
            raise WireError(f"{where}: expected an object, got {doc!r}")
        epsilon = number(need(doc, "epsilon", (int, float), where), f"{where}.epsilon")
        if not 0 < epsilon <= 10:
            raise WireError(f"{where}.epsilon: expected 0 < epsilon <= 10, got {epsilon!r}")
        mechanism = doc.get("mechanism", "laplace")
        if mechanism not in ("laplace", "gaussian"):
            raise WireError(f"{where}.mechanism: expected 'laplace' or 'gaussian', got {mechanism!r}")
        delta = number(doc.get("delta", 0.0), f"{where}.delta")
        if mechanism == "gaussian" and not 0 < delta < 1e-3:
            raise WireError(f"{where}.delta: the gaussian mechanism needs 0 < delta < 0.001, got {delta!r}")
        if mechanism == "laplace" and delta:
            raise WireError(f"{where}.delta: the laplace mechanism takes no delta")
        bounds: dict[str, tuple[float, float]] = {}
        raw = doc.get("bounds", {})
        if not isinstance(raw, dict):
            raise WireError(f"{where}.bounds: expected an object of [lo, hi] pairs, got {raw!r}")
        for name, pair in raw.items():
            if not (isinstance(pair, list) and len(pair) == 2):
                raise WireError(f"{where}.bounds.{name}: expected [lo, hi], got {pair!r}")
            lo, hi = (number(v, f"{where}.bounds.{name}") for v in pair)
            if not lo < hi:
                raise WireError(f"{where}.bounds.{name}: expected lo < hi, got {pair!r}")
            bounds[str(name)] = (lo, hi)
        extra = set(doc) - {"epsilon", "mechanism", "delta", "bounds"}
        if extra:
            raise WireError(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
        return cls(epsilon, mechanism, delta, bounds)


@dataclass(frozen=True)
class Job:
    """A research job (``hems-job/1``). `Job.from_dict` checks the document, not the SQL: that is
    `wire.jobcheck`, on the server when the job is submitted and on every box before it runs."""

    id: str
    title: str
    purpose: str  #: shown to the household: why the researcher asks
    researcher: str  #: who asks (name and institution), shown to the household
    categories: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    period_start: date  #: first local day the job's copy holds
    period_end: date  #: the day after the last (half-open, like every period in hems)
    channels: tuple[str, ...]  #: shell patterns: the channels the job's copy holds
    sql: str  #: one SELECT, SQLite's dialect
    keys: tuple[str, ...]  #: the SELECT's grouping columns, in order
    outputs: tuple[Output, ...]
    budget: Budget
    k: int  #: smallest group: rows aggregated on a box, homes contributing on the server
    privacy: Privacy | None = None

    def output(self, name: str) -> Output | None:
        return next((o for o in self.outputs if o.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": JOB_SCHEMA,
            "id": self.id,
            "title": self.title,
            "purpose": self.purpose,
            "researcher": self.researcher,
            "categories": list(self.categories),
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "period": {"start": self.period_start.isoformat(), "end": self.period_end.isoformat()},
            "channels": list(self.channels),
            "sql": self.sql,
            "keys": list(self.keys),
            "outputs": [o.to_dict() for o in self.outputs],
            "budget": self.budget.to_dict(),
            "k": self.k,
            "privacy": None if self.privacy is None else self.privacy.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, doc: Any) -> Job:
        where = "job"
        if not isinstance(doc, dict):
            raise WireError(f"{where}: expected a JSON object")
        if doc.get("schema") != JOB_SCHEMA:
            raise WireError(f"{where}.schema: expected {JOB_SCHEMA!r}, got {doc.get('schema')!r}")
        job_id = need(doc, "id", str, where)
        if not _ID.match(job_id):
            raise WireError(f"{where}.id: expected 1-64 letters, digits, '.', '_' or '-', got {job_id!r}")
        title = need(doc, "title", str, where)[:200]
        purpose = need(doc, "purpose", str, where)[:4000]
        researcher = need(doc, "researcher", str, where)[:400]
        categories = tuple(need(doc, "categories", list, where))
        if not categories or any(c not in CATEGORIES for c in categories):
            raise WireError(
                f"{where}.categories: expected some of {', '.join(CATEGORIES)}, got {list(categories)!r}"
            )
        created = instant(need(doc, "created_at", str, where), f"{where}.created_at")
        expires = instant(need(doc, "expires_at", str, where), f"{where}.expires_at")
        period = need(doc, "period", dict, where)
        start = day(period.get("start"), f"{where}.period.start")
        end = day(period.get("end"), f"{where}.period.end")
        if not 0 < (end - start).days <= MAX_PERIOD_DAYS:
            raise WireError(f"{where}.period: expected 1 to {MAX_PERIOD_DAYS} days, start before end")
        channels = tuple(need(doc, "channels", list, where))
        if not channels or not all(isinstance(c, str) and 0 < len(c) <= 100 for c in channels):
            raise WireError(f"{where}.channels: expected a list of channel names or shell patterns")
        sql = need(doc, "sql", str, where)
        if not sql.strip() or len(sql) > MAX_SQL_CHARS:
            raise WireError(f"{where}.sql: expected 1 to {MAX_SQL_CHARS} characters of SQL")
        keys = tuple(need(doc, "keys", list, where))
        if not all(isinstance(key, str) and _NAME.match(key) for key in keys):
            raise WireError(f"{where}.keys: expected lowercase SQL column names, got {list(keys)!r}")
        raw_outputs = need(doc, "outputs", list, where)
        outputs = tuple(Output.from_dict(o, f"{where}.outputs[{i}]") for i, o in enumerate(raw_outputs))
        if not outputs:
            raise WireError(f"{where}.outputs: expected at least one output")
        names = [o.name for o in outputs] + list(keys)
        if len(set(names)) != len(names):
            raise WireError(f"{where}: keys and outputs must have different names, got {names!r}")
        budget = Budget.from_dict(need(doc, "budget", dict, where), f"{where}.budget")
        k = need(doc, "k", int, where)
        if not 2 <= k <= 10_000:
            raise WireError(f"{where}.k: expected 2 <= k <= 10000, got {k!r}")
        privacy = (
            None if doc.get("privacy") is None else Privacy.from_dict(doc["privacy"], f"{where}.privacy")
        )
        if privacy is not None:
            for o in outputs:
                if o.kind not in DP_KINDS:
                    raise WireError(
                        f"{where}.outputs: {o.name!r} ({o.kind}) cannot be released with differential "
                        f"privacy; only {', '.join(DP_KINDS)} can"
                    )
                if o.kind in ("sum", "mean") and o.name not in privacy.bounds:
                    raise WireError(f"{where}.privacy.bounds: {o.name!r} ({o.kind}) needs [lo, hi] bounds")
        known = {
            "schema", "id", "title", "purpose", "researcher", "categories", "created_at", "expires_at",
            "period", "channels", "sql", "keys", "outputs", "budget", "k", "privacy",
        }  # fmt: skip
        extra = set(doc) - known
        if extra:
            raise WireError(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
        return cls(
            job_id, title, purpose, researcher, categories, created, expires, start, end, channels,
            sql, keys, outputs, budget, k, privacy,
        )  # fmt: skip

    @classmethod
    def from_json(cls, text: str) -> Job:
        try:
            doc = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise WireError(f"job: not JSON ({exc})") from None
        return cls.from_dict(doc)


@dataclass(frozen=True)
class SignedJob:
    """A job as the server publishes it: its JSON text and an Ed25519 signature over those bytes."""

    payload: str  #: the job's JSON text, exactly as signed
    signature: str  #: base64 of the 64-byte Ed25519 signature over ``payload.encode("utf-8")``
    key_id: str  #: which server key signed it: `key_id` of the public key

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SIGNED_SCHEMA,
            "payload": self.payload,
            "signature": self.signature,
            "key_id": self.key_id,
        }

    @classmethod
    def from_dict(cls, doc: Any) -> SignedJob:
        where = "signed job"
        if not isinstance(doc, dict):
            raise WireError(f"{where}: expected a JSON object")
        if doc.get("schema") != SIGNED_SCHEMA:
            raise WireError(f"{where}.schema: expected {SIGNED_SCHEMA!r}, got {doc.get('schema')!r}")
        payload = need(doc, "payload", str, where)
        signature = doc.get("signature")
        if not isinstance(signature, str) or not signature:
            raise WireError(f"{where}.signature: missing (an unsigned job never runs)")
        key_id = doc.get("key_id", "")
        return cls(payload, signature, str(key_id))


def key_id(public_key_raw: bytes) -> str:
    """A short name of an Ed25519 public key (its 32 raw bytes): the first 16 hex of SHA-256."""
    import hashlib

    return hashlib.sha256(public_key_raw).hexdigest()[:16]
