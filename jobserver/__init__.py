"""The research server's side of research jobs: signing accepted jobs, combining the boxes' results.

Pure parts, kept here until the research server (`research/`, issue #17) lands on main; they move to
``research/jobs/`` then. Like the server, this package never imports the daemon (`hems`): it speaks
only the wire format (`wire.jobs`, `wire.results`).
"""
