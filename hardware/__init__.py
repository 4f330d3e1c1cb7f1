"""Device drivers behind the core's hardware ports (``core.ports``).

Backends are picked by asking each whether it is usable on this computer; when none is,
the caller gets :class:`core.ports.NoBackendAvailable` with what was tried. Test doubles
live under ``tests/`` and are only ever passed in explicitly.
"""

from pathlib import Path

from core.i18n import register_locale_dir

register_locale_dir(Path(__file__).with_name("locale"))
