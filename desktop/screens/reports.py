"""On-time statistics (Decision 766) by field, procedure, clerk or month, with bar charts.

Dossiers withdrawn at the citizen's request (then stopped) are neither on time nor late:
shown in a row and a bar segment of their own, outside the rates (``Stats.judged`` is the
rates' base)."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from core.domain.errors import N_
from core.i18n import _, number, percent, tr
from core.reports.ontime import Bucket, Stats
from desktop import labels, theme
from desktop.ui.chart import BarChart, legend
from desktop.ui.widgets import Card, McButton, fit_width, heading, muted, row, scrolling
from desktop.ui.widgets import labels as pairs

from .base import BaseScreen

if TYPE_CHECKING:
    from core.services.branch import Branch

PERIODS = (("month", N_("This month")), ("30d", N_("Last 30 days")), ("year", N_("This year")))
GROUPINGS = (
    ("field", N_("By field")),
    ("procedure", N_("By procedure")),
    ("clerk", N_("By clerk")),
    ("month", N_("By month")),
)
SEGMENTS: tuple[tuple[tuple[Bucket, ...], str, theme.RGBA], ...] = (
    ((Bucket.EARLY, Bucket.ON_TIME), N_("Finished on time"), theme.SUCCESS),
    ((Bucket.IN_PROGRESS_WITHIN, Bucket.PAUSED), N_("In progress on time"), theme.INFO),
    ((Bucket.LATE, Bucket.IN_PROGRESS_LATE), N_("Late"), theme.DANGER),
    ((Bucket.WITHDRAWN,), N_("Withdrawn by the citizen"), theme.TEXT_MUTED),
)


def period(key: str, now: datetime) -> tuple[datetime, datetime]:
    if key == "30d":
        return now - timedelta(days=30), now
    if key == "year":
        return now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0), now
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0), now


def group_label(by: str, key: str) -> str:
    return labels.field_label(key) if by == "field" else key


class ReportsScreen(BaseScreen):
    route = "reports"
    title = N_("Reports: on-time processing")

    def compose(self) -> Widget:
        self.period_key, self.by = "month", "field"
        page = BoxLayout(orientation="vertical", spacing=theme.GAP)
        self.period_buttons = {
            k: fit_width(McButton(_(t), functools.partial(self.set_period, k), variant="secondary"))
            for k, t in PERIODS
        }
        self.group_buttons = {
            k: fit_width(McButton(_(t), functools.partial(self.set_group, k), variant="secondary"))
            for k, t in GROUPINGS
        }
        page.add_widget(row(*self.period_buttons.values(), Widget(), *self.group_buttons.values()))
        body = BoxLayout(spacing=theme.GAP + 4)
        self.totals = Card(fit=False, size_hint_x=0.32)
        chart_card = Card(fit=False)
        chart_card.add_widget(legend([(_(label), colour) for _b, label, colour in SEGMENTS]))
        self.chart = BarChart()
        chart_card.add_widget(scrolling(self.chart))
        body.add_widget(self.totals)
        body.add_widget(chart_card)
        page.add_widget(body)
        return page

    def set_period(self, key: str) -> None:
        self.period_key = key
        self.refresh()

    def set_group(self, key: str) -> None:
        self.by = key
        self.refresh()

    def refresh(self) -> None:
        for key, button in self.period_buttons.items():
            button.set_variant("primary" if key == self.period_key else "secondary")
        for key, button in self.group_buttons.items():
            button.set_variant("primary" if key == self.by else "secondary")
        start, end = period(self.period_key, self.services.branch.clock())
        by = self.by

        def work(branch: Branch) -> tuple[dict[str, Stats], dict[str, Stats]]:
            return branch.reports.stats(start, end, "all"), branch.reports.stats(start, end, by)

        self.ops.read(work, self.show)

    def show(self, result: tuple[dict[str, Stats], dict[str, Stats]]) -> None:
        overall, groups = result
        total = overall.get("all")
        self.totals.clear_widgets()
        self.totals.add_widget(heading(_("Whole branch"), size=theme.FONT_LARGE))
        if total is None or not total.total:
            self.totals.add_widget(muted(_("No dossiers in this period."), size=theme.FONT_BODY))
        else:
            counts = total.buckets
            self.totals.add_widget(
                pairs(
                    [
                        (_("Dossiers"), number(total.total)),
                        (_("On-time rate"), percent(total.on_time_rate, 1)),
                        (_("Late rate"), percent(total.late_rate, 1)),
                        (_("Satisfaction"), percent(total.satisfaction, 1)),
                        (_("Early"), number(counts[Bucket.EARLY])),
                        (_("On time"), number(counts[Bucket.ON_TIME])),
                        (_("Late"), number(counts[Bucket.LATE])),
                        (_("In progress on time"), number(counts[Bucket.IN_PROGRESS_WITHIN])),
                        (_("In progress, late"), number(counts[Bucket.IN_PROGRESS_LATE])),
                        (_("Paused for supplement"), number(counts[Bucket.PAUSED])),
                        (
                            _("Withdrawn by the citizen (outside the rates)"),
                            number(total.withdrawn),
                        ),
                        (_("Sent to other units (judged there)"), number(total.sent_out)),
                        (_("Received from other units"), number(total.transferred_in)),
                    ],
                    caption_width=0.62,
                )
            )
        self.totals.add_widget(Widget())
        data = []
        for key, stats in sorted(groups.items(), key=lambda kv: -kv[1].total):
            n = stats.total or 1
            segments = [
                (sum(stats.buckets[b] for b in buckets) / n, colour)
                for buckets, _label, colour in SEGMENTS
            ]
            rate = number(stats.on_time_rate)
            value = tr("{rate} % on time · {n}", rate=rate, n=number(stats.total))
            data.append((group_label(self.by, key), segments, value))
        self.chart.set_data(data)
