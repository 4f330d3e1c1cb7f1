"""Horizontal bar charts drawn with Kivy graphics (no plotting library)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kivy.graphics import Color, Rectangle
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from desktop import theme

from .widgets import Cell, Column


class Bar(Widget):
    """One bar: segments of (fraction, colour) laid end to end over a track."""

    def __init__(self, segments: Sequence[tuple[float, theme.RGBA]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.segments = [(max(0.0, min(1.0, f)), c) for f, c in segments]
        self.bind(pos=self._redraw, size=self._redraw)

    def _redraw(self, *_: Any) -> None:
        self.canvas.clear()
        pad = 6
        height = self.height - 2 * pad
        with self.canvas:
            Color(*theme.SURFACE_ALT)
            Rectangle(pos=(self.x, self.y + pad), size=(self.width, height))
            x = self.x
            for fraction, colour in self.segments:
                width = self.width * fraction
                Color(*colour)
                Rectangle(pos=(x, self.y + pad), size=(width, height))
                x += width


class BarChart(Column):
    """Rows of label, stacked bar and value text."""

    def set_data(self, rows: Sequence[tuple[str, Sequence[tuple[float, theme.RGBA]], str]]) -> None:
        self.clear_widgets()
        for label, segments, value in rows:
            line = BoxLayout(size_hint_y=None, height=theme.ROW - 4, spacing=theme.GAP)
            line.add_widget(Cell(label, 0.34, font_size=theme.FONT_SMALL))
            line.add_widget(Bar(segments, size_hint_x=0.46))
            line.add_widget(Cell(value, 0.2, font_size=theme.FONT_SMALL))
            self.add_widget(line)


def legend(items: Sequence[tuple[str, theme.RGBA]]) -> BoxLayout:
    box = BoxLayout(size_hint_y=None, height=26, spacing=theme.GAP)
    for text, colour in items:
        swatch = Widget(size_hint_x=None, width=16)
        with swatch.canvas:
            Color(*colour)
            rect = Rectangle(size=(14, 14))
        swatch.bind(pos=lambda w, p, r=rect: setattr(r, "pos", (p[0], p[1] + 6)))
        box.add_widget(swatch)
        box.add_widget(Cell(text, 1.0, font_size=theme.FONT_SMALL, color=theme.TEXT_MUTED))
    return box
