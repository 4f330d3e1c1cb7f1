"""Placeholder."""

from __future__ import annotations

from kivy.uix.widget import Widget

from .base import BaseScreen


class DossierScreen(BaseScreen):
    route = "dossier"

    def compose(self) -> Widget:
        return Widget()
