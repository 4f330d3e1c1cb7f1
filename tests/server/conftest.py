"""Live server and desktops for the server tests (see tests/sync/fixtures.py)."""

from tests.sync.fixtures import net

__all__ = ["net"]
