"""Jobs: researchers' analyses offered to this box — what each asks, what was decided and why, and
what left the box. A job waiting for the household is approved with ``y`` or refused with ``x``."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from tui.model import fmt_since
from tui.screens.base import HemsScreen, put

if TYPE_CHECKING:
    from tui.app import Dashboard
    from tui.source import JobRow

STATUS_STYLE = {"waiting": "bold yellow", "refused": "red", "failed": "red", "sent": "green", "done": "green"}


class JobsScreen(HemsScreen):
    TITLE = "Jobs"
    DEFAULT_CSS = """
    JobsScreen #jobs-list { height: 1fr; border: round $primary; }
    JobsScreen #jobs-detail { height: auto; max-height: 8; border: round $primary; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Approve"),
        Binding("x", "answer(False)", "Refuse"),
    ]

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="jobs-list", cursor_type="row", zebra_stripes=False)
        yield Static(id="jobs-detail")

    def on_mount(self) -> None:
        table = self.query_one("#jobs-list", DataTable)
        table.border_title = "Researchers' jobs: y approve, x refuse a waiting one"
        table.add_columns("received", "status", "job", "categories", "why")
        self.query_one("#jobs-detail").border_title = "Job"
        self._shown: tuple[object, ...] = ()

    def on_screen_resume(self) -> None:
        self.hems.load_jobs()

    def _selected(self) -> JobRow | None:
        jobs = self.hems.data.jobs or []
        row = self.query_one("#jobs-list", DataTable).cursor_row
        return jobs[row] if 0 <= row < len(jobs) else None

    def action_answer(self, approve: bool) -> None:
        job = self._selected()
        if job is None:
            return
        if job.status != "waiting":
            self.notify(f"job {job.id} is {job.status}: only a waiting job can be answered", timeout=5)
            return
        self.hems.answer_job(job.id, approve)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail()

    def _detail(self) -> None:
        job = self._selected()
        text = Text()
        if job is None:
            text.append("No job selected.", style="dim")
        else:
            text.append(f"{job.title}", style="bold")
            text.append(f"  ({job.id})\nasked by {job.researcher}; categories {', '.join(job.categories)}\n")
            text.append(f"{job.status}: {job.reason or ''}\n", style=STATUS_STYLE.get(job.status, ""))
            if job.usage:
                used = ", ".join(f"{k} {v}" for k, v in job.usage.items())
                text.append(f"used {used}\n", style="dim")
            if job.groups is not None:
                text.append(
                    f"result: {job.groups} aggregated group(s), never a single reading (hems jobs show)"
                )
        put(self.query_one("#jobs-detail", Static), text)

    def show_body(self, data: Dashboard) -> None:
        table = self.query_one("#jobs-list", DataTable)
        if data.jobs_error:
            table.border_subtitle = f"unavailable: {data.jobs_error}"
        jobs = data.jobs or []
        if data.jobs is not None and not data.jobs_error:
            waiting = sum(1 for j in jobs if j.status == "waiting")
            table.border_subtitle = f"{len(jobs)} job(s), {waiting} waiting for you"
        shown = tuple(jobs)
        if shown == self._shown:
            return
        self._shown = shown
        row = table.cursor_row
        table.clear()
        tz, now = self.hems.tz, self.hems.now()
        for j in jobs:
            table.add_row(
                fmt_since(j.received_at, now, tz),
                Text(j.status, style=STATUS_STYLE.get(j.status, "")),
                j.title or j.id,
                ",".join(j.categories),
                j.reason or "",
            )
        if jobs:
            table.move_cursor(row=min(max(row, 0), len(jobs) - 1))
        self._detail()
