"""Stores are private to their user whatever the umask: the database, its WAL and shared
memory, the device key and the data folder."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.services.branch import DB_NAME, KEY_NAME, Branch
from tests.core.conftest import APPLICANT, PASSWORDS


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)  # the worst case: everything created world-writable
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_store_is_private_whatever_the_umask(tmp_path: Path, open_umask: None) -> None:
    """GIVEN a umask of 0
    WHEN a desk is initialised and a dossier received
    THEN the folder is 0700 and every file of the store 0600."""
    folder = tmp_path / "desk"
    branch = Branch.init(folder, "TAYHO", "Chi nhánh Tây Hồ", ("admin", PASSWORDS["admin"]))
    admin = branch.login("admin", PASSWORDS["admin"])
    branch.admin.add_user(admin, "lan", "officer", PASSWORDS["lan"])
    from core.services.dossiers import Intake

    lan = branch.login("lan", PASSWORDS["lan"])
    procedure = branch.procedures()["HT-KS"]
    mandatory = [c.key for c in procedure.components if c.mandatory]
    branch.dossiers.receive(lan, Intake("HT-KS", APPLICANT, components=mandatory))
    assert mode(folder) == 0o700
    files = [folder / DB_NAME, folder / f"{DB_NAME}-wal", folder / f"{DB_NAME}-shm"]
    for path in [*files, folder / KEY_NAME]:
        assert path.exists() and mode(path) == 0o600, (path, oct(mode(path)))
    branch.close()


def test_an_existing_store_left_readable_is_tightened(tmp_path: Path) -> None:
    folder = tmp_path / "desk"
    Branch.init(folder, "TAYHO", "Chi nhánh Tây Hồ", ("admin", PASSWORDS["admin"])).close()
    (folder / DB_NAME).chmod(0o644)
    Branch.open(folder).close()
    assert mode(folder / DB_NAME) == 0o600
