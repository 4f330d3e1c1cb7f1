"""A list of rows with a header: each row is focusable and opens with Enter or a click."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kivy.graphics import Color, Rectangle
from kivy.uix.behaviors import ButtonBehavior, FocusBehavior
from kivy.uix.boxlayout import BoxLayout

from desktop import theme

from .widgets import Cell, Column, Text, paint, scrolling

Columns = Sequence[tuple[str, float]]


class TableRow(FocusBehavior, ButtonBehavior, BoxLayout):
    def __init__(self, key: str, cells: Sequence[str], columns: Columns, stripe: bool) -> None:
        super().__init__(
            size_hint_y=None, height=theme.ROW, spacing=theme.GAP, padding=(theme.GAP, 0)
        )
        self.key = key
        self.opener: Callable[[str], object] | None = None
        with self.canvas.before:
            self._colour = Color(*(theme.SURFACE_ALT if stripe else theme.SURFACE))
            self._rect = Rectangle()
        self._base = theme.SURFACE_ALT if stripe else theme.SURFACE
        self.bind(pos=self._redraw, size=self._redraw, focus=self._redraw)
        for text, (_title, hint) in zip(cells, columns, strict=False):
            self.add_widget(Cell(text, hint))
        self._redraw()

    def _redraw(self, *_: Any) -> None:
        self._rect.pos, self._rect.size = self.pos, self.size
        self._colour.rgba = (1.0, 0.95, 0.8, 1) if self.focus else self._base

    def on_press(self) -> None:
        if self.opener is not None:
            self.opener(self.key)

    def keyboard_on_key_down(self, window: Any, keycode: Any, text: Any, modifiers: Any) -> bool:
        if keycode[1] in ("enter", "numpadenter"):
            self.on_press()
            return True
        return bool(super().keyboard_on_key_down(window, keycode, text, modifiers))


class Table(BoxLayout):
    """A header and scrolling rows; ``on_open(key)`` is called for the chosen row."""

    def __init__(
        self,
        columns: Columns,
        on_open: Callable[[str], object] | None = None,
        empty: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(orientation="vertical", **kwargs)
        self.columns = columns
        self.on_open = on_open
        self.empty_text = empty
        header = BoxLayout(
            size_hint_y=None, height=theme.ROW - 6, spacing=theme.GAP, padding=(theme.GAP, 0)
        )
        paint(header, theme.SURFACE_ALT)
        for title, hint in columns:
            header.add_widget(
                Cell(title, hint, bold=True, color=theme.TEXT_MUTED, font_size=theme.FONT_SMALL)
            )
        self.add_widget(header)
        self.body = Column(spacing=0)
        self.add_widget(scrolling(self.body))
        self.rows: list[TableRow] = []

    def set_rows(self, rows: Sequence[tuple[str, Sequence[str]]]) -> None:
        self.body.clear_widgets()
        self.rows = []
        if not rows and self.empty_text:
            self.body.add_widget(
                Text(self.empty_text, color=theme.TEXT_MUTED, padding=(theme.GAP, theme.GAP))
            )
        for index, (key, cells) in enumerate(rows):
            table_row = TableRow(key, cells, self.columns, index % 2 == 1)
            table_row.opener = self.on_open
            self.body.add_widget(table_row)
            self.rows.append(table_row)

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self.rows]
