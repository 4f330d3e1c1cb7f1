"""Placeholder."""

from __future__ import annotations

from kivy.uix.widget import Widget

from .base import BaseScreen


class LookupScreen(BaseScreen):
    route = "lookup"

    def compose(self) -> Widget:
        return Widget()
