"""`HemsApp`: the household's dashboard, one screen per mode, fed by thread workers.

Data flow: a timer starts a thread worker (never two at once) that reads the `DataSource` and posts a
small message; messages of one kind coalesce, so a slow terminal never queues stale frames. Handlers
only store the new data in `Dashboard` and ask the visible screen to redraw: no I/O in a handler.
When the daemon is gone the live read returns nothing, the bar says "no data since ...", and the next
successful read recovers by itself.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.message import Message
from textual.worker import Worker

from hems.clock import Clock, SystemClock
from tui.model import Live, is_stale, parse_live, parse_time, zone
from tui.plan import Plan, parse_plan
from tui.reports import PERIODS, History, Period, circuits_today_kwh, load_history
from tui.screens import AlertsScreen, CircuitsScreen, HemsScreen, HistoryScreen, NowScreen, PlanScreen
from tui.screens.help import HelpScreen
from tui.screens.jobs import JobsScreen
from tui.source import DataSource, EventRow, JobRow, SourceUnavailable

EVENT_DAYS = 7  #: the Alerts screen shows this many days of the event log
TREND_POINTS = 120  #: fresh live states kept in memory for the Now screen's grid trend


@dataclass
class Dashboard:
    """Everything the screens show; written only by message handlers on the app."""

    live: Live | None = None
    last_seen: datetime | None = None  #: time of the newest live state ever received
    stale: bool = True
    pulse: int = 0  #: counts fresh live states (the bar's heartbeat)
    today_kwh: dict[str, float | None] = field(default_factory=dict)
    today: History | None = None  #: today so far, per hour (the Now screen's chart)
    trend: deque[tuple[datetime, float | None]] = field(default_factory=lambda: deque(maxlen=TREND_POINTS))
    plan: Plan | None = None
    plan_error: str | None = None
    events: list[EventRow] = field(default_factory=list)
    events_error: str | None = None
    period: Period = "day"
    anchor: date | None = None  #: local date inside the shown history period; None = today
    history: History | None = None
    history_error: str | None = None
    jobs: list[JobRow] | None = None  #: researchers' jobs on this box (read when the Jobs screen shows)
    jobs_error: str | None = None


class JobsUpdate(Message):
    """The research jobs on the box, or why they cannot be read."""

    def __init__(self, jobs: list[JobRow] | None, error: str | None) -> None:
        super().__init__()
        self.jobs = jobs
        self.error = error


class LiveUpdate(Message):
    """A fresh read of the live state (None: nothing readable)."""

    def __init__(self, live: Live | None) -> None:
        super().__init__()
        self.live = live

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LiveUpdate)


class StoredUpdate(Message):
    """Plan, events and today's per-circuit energy, read from the database."""

    def __init__(
        self,
        plan: Plan | None,
        plan_error: str | None,
        events: list[EventRow],
        events_error: str | None,
        today_kwh: dict[str, float | None],
        today: History | None = None,
    ) -> None:
        super().__init__()
        self.plan, self.plan_error = plan, plan_error
        self.events, self.events_error = events, events_error
        self.today_kwh = today_kwh
        self.today = today

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StoredUpdate)


class HistoryUpdate(Message):
    def __init__(self, key: tuple[Period, date], history: History | None, error: str | None) -> None:
        super().__init__()
        self.key, self.history, self.error = key, history, error

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, HistoryUpdate)


class HemsApp(App[None]):
    """The dashboard. ``source`` is read only from thread workers; ``clock`` gives "now"."""

    TITLE = "hems"
    ENABLE_COMMAND_PALETTE = False
    MODES: ClassVar = {
        "now": NowScreen,
        "circuits": CircuitsScreen,
        "plan": PlanScreen,
        "history": HistoryScreen,
        "alerts": AlertsScreen,
        "jobs": JobsScreen,
    }
    DEFAULT_MODE = "now"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "switch_mode('now')", "Now"),
        Binding("c", "switch_mode('circuits')", "Circuits"),
        Binding("p", "switch_mode('plan')", "Plan"),
        Binding("h", "switch_mode('history')", "History"),
        Binding("a", "switch_mode('alerts')", "Alerts"),
        Binding("j", "switch_mode('jobs')", "Jobs", show=False),  # in the help; the footer stays as it was
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        *(
            Binding(str(i + 1), f"switch_mode('{m}')", m, show=False)
            for i, m in enumerate(("now", "circuits", "plan", "history", "alerts", "jobs"))
        ),
    ]

    def __init__(
        self,
        source: DataSource,
        clock: Clock | None = None,
        *,
        timezone: str | None = None,
        poll_seconds: float = 1.0,
        stored_seconds: float = 30.0,
        stale_after: timedelta = timedelta(seconds=30),
        background: Callable[[threading.Event], object] | None = None,
        circuits: Sequence[tuple[str, str]] = (),
        start_date: date | None = None,
    ) -> None:
        """``background``: a blocking function run in its own thread while the dashboard is up (the
        demo's daemon); it must return soon after the event it is given is set, which happens when
        the dashboard closes. Its exception, if any, is kept in `background_error`. ``circuits``:
        (id, name) of the circuits the database holds, for History when no live state names them;
        ``start_date``: open History at the period holding that local day."""
        super().__init__()
        self.source = source
        self.clock: Clock = clock or SystemClock()
        self.default_tz = zone(timezone, UTC)
        self.poll_seconds = poll_seconds
        self.stored_seconds = stored_seconds
        self.stale_after = stale_after
        self.data = Dashboard()
        self.known_circuits = tuple(circuits)
        self.start_date = start_date
        self._stored_ids: tuple[str, ...] = ()  #: circuits asked for in the last stored read
        self._pending: set[str] = set()  #: worker groups asked for again while busy
        self.background = background
        self.background_stop = threading.Event()
        self.background_thread: threading.Thread | None = None
        self.background_error: BaseException | None = None

    # ----- time -------------------------------------------------------------------------------------
    @property
    def tz(self) -> tzinfo:
        """The household's time zone: the daemon's, else the one given, else UTC."""
        live = self.data.live
        return zone(live.timezone if live else None, self.default_tz)

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self.now().astimezone(self.tz).date()

    # ----- lifecycle --------------------------------------------------------------------------------
    def on_mount(self) -> None:
        if self.background is not None:
            self.background_thread = threading.Thread(target=self._run_background, name="hems-background")
            self.background_thread.start()
        self.set_interval(self.poll_seconds, self.poll_live)
        self.set_interval(self.stored_seconds, self.poll_stored)
        self.poll_live()
        self.poll_stored()
        if self.start_date is not None:
            self.data.anchor = None if self.start_date == self.today() else self.start_date
            self.switch_mode("history")

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def on_unmount(self) -> None:
        self.background_stop.set()  # run_dashboard joins the thread once the terminal is restored

    def _run_background(self) -> None:
        assert self.background is not None
        try:
            self.background(self.background_stop)
        except BaseException as exc:  # shown now, re-raised by run_dashboard after the app closes
            self.background_error = exc
            with contextlib.suppress(RuntimeError):  # the app may be closing already
                self.call_from_thread(self.notify, f"stopped: {exc}", severity="error", timeout=30)

    def _busy(self, group: str) -> bool:
        return any(w.group == group and not w.is_finished for w in self.workers)

    def poll_live(self) -> None:
        """Start a live read; while one is under way, note that one more is wanted (requests made
        meanwhile collapse into that one, so a hung file system never piles up threads)."""
        if self._busy("live"):
            self._pending.add("live")
            return
        self.run_worker(self._read_live, thread=True, group="live", exit_on_error=False)

    def poll_stored(self) -> None:
        if self._busy("stored"):
            self._pending.add("stored")
            return
        self._stored_ids = tuple(cid for cid, _ in self.circuits())
        self.run_worker(self._read_stored, thread=True, group="stored", exit_on_error=False)

    def load_history(self) -> None:
        """(Re)load the History screen's period; a newer request supersedes an older one."""
        period, anchor = self.data.period, self.data.anchor or self.today()  # as asked, not as later
        self.run_worker(
            lambda: self._read_history(period, anchor),
            thread=True,
            group="history",
            exclusive=True,
            exit_on_error=False,
        )

    def load_jobs(self) -> None:
        """(Re)read the research jobs for the Jobs screen."""
        self.run_worker(self._read_jobs, thread=True, group="jobs", exclusive=True, exit_on_error=False)

    def answer_job(self, job_id: str, approve: bool) -> None:
        """The household's answer to a waiting job, recorded in a worker; the list is read again."""

        def work() -> None:
            try:
                status = self.source.answer_job(job_id, approve, self.now())  # type: ignore[attr-defined]
                self.call_from_thread(self.notify, f"job {job_id} {status}")
            except (SourceUnavailable, AttributeError) as exc:
                self.call_from_thread(self.notify, str(exc), severity="error", timeout=8)
            self._read_jobs()

        self.run_worker(work, thread=True, group="jobs-answer", exit_on_error=False)

    # ----- workers (threads: all I/O happens here) --------------------------------------------------
    def _read_jobs(self) -> None:
        read = getattr(self.source, "research_jobs", None)
        if read is None:
            self.post_message(JobsUpdate(None, "this data source has no research jobs"))
            return
        try:
            self.post_message(JobsUpdate(read(), None))
        except SourceUnavailable as exc:
            self.post_message(JobsUpdate(None, str(exc)))

    def _read_live(self) -> None:
        try:
            live = parse_live(self.source.read_state())
        except Exception:  # a source must never take the dashboard down
            live = None
        self.post_message(LiveUpdate(live))

    def _read_stored(self) -> None:
        now, tz = self.now(), self.tz
        plan = plan_error = events_error = None
        events: list[EventRow] = []
        today: dict[str, float | None] = {}
        today_chart: History | None = None
        try:
            doc = self.source.get_doc("plan")
            plan = parse_plan(doc)
            if plan is None and isinstance(doc, dict) and doc.get("status") == "empty":
                checked = parse_time(doc.get("time"))
                when = f" (checked {checked.astimezone(tz):%H:%M})" if checked else ""
                plan_error = f"nothing is waiting to be planned{when}"
        except SourceUnavailable as exc:
            plan_error = str(exc)
        try:
            events = self.source.events(now - timedelta(days=EVENT_DAYS), now + timedelta(seconds=1))
            ids = list(self._stored_ids)
            today = circuits_today_kwh(self.source, ids, now, tz)
            today_chart = load_history(self.source, "day", now.astimezone(tz).date(), tz, now)
        except SourceUnavailable as exc:
            events_error = str(exc)
        self.post_message(StoredUpdate(plan, plan_error, events, events_error, today, today_chart))

    def circuits(self) -> list[tuple[str, str]]:
        """(id, name) of the circuits: the live state's, else those the database holds."""
        live = self.data.live
        if live is not None and live.circuits:
            return [(c.id, c.name) for c in live.circuits]
        return list(self.known_circuits)

    def _read_history(self, period: Period, anchor: date) -> None:
        circuits = self.circuits()
        try:
            hist = load_history(self.source, period, anchor, self.tz, self.now(), circuits)
            self.post_message(HistoryUpdate((period, anchor), hist, None))
        except SourceUnavailable as exc:
            self.post_message(HistoryUpdate((period, anchor), None, str(exc)))

    # ----- handlers (no I/O: store and redraw) ------------------------------------------------------
    def on_live_update(self, message: LiveUpdate) -> None:
        d = self.data
        if message.live is not None:
            if d.live is None or d.live.time != message.live.time:
                d.pulse += 1
                if message.live.time is not None:
                    d.trend.append((message.live.time, message.live.net_w))
            d.live = message.live
            d.last_seen = message.live.time
            if tuple(cid for cid, _ in self.circuits()) != self._stored_ids:
                self.poll_stored()  # new circuits: fetch their energy today now, not in 30 s
        d.stale = is_stale(message.live, self.now(), self.stale_after)
        self._redraw()

    def on_stored_update(self, message: StoredUpdate) -> None:
        d = self.data
        d.plan, d.plan_error = message.plan, message.plan_error
        d.events, d.events_error = message.events, message.events_error
        d.today_kwh, d.today = message.today_kwh, message.today
        if tuple(cid for cid, _ in self.circuits()) != self._stored_ids:
            self.poll_stored()  # circuits appeared while that read was under way: ask for them
        if isinstance(self.screen, HistoryScreen) and d.anchor is None:
            self.load_history()  # the period shown is still running: keep it up to date
        if isinstance(self.screen, JobsScreen):
            self.load_jobs()
        self._redraw()

    def on_jobs_update(self, message: JobsUpdate) -> None:
        self.data.jobs, self.data.jobs_error = message.jobs, message.error
        self._redraw()

    def on_history_update(self, message: HistoryUpdate) -> None:
        d = self.data
        if message.key != (d.period, d.anchor or self.today()):
            return  # an answer to a question nobody asks any more
        d.history, d.history_error = message.history, message.error
        self._redraw()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Start a read that was asked for while busy; show an unexpected failure, never crash."""
        group = event.worker.group
        if event.worker.is_finished and group in self._pending:
            self._pending.discard(group)
            {"live": self.poll_live, "stored": self.poll_stored}[group]()
        if event.worker.error is not None:
            self.notify(f"{event.worker.group}: {event.worker.error}", severity="error", timeout=5)

    def _redraw(self) -> None:
        if isinstance(self.screen, HemsScreen):
            # the screen's widgets not mounted yet (or gone): the next update shows the data
            with contextlib.suppress(NoMatches):
                self.screen.show(self.data)

    # ----- history navigation (bound on the History screen) -----------------------------------------
    def go_to(self, day: date) -> None:
        """Show the current period holding local ``day`` (a future day: today's)."""
        d = self.data
        day = min(day, self.today())
        d.anchor = None if day == self.today() else day
        d.history, d.history_error = None, None
        self._redraw()
        self.load_history()

    def set_period(self, period: Period | None = None, steps: int = 0) -> None:
        d = self.data
        if period is None:
            period = PERIODS[(PERIODS.index(d.period) + 1) % len(PERIODS)] if steps == 0 else d.period
        anchor = d.anchor or self.today()
        if steps:
            from tui.reports import shift_anchor

            anchor = min(shift_anchor(period, anchor, steps), self.today())
        d.period, d.anchor = period, (None if anchor == self.today() else anchor)
        d.history, d.history_error = None, None
        self._redraw()
        self.load_history()
