"""hems — home energy management box (daemon, configuration, storage, jobs, alerts, reports, CLI)."""

__version__ = "0.1.0"
