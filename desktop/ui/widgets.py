"""The few widgets every screen is built from, styled by :mod:`desktop.theme`.

Text wraps and grows in height (never clipped); buttons and inputs take keyboard focus
(Tab / Shift+Tab move, Enter or Space presses); table rows open with Enter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kivy.graphics import Color, Line, Rectangle, RoundedRectangle
from kivy.uix.behaviors import ButtonBehavior, FocusBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.textinput import TextInput
from kivy.uix.widget import Widget

from desktop import theme

RGBA = theme.RGBA


def paint(widget: Widget, colour: RGBA, radius: int = 0, border: RGBA | None = None) -> None:
    """Give a widget a flat background (and an optional border) that follows its size."""
    with widget.canvas.before:
        Color(*colour)
        shape = RoundedRectangle(radius=[radius]) if radius else Rectangle()
        if border is not None:
            Color(*border)
            outline = Line(width=1)

    def follow(*_: Any) -> None:
        shape.pos, shape.size = widget.pos, widget.size
        if border is not None:
            outline.rectangle = (widget.x, widget.y, widget.width, widget.height)

    widget.bind(pos=follow, size=follow)
    follow()


class Text(Label):
    """A label that wraps to its width and is exactly as tall as its text."""

    def __init__(
        self,
        text: str = "",
        size: int = theme.FONT_BODY,
        color: RGBA = theme.TEXT,
        bold: bool = False,
        halign: str = "left",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            text=text,
            font_size=size,
            color=color,
            bold=bold,
            halign=halign,
            valign="middle",
            size_hint_y=None,
            **kwargs,
        )
        self.bind(width=self._wrap, texture_size=self._grow, text=self._grow)
        self._wrap()
        self._grow()

    def _wrap(self, *_: Any) -> None:
        self.text_size = (self.width, None)

    def _grow(self, *_: Any) -> None:
        """Empty text takes no room; otherwise exactly the wrapped text's height."""
        self.height = max(self.texture_size[1], self.font_size * 1.4) if self.text else 0


def fit_width(button: Label, extra: int = 2 * theme.PAD) -> Label:
    """Size a button to its whole label (no ellipsis) and stop it stretching."""
    from kivy.core.text import Label as CoreLabel

    measure = CoreLabel(text=button.text, font_size=button.font_size, font_name=button.font_name)
    measure.refresh()
    button.size_hint_x = None
    button.width = measure.texture.size[0] + extra
    return button


def heading(text: str, size: int = theme.FONT_TITLE) -> Text:
    return Text(text, size=size, bold=True)


def muted(text: str, size: int = theme.FONT_SMALL) -> Text:
    return Text(text, size=size, color=theme.TEXT_MUTED)


class Cell(Label):
    """One line of text in a row: shortened with an ellipsis, never overflowing."""

    def __init__(self, text: str, width_hint: float = 1.0, **kwargs: Any) -> None:
        kwargs.setdefault("color", theme.TEXT)
        kwargs.setdefault("font_size", theme.FONT_BODY)
        kwargs.setdefault("halign", "left")
        super().__init__(
            text=text,
            size_hint_x=width_hint,
            shorten=True,
            shorten_from="right",
            valign="middle",
            **kwargs,
        )
        self.bind(size=lambda *_: setattr(self, "text_size", self.size))


_VARIANTS: dict[str, tuple[RGBA, RGBA]] = {
    "primary": (theme.PRIMARY, theme.ON_PRIMARY),
    "secondary": (theme.SECONDARY, theme.ON_SECONDARY),
    "danger": (theme.DANGER, theme.ON_PRIMARY),
    "success": (theme.SUCCESS, theme.ON_PRIMARY),
    "nav": (theme.NAV, theme.ON_PRIMARY),
    "nav_active": (theme.NAV_ACTIVE, theme.ON_PRIMARY),
}


class McButton(FocusBehavior, ButtonBehavior, Label):
    """A flat button; Enter or Space presses it when focused."""

    def __init__(
        self,
        text: str,
        on_press: Callable[[], object] | None = None,
        variant: str = "primary",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("size_hint_y", None)
        kwargs.setdefault("height", theme.ROW)
        kwargs.setdefault("font_size", theme.FONT_BODY)
        kwargs.setdefault("halign", "center")
        super().__init__(text=text, valign="middle", shorten=True, **kwargs)
        self.variant = variant
        self._action = on_press
        background, foreground = _VARIANTS[variant]
        self.color = foreground
        with self.canvas.before:
            self._bg_colour = Color(*background)
            self._bg = RoundedRectangle(radius=[theme.RADIUS])
            self._ring_colour = Color(0, 0, 0, 0)
            self._ring = Line(width=2)
        self.bind(pos=self._redraw, size=self._redraw, focus=self._redraw, state=self._redraw)
        self._redraw()

    def set_variant(self, variant: str) -> None:
        self.variant = variant
        background, foreground = _VARIANTS[variant]
        self._bg_colour.rgba = background
        self.color = foreground

    def _redraw(self, *_: Any) -> None:
        self.text_size = (max(self.width - 2 * theme.GAP, 1), self.height)
        self._bg.pos, self._bg.size = self.pos, self.size
        x, y, w, h = self.x + 1, self.y + 1, self.width - 2, self.height - 2
        self._ring.rounded_rectangle = (x, y, w, h, theme.RADIUS)
        self._ring_colour.rgba = theme.FOCUS if self.focus else (0, 0, 0, 0)
        background = _VARIANTS[self.variant][0]
        dim = 0.85 if self.state == "down" else 1.0
        self._bg_colour.rgba = (background[0] * dim, background[1] * dim, background[2] * dim, 1)

    def on_press(self) -> None:
        if self._action is not None and not self.disabled:
            self._action()

    def keyboard_on_key_down(self, window: Any, keycode: Any, text: Any, modifiers: Any) -> bool:
        if keycode[1] in ("enter", "numpadenter", "spacebar") and not self.disabled:
            self.trigger_action(duration=0)
            return True
        return bool(super().keyboard_on_key_down(window, keycode, text, modifiers))


class Input(TextInput):
    """A one-line input; Enter calls ``on_enter`` (or moves to the next field)."""

    def __init__(
        self, hint: str = "", on_enter: Callable[[], object] | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("multiline", False)
        kwargs.setdefault("size_hint_y", None)
        kwargs.setdefault("height", theme.ROW + 4)
        super().__init__(
            hint_text=hint,
            write_tab=False,
            font_size=theme.FONT_BODY,
            padding=(10, 10, 10, 8),
            foreground_color=theme.TEXT,
            cursor_color=theme.PRIMARY,
            **kwargs,
        )
        self._on_enter = on_enter
        self.bind(on_text_validate=self._validated)

    def _validated(self, *_: Any) -> None:
        if self._on_enter is not None:
            self._on_enter()
            return
        following = self.get_focus_next()
        if following is not None:
            following.focus = True


class Field(BoxLayout):
    """A caption, an input and the problem with its value (shown only when there is one)."""

    def __init__(self, caption: str, hint: str = "", **input_kwargs: Any) -> None:
        super().__init__(orientation="vertical", size_hint_y=None, spacing=2)
        self.caption = Text(caption, size=theme.FONT_SMALL, color=theme.TEXT_MUTED)
        self.input = Input(hint=hint, **input_kwargs)
        self.error = Text("", size=theme.FONT_SMALL, color=theme.DANGER)
        for child in (self.caption, self.input, self.error):
            self.add_widget(child)
            child.bind(height=self._fit)
        self._fit()

    def _fit(self, *_: Any) -> None:
        self.height = self.caption.height + self.input.height + self.error.height + 4

    @property
    def value(self) -> str:
        return str(self.input.text).strip()

    def show_error(self, message: str) -> None:
        self.error.text = message
        self._fit()


class Check(FocusBehavior, ButtonBehavior, Widget):
    """A check box drawn in the theme's colours; Space or Enter toggles it."""

    def __init__(self, active: bool = False, on_change: Callable[[bool], object] | None = None):
        super().__init__(size_hint=(None, None), size=(26, 26))
        self.active = active
        self._on_change = on_change
        self.bind(pos=self._redraw, size=self._redraw, focus=self._redraw)
        self._redraw()

    def on_press(self) -> None:
        self.active = not self.active
        self._redraw()
        if self._on_change is not None:
            self._on_change(self.active)

    def keyboard_on_key_down(self, window: Any, keycode: Any, text: Any, modifiers: Any) -> bool:
        if keycode[1] in ("enter", "numpadenter", "spacebar"):
            self.on_press()
            return True
        return bool(super().keyboard_on_key_down(window, keycode, text, modifiers))

    def _redraw(self, *_: Any) -> None:
        self.canvas.clear()
        x, y, w, h = self.x, self.y, self.width, self.height
        with self.canvas:
            Color(*(theme.PRIMARY if self.active else theme.SURFACE))
            RoundedRectangle(pos=(x, y), size=(w, h), radius=[4])
            Color(*(theme.FOCUS if self.focus else theme.BORDER))
            Line(rounded_rectangle=(x, y, w, h, 4), width=2 if self.focus else 1.2)
            if self.active:
                Color(*theme.ON_PRIMARY)
                Line(points=[x + 6, y + 13, x + 11, y + 7, x + 20, y + 19], width=2.2)


class Card(BoxLayout):
    """A white panel with a border; grows to its content when ``fit`` is set."""

    def __init__(self, fit: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("orientation", "vertical")
        kwargs.setdefault("padding", theme.PAD)
        kwargs.setdefault("spacing", theme.GAP)
        if fit:
            kwargs.setdefault("size_hint_y", None)
        super().__init__(**kwargs)
        paint(self, theme.SURFACE, theme.RADIUS, theme.BORDER)
        if fit:
            self.bind(minimum_height=self.setter("height"))


class Column(BoxLayout):
    """A vertical stack as tall as its children (for scrolling pages)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("spacing", theme.GAP)
        super().__init__(orientation="vertical", size_hint_y=None, **kwargs)
        self.bind(minimum_height=self.setter("height"))


def row(*children: Widget, height: int = theme.ROW, spacing: int = theme.GAP) -> BoxLayout:
    box = BoxLayout(orientation="horizontal", size_hint_y=None, height=height, spacing=spacing)
    for child in children:
        box.add_widget(child)
    return box


def scrolling(content: Widget) -> ScrollView:
    view = ScrollView(do_scroll_x=False, bar_width=8, scroll_type=["bars", "content"])
    view.bar_color = theme.TEXT_MUTED
    view.add_widget(content)
    return view


def spacer(height: int | None = None) -> Widget:
    if height is None:
        return Widget()
    return Widget(size_hint_y=None, height=height)


def texts_of(widget: Widget) -> list[str]:
    """Every text shown under a widget, in tree order (for tests and the tour)."""
    found: list[str] = []
    for child in widget.walk(restrict=True):
        text = getattr(child, "text", None)
        if isinstance(text, str) and text:
            found.append(text)
    return found


def labels(items: Sequence[tuple[str, str]], caption_width: float = 0.32) -> Column:
    """A two-column list of caption / value pairs."""
    column = Column(spacing=4)
    for caption, value in items:
        line = BoxLayout(size_hint_y=None, spacing=theme.GAP)
        left = Text(
            caption,
            size=theme.FONT_SMALL,
            color=theme.TEXT_MUTED,
            size_hint_x=caption_width,
            pos_hint={"top": 1},
        )
        right = Text(value or "—", size_hint_x=1 - caption_width, pos_hint={"top": 1})
        line.add_widget(left)
        line.add_widget(right)

        def fit(*_: Any, line: BoxLayout = line, a: Text = left, b: Text = right) -> None:
            line.height = max(a.height, b.height)

        left.bind(height=fit)
        right.bind(height=fit)
        fit()
        column.add_widget(line)
    return column
