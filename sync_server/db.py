"""The central store: engines for SQLite (default) or PostgreSQL, and its migrations.

SQLite runs in WAL mode and every write transaction starts with ``BEGIN IMMEDIATE`` (one
writer, no lock upgrades). On PostgreSQL, concurrent writers of one branch queue on the
branch's row in ``scopes``, which is what makes ``server_seq`` commit in order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event

from core.domain.errors import N_, StoreError, ValidationError
from core.storage.db import private_file

MIGRATIONS = Path(__file__).with_name("migrations")
DB_FILE = "server.db"
KEY_FILE = "server.key"
ENV_KEY_FILE = "MOTCUA_SERVER_KEY_FILE"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    enrol_ttl_s: int = 24 * 3600
    # Connections this process may open (a pool of half, as much again on overflow); the
    # workers of ``serve`` share DB_CONNECTIONS between them (``connections_per_worker``).
    db_connections: int = 40
    # Pushes folded into the console's projections by a background thread ("background"),
    # or only when a console page or the lookup reads them ("on-read").
    fold: str = "background"

    @property
    def max_concurrent_pushes(self) -> int:
        """Pushes in flight (more → 429): leave a quarter of the connections to the rest."""
        return max(2, self.db_connections * 3 // 4)

    @property
    def blobs_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def key_file(self) -> Path:
        """The server's private key (0600): ``MOTCUA_SERVER_KEY_FILE``, else in the data
        dir. Kept out of the database, so no dump of it holds the key."""
        return Path(os.environ.get(ENV_KEY_FILE) or self.data_dir / KEY_FILE)

    @classmethod
    def from_env(cls, data_dir: Path, database_url: str | None = None) -> Settings:
        url = database_url or os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / DB_FILE}"
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        if not url.startswith(("sqlite:///", "postgresql+psycopg://")):
            raise ValidationError(
                N_("DATABASE_URL must be sqlite:///PATH or postgresql://…, not {url}"),
                url=url.split("://")[0] + "://…",
            )
        return cls(
            data_dir=data_dir,
            database_url=url,
            db_connections=_connections(os.environ.get(ENV_DB_CONNECTIONS, "40")),
            fold=_fold(os.environ.get(ENV_FOLD, "")),
        )


def _connections(text: str) -> int:
    if not text.strip().isdigit() or not 1 <= int(text) <= 10_000:
        raise ValidationError(
            N_("{name} must be a whole number of connections, from 1; it is {value}"),
            name=ENV_DB_CONNECTIONS,
            value=text,
        )
    return int(text)


def _fold(text: str) -> str:
    if text.strip() not in ("", "background", "on-read"):
        raise ValidationError(
            N_("{name} must be background or on-read; it is {value}"), name=ENV_FOLD, value=text
        )
    return "on-read" if text.strip() == "on-read" else "background"


ENV_DB_CONNECTIONS = "MOTCUA_DB_CONNECTIONS"
ENV_FOLD = "MOTCUA_FOLD"
# What all the processes of one ``serve`` may open together: PostgreSQL's default
# max_connections is 100; the rest is left to the CLI, backups and monitoring.
DB_CONNECTIONS = 80


def connections_per_worker(workers: int) -> int:
    return max(4, DB_CONNECTIONS // max(1, workers))


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, connections: int = 40) -> Engine:
    if not url.startswith("sqlite"):
        half = max(2, connections // 2)
        return create_engine(url, pool_size=half, max_overflow=half, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    database = engine.url.database
    if database and database != ":memory:":
        private_file(Path(database))  # the log holds citizens' data: owner only (0600)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": "motcua_server_version"})
        return context.get_current_revision()


def head_revision() -> str | None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def migrate(engine: Engine, key_file: Path | None = None, *, new_store: bool = False) -> str | None:
    """Bring the schema to the newest revision; returns it.

    A database with no store at all, beside the key file (`key_file`) of a centre that
    ran here, is a store lost or emptied (a truncated file, a wrong DATABASE_URL): making
    an empty one there would leave every desk unknown, so it is refused unless
    `new_store` says that is wanted."""
    revision = current_revision(engine)
    if revision is None and key_file is not None and key_file.exists() and not new_store:
        raise StoreError(
            N_(
                "The database {database} holds no server store, yet the key {key} shows a "
                "centre ran here: its store was lost or emptied. Restore it from a backup "
                "(docs/deploy.md); to start an empty store under this key, run "
                "'motcua-server migrate --new-store'."
            ),
            database=engine.url.render_as_string(hide_password=True),
            key=str(key_file),
        )
    if revision != head_revision():
        with engine.begin() as conn:
            command.upgrade(_config(conn), "head")
    return head_revision()
