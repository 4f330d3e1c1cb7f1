"""Live server and desktops for the console tests (see tests/sync/fixtures.py)."""

from tests.sync.fixtures import net

__all__ = ["net"]
