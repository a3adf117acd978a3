"""Which locally produced Wh went to whom, slot by slot, in exact integers.

Keys (the regulated schemes' names in brackets; docs/community.md has worked examples):

- ``prorata`` — pro rata to each consumer's consumption in the slot (France's default key,
  "clé dynamique par défaut", Code de l'énergie D315-... via décret 2017-676; Norway's
  "volumvektet"). With the cap (fr, it) nobody receives more than they consumed, so nothing needs
  redistributing: when production exceeds the total consumption every consumer is covered and the
  rest is surplus. Without the cap (no), all production is shared by consumption; an hour in which
  nobody consumed is shared equally.
- ``static`` — fixed shares that add up to 1 (France's "clé statique", Norway's "valgfri statisk
  fordeling"). With the cap, a consumer's unused share is surplus, or with ``redistribute = true``
  it goes to the consumers who still have consumption, in proportion to their shares, round after
  round until production or consumption runs out.
- ``equal`` — static with equal shares (Norway's "lik fordeling").
- ``cascade`` — by priority: rank 1 is served first (pro rata to consumption within the rank),
  what it cannot absorb goes to rank 2, and so on; what is left goes to the grid (the DAISEE
  building: its own users first, then the neighbourhood).

Cap: in France and Italy a consumer is allocated at most their consumption and what is left is the
producers' surplus to the grid. In Norway ("deling") all production is distributed; a participant
who receives more than they consumed exports the difference on their own account.

Rounding: a slot's energy is split by the largest-remainder rule: every part gets the floor of its
exact share, and the Wh left over go one each to the largest fractional remainders, ties to the
participant listed first in the members file. So parts always add up to the whole, exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction

Weight = int | Fraction


def apportion(total: int, weights: Sequence[Weight]) -> list[int]:
    """Split ``total`` [Wh] in proportion to ``weights`` (largest remainder, ties to the first).

    All-zero weights give all zeros (the caller decides what to do with ``total``). Integer
    arithmetic throughout: fractional weights are scaled to a common denominator first.
    """
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("apportion: total and weights are non-negative")
    if any(isinstance(w, Fraction) for w in weights):
        den = math.lcm(*(Fraction(w).denominator for w in weights))
        ints = [int(Fraction(w) * den) for w in weights]
    else:
        ints = [int(w) for w in weights]
    whole = sum(ints)
    if total == 0 or whole == 0:
        return [0] * len(weights)
    parts, rests = zip(*(divmod(total * w, whole) for w in ints), strict=True)
    out = list(parts)
    left = total - sum(out)
    for i in sorted(range(len(out)), key=lambda i: (-rests[i], i))[:left]:
        out[i] += 1
    return out


@dataclass(frozen=True)
class Rule:
    """How one slot's production is shared among the consumers (in members-file order)."""

    key: str  #: prorata | static | equal | cascade
    cap: bool = True  #: at most each consumer's consumption (fr, it); False: all distributed (no)
    redistribute: bool = False  #: static: unused shares go to the others
    shares: tuple[Fraction, ...] = ()  #: static
    priorities: tuple[int, ...] = ()  #: cascade


def _waterfill(p: int, c: Sequence[int], shares: Sequence[Weight]) -> list[int]:
    alloc = [0] * len(c)
    left = p
    active = [i for i in range(len(c)) if shares[i] > 0 and c[i] > 0]
    while left > 0 and active:
        part = apportion(left, [shares[i] for i in active])
        for i, q in zip(active, part, strict=True):
            give = min(q, c[i] - alloc[i])
            alloc[i] += give
            left -= give
        still = [i for i in active if alloc[i] < c[i]]
        if len(still) == len(active):
            break  # nobody was full: everything was given
        active = still
    return alloc


def allocate_slot(p: int, c: Sequence[int], rule: Rule) -> list[int]:
    """The production ``p`` [Wh] of one slot allocated to consumers with consumptions ``c`` [Wh]."""
    n = len(c)
    if rule.key == "prorata":
        if rule.cap and p >= sum(c):
            return list(c)
        return apportion(p, c if sum(c) else [1] * n)
    if rule.key in ("static", "equal"):
        shares: Sequence[Weight] = rule.shares if rule.key == "static" else [1] * n
        if not rule.cap:
            return apportion(p, shares)
        if rule.redistribute:
            return _waterfill(p, c, shares)
        return [min(a, ci) for a, ci in zip(apportion(p, shares), c, strict=True)]
    if rule.key == "cascade":
        alloc, left = [0] * n, p
        for rank in sorted(set(rule.priorities)):
            idx = [i for i in range(n) if rule.priorities[i] == rank]
            need = [c[i] for i in idx]
            give = need if left >= sum(need) else apportion(left, need)
            for i, g in zip(idx, give, strict=True):
                alloc[i] = g
            left -= sum(give)
        return alloc
    raise ValueError(f"unknown allocation key {rule.key!r}")


def resample(values: Sequence[int], minutes: int) -> list[int]:
    """Quarter-hour values summed into ``minutes`` slots (15 or 60; the series starts on an hour)."""
    k = minutes // 15
    return [sum(values[i : i + k]) for i in range(0, len(values), k)]


@dataclass
class Allocation:
    """A period's allocation [Wh per settlement slot]. Per slot and participant, exactly:
    ``shared + grid_supply = consumption``, ``shared + export = allocated``,
    ``producer_shared + producer_surplus = injection``, and
    ``sum(allocated) + undistributed = sum(producer_shared)``."""

    slots: list[datetime]
    slot_minutes: int
    virtual: bool  #: Italy: shared energy is a figure for the incentive; every kWh is still bought
    consumption: dict[str, list[int]]
    injection: dict[str, list[int]]
    allocated: dict[str, list[int]] = field(default_factory=dict)
    shared: dict[str, list[int]] = field(default_factory=dict)
    grid_supply: dict[str, list[int]] = field(default_factory=dict)
    export: dict[str, list[int]] = field(default_factory=dict)
    producer_shared: dict[str, list[int]] = field(default_factory=dict)
    producer_surplus: dict[str, list[int]] = field(default_factory=dict)
    undistributed: list[int] = field(default_factory=list)

    @property
    def production(self) -> list[int]:
        return [sum(col) for col in zip(*self.injection.values(), strict=True)]

    @property
    def shared_total(self) -> list[int]:
        return [sum(col) for col in zip(*self.shared.values(), strict=True)]

    @property
    def to_grid(self) -> list[int]:
        """Energy the community injected beyond what it shared: producers' surplus plus
        participants' exports [Wh]."""
        surplus = [sum(col) for col in zip(*self.producer_surplus.values(), strict=True)]
        exports = [sum(col) for col in zip(*self.export.values(), strict=True)] if self.export else []
        return [a + b for a, b in zip(surplus, exports or [0] * len(surplus), strict=True)]

    def violations(self) -> list[str]:
        """Broken identities, if any (empty for every allocation this module makes)."""
        out = []
        for pid, c in self.consumption.items():
            for i, (cc, s, g, a, e) in enumerate(
                zip(
                    c,
                    self.shared[pid],
                    self.grid_supply[pid],
                    self.allocated[pid],
                    self.export[pid],
                    strict=True,
                )
            ):
                if s + g != cc or s + e != a or min(s, g, a, e) < 0:
                    out.append(
                        f"{pid} slot {i}: consumption {cc}, shared {s}, grid {g}, allocated {a}, export {e}"
                    )
        for pid, inj in self.injection.items():
            for i, (p, s, r) in enumerate(
                zip(inj, self.producer_shared[pid], self.producer_surplus[pid], strict=True)
            ):
                if s + r != p or min(s, r) < 0:
                    out.append(f"{pid} slot {i}: injection {p}, shared {s}, surplus {r}")
        for i in range(len(self.slots)):
            given = sum(a[i] for a in self.allocated.values()) + self.undistributed[i]
            if given != sum(s[i] for s in self.producer_shared.values()):
                out.append(f"slot {i}: allocated {given} Wh, producers' shared part differs")
        return out


def allocate(
    rule: Rule,
    start: datetime,
    slot_minutes: int,
    consumption: dict[str, list[int]],
    injection: dict[str, list[int]],
    *,
    virtual: bool = False,
) -> Allocation:
    """Allocate quarter-hour series [Wh] at ``slot_minutes`` (15 or 60) under ``rule``.

    ``virtual`` (Italy's CER): each hour's shared energy is min(injected, consumed) by law; the key
    only divides it among consumers (always with the cap and redistribution).
    """
    cons = {k: resample(v, slot_minutes) for k, v in consumption.items()}
    inj = {k: resample(v, slot_minutes) for k, v in injection.items()}
    n = len(next(iter(cons.values())))
    step = timedelta(minutes=slot_minutes)
    out = Allocation([start + step * i for i in range(n)], slot_minutes, virtual, cons, inj)
    ids, pids = list(cons), list(inj)
    for k in ids:
        out.allocated[k], out.shared[k], out.grid_supply[k], out.export[k] = [], [], [], []
    for k in pids:
        out.producer_shared[k], out.producer_surplus[k] = [], []
    slot_rule = Rule(rule.key, True, True, rule.shares, rule.priorities) if virtual else rule
    for i in range(n):
        c = [cons[k][i] for k in ids]
        p_each = [inj[k][i] for k in pids]
        p = sum(p_each)
        pot = min(p, sum(c)) if virtual else p
        alloc = allocate_slot(pot, c, slot_rule)
        given = sum(alloc)
        for k, a, cc in zip(ids, alloc, c, strict=True):
            s = min(a, cc)
            out.allocated[k].append(a)
            out.shared[k].append(s)
            out.grid_supply[k].append(cc - s)
            out.export[k].append(a - s)
        out.undistributed.append(pot - given if virtual else 0)
        for k, part, pj in zip(pids, apportion(pot if virtual else given, p_each), p_each, strict=True):
            out.producer_shared[k].append(part)
            out.producer_surplus[k].append(pj - part)
    return out
