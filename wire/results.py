"""A box's answer to a job (``hems-job-result/1``) and how answers from many boxes merge.

Each output of each group is a *partial*, a small object from which the server combines boxes
exactly: ``count`` → ``{"count"}``, ``sum`` → ``{"sum"}``, ``mean`` → ``{"sum", "count"}``,
``min``/``max`` → ``{"min"}``/``{"max"}``, ``histogram`` → ``{"counts"}`` (below the first edge,
each bin ``[e_i, e_i+1)``, at or above the last edge), ``quantiles`` → ``{"sketch"}``
(`wire.sketch`). With differential privacy, counts and sums carry the box's noise already.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from wire.errors import WireError
from wire.jobs import RESULT_SCHEMA, Job, Output
from wire.sketch import QuantileSketch

Key = tuple[Any, ...]
MAX_KEY_CHARS = 64  #: a text key longer than this is refused (keys are labels, not data)


def check_key_value(value: Any, where: str) -> Any:
    """A group key value: an integer, a finite number, a short text or null."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise WireError(f"{where}: a key must be finite, got {value!r}")
        return value
    if isinstance(value, str):
        if len(value) > MAX_KEY_CHARS:
            raise WireError(f"{where}: a text key longer than {MAX_KEY_CHARS} characters")
        return value
    raise WireError(f"{where}: a key is a number, a short text or null, got {value!r}")


def _num(doc: dict[str, Any], name: str, where: str, nullable: bool = False) -> float | None:
    value = doc.get(name)
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise WireError(f"{where}.{name}: expected a finite number, got {value!r}")
    return float(value)


def check_partial(output: Output, doc: Any, where: str) -> dict[str, Any]:
    """The partial of ``output`` in a result, checked (fields, types, histogram length)."""
    if not isinstance(doc, dict):
        raise WireError(f"{where}: expected an object")
    kind = output.kind
    if kind == "count":
        return {"count": _num(doc, "count", where)}
    if kind == "sum":
        return {"sum": _num(doc, "sum", where)}
    if kind == "mean":
        return {"sum": _num(doc, "sum", where), "count": _num(doc, "count", where)}
    if kind in ("min", "max"):
        return {kind: _num(doc, kind, where, nullable=True)}
    if kind == "histogram":
        counts = doc.get("counts")
        if not isinstance(counts, list) or len(counts) != len(output.edges) + 1:
            raise WireError(f"{where}.counts: expected {len(output.edges) + 1} counts")
        return {"counts": [_num({"c": c}, "c", f"{where}.counts") for c in counts]}
    return {"sketch": QuantileSketch.from_dict(doc.get("sketch")).to_dict()}


def merge_partial(output: Output, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two boxes' partials of one output and group, combined."""
    kind = output.kind
    if kind in ("count", "sum", "mean"):
        return {name: a[name] + b[name] for name in a}
    if kind in ("min", "max"):
        values = [v for v in (a[kind], b[kind]) if v is not None]
        pick = min if kind == "min" else max
        return {kind: pick(values) if values else None}
    if kind == "histogram":
        return {"counts": [x + y for x, y in zip(a["counts"], b["counts"], strict=True)]}
    sketch = QuantileSketch.from_dict(a["sketch"])
    sketch.merge(QuantileSketch.from_dict(b["sketch"]))
    return {"sketch": sketch.to_dict()}


def finish(output: Output, partial: dict[str, Any]) -> dict[str, Any]:
    """What a researcher reads for one output of one group."""
    kind = output.kind
    if kind == "mean":
        count = partial["count"]
        return {"mean": partial["sum"] / count if count > 0 else None, "count": count}
    if kind == "histogram":
        return {"edges": list(output.edges), "counts": partial["counts"]}
    if kind == "quantiles":
        sketch = QuantileSketch.from_dict(partial["sketch"])
        return {"q": list(output.q), "values": [sketch.quantile(q) for q in output.q], "count": sketch.count}
    return dict(partial)


def partial_cells(output: Output, partial: dict[str, Any]) -> int:
    """Cells a partial takes in a result (a sketch: its buckets)."""
    if output.kind == "quantiles":
        return QuantileSketch.from_dict(partial["sketch"]).buckets() or 1
    return output.cells()


@dataclass
class JobResult:
    """One box's answer: per group (the values of the job's keys) every output's partial."""

    job_id: str
    groups: dict[Key, dict[str, dict[str, Any]]]
    usage: dict[str, float] = field(default_factory=dict)  #: the totem consumed: cpu_s, rows_read, ...
    privacy: dict[str, Any] | None = None  #: the noise added (mechanism, epsilon, scales per output)
    software: str = ""

    def to_dict(self, job: Job) -> dict[str, Any]:
        return {
            "schema": RESULT_SCHEMA,
            "job_id": self.job_id,
            "keys": list(job.keys),
            "groups": [
                {"key": list(key), "values": values}
                for key, values in sorted(self.groups.items(), key=lambda kv: _sort_key(kv[0]))
            ],
            "privacy": self.privacy,
            "usage": self.usage,
            "software": self.software,
        }

    @classmethod
    def from_dict(cls, doc: Any, job: Job) -> JobResult:
        """A result checked against its job: the keys, every declared output and nothing else."""
        where = "result"
        if not isinstance(doc, dict) or doc.get("schema") != RESULT_SCHEMA:
            raise WireError(f"{where}.schema: expected {RESULT_SCHEMA!r}")
        if doc.get("job_id") != job.id:
            raise WireError(f"{where}.job_id: expected {job.id!r}, got {doc.get('job_id')!r}")
        if doc.get("keys") != list(job.keys):
            raise WireError(f"{where}.keys: expected {list(job.keys)!r}, got {doc.get('keys')!r}")
        raw_groups = doc.get("groups")
        if not isinstance(raw_groups, list):
            raise WireError(f"{where}.groups: expected a list")
        groups: dict[Key, dict[str, dict[str, Any]]] = {}
        for i, g in enumerate(raw_groups):
            gw = f"{where}.groups[{i}]"
            if (
                not isinstance(g, dict)
                or not isinstance(g.get("key"), list)
                or len(g["key"]) != len(job.keys)
            ):
                raise WireError(f"{gw}.key: expected {len(job.keys)} key value(s)")
            key = tuple(check_key_value(v, f"{gw}.key") for v in g["key"])
            if key in groups:
                raise WireError(f"{gw}.key: {list(key)!r} appears twice")
            values = g.get("values")
            if not isinstance(values, dict) or set(values) != {o.name for o in job.outputs}:
                raise WireError(
                    f"{gw}.values: expected exactly the outputs {[o.name for o in job.outputs]!r}"
                )
            groups[key] = {
                o.name: check_partial(o, values[o.name], f"{gw}.values.{o.name}") for o in job.outputs
            }
        usage = doc.get("usage") or {}
        privacy = doc.get("privacy")
        if (privacy is None) != (job.privacy is None):
            raise WireError(f"{where}.privacy: the job {'asks' if job.privacy else 'does not ask'} for noise")
        return cls(
            job.id, groups, usage if isinstance(usage, dict) else {}, privacy, str(doc.get("software", ""))
        )


def _sort_key(key: Key) -> tuple[tuple[int, Any], ...]:
    """Orders keys of mixed types (null, numbers, text) deterministically."""
    return tuple((0, 0) if v is None else (1, v) if isinstance(v, int | float) else (2, str(v)) for v in key)


def sort_keys(keys: list[Key]) -> list[Key]:
    return sorted(keys, key=_sort_key)
