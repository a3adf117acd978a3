"""Shared solar in a building or an energy community: allocation and a bill per participant.

Depends on tariffs/ only (checked by tests/core/test_architecture.py); `hems community` is its
command line (hems/commands/community.py), which also lends it a reader for hems box databases.

- `community.members`: the members file (TOML), validated, one error line per problem.
- `community.sources`: quarter-hour series from CSV, Green Button (ESPI) XML, or a hems box.
- `community.conformity`: gaps, duplicates, DST days, impossible values, main meter, arbitration.
- `community.allocation`: allocation keys on integer Wh (prorata, static, equal, cascade).
- `community.billing` and `community.italy`: bills (tariffs.cost for grid supply), CER incentive.
- `community.pipeline.run_month`: read → check → allocate → bill (or refuse).
- `community.access`, `community.views`, `community.render`: who sees what, and how.

See docs/community.md.
"""
