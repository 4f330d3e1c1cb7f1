"""Settings every test shares."""

from __future__ import annotations

import os

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("MOTCUA_LANG", "en")
