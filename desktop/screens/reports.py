"""Placeholder."""

from __future__ import annotations

from kivy.uix.widget import Widget

from .base import BaseScreen


class ReportsScreen(BaseScreen):
    route = "reports"

    def compose(self) -> Widget:
        return Widget()
