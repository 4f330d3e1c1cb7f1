"""Placeholder."""

from __future__ import annotations

from kivy.uix.widget import Widget

from .base import BaseScreen


class ReturnsScreen(BaseScreen):
    route = "returns"

    def compose(self) -> Widget:
        return Widget()
