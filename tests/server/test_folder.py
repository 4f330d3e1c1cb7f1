"""The background folder: it folds a branch once pushes are quiet, stops at once when
asked (idle or not), and retries a fold that failed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from sync_server import folder as folder_module
from sync_server import identity
from sync_server.db import make_engine, migrate
from sync_server.folder import Folder


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'server.db'}")
    migrate(engine)
    identity.add_branch(engine, "TH", "Chi nhánh Tây Hồ")
    return engine


def test_stop_ends_the_thread_at_once_idle_or_marked(engine: Engine) -> None:
    """GIVEN a folder that was told of a push and has folded it, then sits idle
    WHEN it is stopped
    THEN its thread ends within a second (it neither spins nor waits out its pauses)."""
    folder = Folder(engine)
    folder.wake("TH")
    thread = folder._thread
    assert thread is not None
    time.sleep(folder_module._QUIET_S + 0.3)
    started = time.monotonic()
    folder.stop()
    assert not thread.is_alive()
    assert time.monotonic() - started < 1.0


def test_a_failed_fold_is_retried(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN a fold that fails once (the database away)
    WHEN the folder is told of a push
    THEN it folds the branch again after its retry pause."""
    calls: list[str] = []

    def flaky(_engine: Engine, branch: str) -> int:
        calls.append(branch)
        if len(calls) == 1:
            raise RuntimeError("database away")
        return 0

    monkeypatch.setattr(folder_module, "_RETRY_S", 0.1)
    monkeypatch.setattr(folder_module, "_QUIET_S", 0.05)
    folder = Folder(engine, flaky)
    folder.wake("TH")
    deadline = time.monotonic() + 5
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    folder.stop()
    assert calls == ["TH", "TH"]
