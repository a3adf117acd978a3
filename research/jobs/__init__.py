"""The research server's side of research jobs: signing accepted jobs, combining the boxes' results.

Like the rest of the server, this package never imports the daemon (`hems`): it speaks only the
wire format (`wire.jobs`, `wire.results`). Documented in docs/research-jobs.md.
"""
