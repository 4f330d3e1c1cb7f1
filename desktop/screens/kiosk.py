"""Placeholder."""

from __future__ import annotations

from kivy.uix.widget import Widget

from .base import BaseScreen


class KioskScreen(BaseScreen):
    route = "kiosk"

    def compose(self) -> Widget:
        return Widget()
