"""Reports: what a day, week or month of the household's data adds up to (see docs/reports.md)."""

from hems.reports.flows import Allocation, FlowTotals, SlotFlows, slot_flows
from hems.reports.periods import PERIODS, Span, span
from hems.reports.summary import Report, build_report

__all__ = [
    "PERIODS",
    "Allocation",
    "FlowTotals",
    "Report",
    "SlotFlows",
    "Span",
    "build_report",
    "slot_flows",
    "span",
]
