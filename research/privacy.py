"""k-anonymity on the postcode prefix: which prefixes are released as they are, generalised, or withheld.

A prefix shared by fewer than k households narrows a household down to a few streets. Such prefixes
are generalised one character at a time (``108x`` → ``10xx`` → ``1xxx``), pooled with the other
small prefixes of the same stem, and released under the shorter stem only when the pool holds at
least k households; a pool still below k at ``1xxx`` is withheld (``None``). Prefixes with k or more
households are released unchanged and never pooled, so every released label stands for at least k
households. k on the prefix alone is a floor: other attributes make groups smaller still.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping


def generalise(prefix: str, keep: int) -> str:
    """``prefix`` with only its first ``keep`` characters kept: ``generalise("108x", 2) == "10xx"``."""
    return prefix[:keep] + "x" * (len(prefix) - keep)


def release_prefixes(counts: Mapping[str, int], k: int) -> dict[str, str | None]:
    """For each prefix (households per prefix in ``counts``), its released label or None (withheld)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    released: dict[str, str | None] = {p: p for p, n in counts.items() if n >= k}
    small = {p: n for p, n in counts.items() if n < k}
    width = max((len(p.rstrip("x")) for p in small), default=0)
    for keep in range(width - 1, 0, -1):
        pools: dict[str, list[str]] = defaultdict(list)
        for p in small:
            pools[p[:keep]].append(p)
        for members in pools.values():
            if sum(small[p] for p in members) >= k:
                for p in members:
                    released[p] = generalise(p, keep)
                    del small[p]
    for p in small:
        released[p] = None
    return released
