"""Researchers' analyses that run on the box ("code to data", the TOTEM idea): only aggregates leave.

A signed job (`wire.jobs`) is fetched on the daily connection, checked (`wire.jobcheck`), decided
by the household ([research_jobs], `hems jobs approve|refuse`, the dashboard), run in a watched
worker process on an isolated copy of the documented views under its budget, and only its
aggregated — optionally noisy — result is sent. docs/research-jobs.md tells the whole story.

Kept light: the daemon imports `hems.research_jobs.job`; sqlglot, cryptography and OpenDP are
imported only when a job is handled.
"""
