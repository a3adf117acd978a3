"""Research jobs on the box ([research_jobs] in hems.toml). Owned by hems.research_jobs.

The household decides per category (`wire.jobs.CATEGORIES`: household, circuits, appliances):
run without asking, ask each time, or never. A job runs only when every category it needs is
allowed (or approved by the household when one of them says "ask"). Nothing is fetched without
[telemetry] consent and the research server's public key here.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hems.telemetry.config import DEFAULT_CHANNELS
from wire.jobs import CATEGORIES

Decision = Literal["allow", "ask", "never"]
Category = Literal["household", "circuits", "appliances"]
assert set(Category.__args__) == set(CATEGORIES)  # type: ignore[attr-defined]


class ResearchJobsConfig(BaseModel):
    """What researchers' jobs may do on this box."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # bounds are physical

    decision: Decision = "ask"  #: for categories not listed below; "never" with no lists: no job ever runs
    allow: list[Category] = Field(default_factory=list)  #: run jobs of these categories without asking
    ask: list[Category] = Field(default_factory=list)  #: ask the household each time
    never: list[Category] = Field(default_factory=list)  #: refuse
    #: the research server's Ed25519 public key (base64 of its 32 raw bytes); unsigned jobs never run
    server_key: str | None = None
    k_min: int = Field(10, ge=2)  #: a group of a result aggregates at least this many rows (or the job's k)
    channels: list[str] = Field(default_factory=lambda: list(DEFAULT_CHANNELS))  #: the most a job may see
    require_privacy: bool = False  #: run only jobs that add differential-privacy noise
    max_cpu_seconds: float = Field(60.0, gt=0)  #: a job asking for more is refused [s]
    max_rows_read: int = Field(50_000_000, ge=1)
    max_output_cells: int = Field(100_000, ge=1)
    max_memory_mb: int = Field(512, ge=32)  #: [MB]

    @field_validator("server_key")
    @classmethod
    def _raw_ed25519(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            raw = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("base64 of the server's 32-byte Ed25519 public key") from None
        if len(raw) != 32:
            raise ValueError(f"base64 of a 32-byte Ed25519 public key, got {len(raw)} bytes")
        return value.strip()

    @model_validator(mode="after")
    def _one_decision_per_category(self) -> ResearchJobsConfig:
        seen: dict[str, str] = {}
        for name in ("allow", "ask", "never"):
            for category in getattr(self, name):
                if category in seen and seen[category] != name:
                    raise ValueError(f"category {category!r} is both in {seen[category]} and in {name}")
                seen[category] = name
        return self

    def decision_for(self, category: str) -> Decision:
        if category in self.never:
            return "never"
        if category in self.allow:
            return "allow"
        if category in self.ask:
            return "ask"
        return self.decision

    def decide(self, categories: tuple[str, ...] | list[str]) -> Decision:
        """The strictest decision over ``categories`` (never > ask > allow)."""
        decisions = {self.decision_for(c) for c in categories} or {self.decision}
        order: tuple[Decision, ...] = ("never", "ask", "allow")
        for strictest in order:
            if strictest in decisions:
                return strictest
        return self.decision
