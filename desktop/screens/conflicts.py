"""Placeholder."""

from __future__ import annotations

from kivy.uix.widget import Widget

from .base import BaseScreen


class ConflictsScreen(BaseScreen):
    route = "conflicts"

    def compose(self) -> Widget:
        return Widget()
