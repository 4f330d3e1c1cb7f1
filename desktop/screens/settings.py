"""Placeholder."""

from __future__ import annotations

from kivy.uix.widget import Widget

from .base import BaseScreen


class SettingsScreen(BaseScreen):
    route = "settings"

    def compose(self) -> Widget:
        return Widget()
