"""What the box and the research server say to each other, defined once for both sides.

Standard library only (except `wire.jobcheck`, which needs sqlglot, installed on both sides): the
research server imports this package and never the daemon; the box imports it and never the server.
Documented for people in docs/research-jobs.md and docs/telemetry.md.
"""
