"""Live server and desktops for the sync tests (see fixtures.py)."""

from .fixtures import net

__all__ = ["net"]
