"""Placeholder."""

from __future__ import annotations

from kivy.uix.widget import Widget

from .base import BaseScreen


class QueuesScreen(BaseScreen):
    route = "queues"

    def compose(self) -> Widget:
        return Widget()
