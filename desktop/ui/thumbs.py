"""A strip of page thumbnails, optionally with move-left, move-right and delete buttons."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from kivy.core.image import Image as CoreImage
from kivy.graphics.texture import Texture
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.image import Image
from kivy.uix.scrollview import ScrollView

from core.i18n import tr
from desktop import theme
from desktop.ui.widgets import McButton, Text, paint

THUMB = 132  # pixels high, as rendered by desktop.pages
SMALL = 30  # the page buttons


def texture_of(png: bytes) -> Texture:
    """A GL texture from PNG bytes (main thread only)."""
    texture: Texture = CoreImage(io.BytesIO(png), ext="png").texture
    return texture


class ClickableImage(ButtonBehavior, Image):
    """A picture that opens something when clicked."""

    def __init__(self, on_open: Callable[[], object], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_open = on_open

    def on_press(self) -> None:
        self._on_open()


class PageThumb(BoxLayout):
    """One page: its picture, its number, and (when editable) ‹ › × buttons."""

    def __init__(
        self,
        png: bytes,
        number: int,
        on_move: Callable[[int], object] | None = None,
        on_delete: Callable[[], object] | None = None,
        on_open: Callable[[], object] | None = None,
    ) -> None:
        texture = texture_of(png)
        width = max(60, min(int(texture.width * THUMB / max(texture.height, 1)), 2 * THUMB))
        editable = on_move is not None
        height = THUMB + 22 + (SMALL + 4 if editable else 0)
        super().__init__(
            orientation="vertical",
            size_hint=(None, None),
            width=max(width, 3 * SMALL + 8) + 8,
            height=height + 8,
            padding=4,
            spacing=2,
        )
        paint(self, theme.SURFACE_ALT, theme.RADIUS)
        options: dict[str, Any] = {
            "texture": texture,
            "size_hint_y": None,
            "height": THUMB,
            "fit_mode": "contain",
        }
        image = Image(**options) if on_open is None else ClickableImage(on_open, **options)
        self.add_widget(image)
        self.add_widget(
            Text(tr("Page {n}", n=number), size=12, color=theme.TEXT_MUTED, halign="center")
        )
        if editable and on_move is not None and on_delete is not None:
            buttons = BoxLayout(size_hint_y=None, height=SMALL, spacing=4)
            for label, action, variant in (
                ("‹", lambda: on_move(-1), "secondary"),
                ("›", lambda: on_move(1), "secondary"),
                ("×", on_delete, "danger"),
            ):
                buttons.add_widget(
                    McButton(label, action, variant=variant, height=SMALL, font_size=18)
                )
            self.add_widget(buttons)


class ThumbStrip(ScrollView):
    """Pages side by side, scrolling sideways when they do not fit."""

    def __init__(
        self,
        pngs: list[bytes],
        on_move: Callable[[int, int], object] | None = None,
        on_delete: Callable[[int], object] | None = None,
        on_open: Callable[[int], object] | None = None,
    ) -> None:
        editable = on_move is not None
        height = THUMB + 22 + (SMALL + 4 if editable else 0) + 8 + 10
        super().__init__(
            do_scroll_y=False, size_hint_y=None, height=height, bar_width=6, scroll_type=["bars"]
        )
        self.bar_color = theme.TEXT_MUTED
        box = BoxLayout(size_hint=(None, None), height=height - 10, spacing=theme.GAP)
        box.bind(minimum_width=box.setter("width"))
        self.thumbs: list[PageThumb] = []
        for index, png in enumerate(pngs):
            move = (lambda delta, i=index: on_move(i, delta)) if on_move is not None else None
            delete = (lambda i=index: on_delete(i)) if on_delete is not None else None
            opens = (lambda i=index: on_open(i)) if on_open is not None else None
            thumb = PageThumb(png, index + 1, move, delete, opens)
            self.thumbs.append(thumb)
            box.add_widget(thumb)
        self.add_widget(box)
