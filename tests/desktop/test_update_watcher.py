"""The update watcher tells its listeners once a check has finished: what they read then
(``checking``, ``outcome``) is the finished check's, whichever thread they run on."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from core.services.branch import Branch
from desktop.updates import UpdateWatcher


def test_listeners_told_of_an_outcome_see_the_check_finished(tmp_path: Path) -> None:
    """GIVEN a desk that is not enrolled (its check fails at once: no server to ask)
    WHEN a check is started THEN the listener told of its outcome sees ``checking``
    false and the error, and a new check can start at once."""
    branch = Branch.init(tmp_path / "desk", "TAYHO", "Tây Hồ", ("admin", "admin-pass-1"))
    try:
        services: Any = SimpleNamespace(branch=branch, data_dir=tmp_path / "desk")
        watcher = UpdateWatcher(services)  # listeners are called on the check's thread
        seen: list[tuple[bool, dict[str, Any]]] = []
        told = threading.Event()

        def listener() -> None:
            seen.append((watcher.checking, dict(watcher.outcome)))
            if watcher.outcome:
                told.set()

        watcher.listeners.append(listener)
        assert watcher.check_now()
        assert told.wait(30)
        assert seen[0][0] is True  # told when it starts: the card shows "Asking…"
        checking, outcome = seen[-1]
        assert checking is False
        assert outcome.get("error")
        assert watcher.thread is not None
        watcher.thread.join(10)
        assert watcher.check_now()  # nothing left running
        watcher.thread.join(10)
    finally:
        branch.close()


class _SlowDesk:
    """A desk whose check is held at its first step (reading the branch) until released."""

    def __init__(self, branch: Branch, data_dir: Path) -> None:
        self._branch = branch
        self.data_dir = data_dir
        self.release = threading.Event()

    @property
    def branch(self) -> Branch:
        self.release.wait(30)
        return self._branch


def test_only_one_check_runs_however_many_ask_at_once(tmp_path: Path) -> None:
    """The sync agent's thread and the window may ask together: one check starts, and
    the others are told no while it runs."""
    branch = Branch.init(tmp_path / "desk", "TAYHO", "Tây Hồ", ("admin", "admin-pass-1"))
    try:
        services: Any = _SlowDesk(branch, tmp_path / "desk")
        watcher = UpdateWatcher(services)
        started: list[bool] = []
        barrier = threading.Barrier(8)

        def ask() -> None:
            barrier.wait(10)
            started.append(watcher.check_now())

        askers = [threading.Thread(target=ask) for _ in range(8)]
        for thread in askers:
            thread.start()
        for thread in askers:
            thread.join(30)
        assert sorted(started) == [False] * 7 + [True]
        assert watcher.checking
        services.release.set()
        assert watcher.thread is not None
        watcher.thread.join(30)
        assert not watcher.checking and watcher.outcome.get("error")
    finally:
        branch.close()
