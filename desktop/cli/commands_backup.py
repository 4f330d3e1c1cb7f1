"""`motcua backup`, `motcua restore` (placeholder while written)."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    return None
