"""Placeholder."""

from __future__ import annotations

from kivy.uix.widget import Widget

from .base import BaseScreen


class IntakeScreen(BaseScreen):
    route = "intake"

    def compose(self) -> Widget:
        return Widget()
