"""The server's private key lives in a 0600 file, never in the database (so never in a
dump of it); a key an older version kept in the database moves to the file once."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from core.domain.errors import ValidationError
from core.domain.signing import DeviceKey
from sync_server import identity
from sync_server import schema as st
from sync_server.db import KEY_FILE, make_engine, migrate


def fresh_engine(folder: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{folder / 'server.db'}")
    migrate(engine)
    return engine


def secrets_in_db(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return [r.value for r in conn.execute(select(st.server_meta))]


def test_a_new_key_is_a_private_file_and_not_in_the_database(tmp_path: Path) -> None:
    engine = fresh_engine(tmp_path)
    key = identity.ensure_identity(engine, tmp_path / KEY_FILE)
    path = tmp_path / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert DeviceKey.from_pem(path.read_bytes()).public_b64 == key.public_b64
    assert not any("PRIVATE KEY" in value for value in secrets_in_db(engine))
    assert identity.ensure_identity(engine, path).public_b64 == key.public_b64  # stable


def test_a_key_kept_in_the_database_moves_to_the_file(tmp_path: Path) -> None:
    """GIVEN a database written by a version that kept the key in server_meta
    WHEN the server starts
    THEN the same key is in the file, and no longer in the database."""
    engine = fresh_engine(tmp_path)
    old = DeviceKey.generate()
    with engine.begin() as conn:
        conn.execute(
            insert(st.server_meta).values(key=identity.SERVER_KEY, value=old.to_pem().decode())
        )
    key = identity.ensure_identity(engine, tmp_path / KEY_FILE)
    assert key.public_b64 == old.public_b64
    assert secrets_in_db(engine) == []


def test_a_key_file_that_is_not_the_databases_key_is_refused(tmp_path: Path) -> None:
    engine = fresh_engine(tmp_path)
    with engine.begin() as conn:
        pem = DeviceKey.generate().to_pem().decode()
        conn.execute(insert(st.server_meta).values(key=identity.SERVER_KEY, value=pem))
    (tmp_path / KEY_FILE).write_bytes(DeviceKey.generate().to_pem())
    with pytest.raises(ValidationError, match="does not match"):
        identity.ensure_identity(engine, tmp_path / KEY_FILE)


def test_a_damaged_key_file_is_named(tmp_path: Path) -> None:
    engine = fresh_engine(tmp_path)
    (tmp_path / KEY_FILE).write_bytes(b"not a key")
    with pytest.raises(ValidationError, match="cannot be read"):
        identity.ensure_identity(engine, tmp_path / KEY_FILE)


def test_the_sqlite_store_is_private(tmp_path: Path) -> None:
    """The central SQLite log (citizens' data) is 0600 whatever the umask."""
    import os

    previous = os.umask(0)
    try:
        fresh_engine(tmp_path)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "server.db").stat().st_mode) == 0o600
