"""The central sync server: FastAPI on uvicorn over SQLAlchemy (SQLite or PostgreSQL).

``app.create_app`` builds the HTTP API, ``cli.main`` is ``motcua-server``. Messages are
English msgids translated with this package's catalogue (Vietnamese by default).
"""

from pathlib import Path

from core.i18n import register_locale_dir

register_locale_dir(Path(__file__).with_name("locale"))
