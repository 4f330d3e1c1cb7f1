"""A minimal app published into a TUF repository served by a real sync server.

The "app" is a folder with an executable ``motcua-desktop`` script that prints its
version and, unless it is made to crash, writes the launcher's marker as the real app
does on reaching its login screen. Releases are signed with keys made for the test.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.update import client, repository
from tests.sync.live import LiveServer, start_server
from tests.update.apps import PROGRAM, make_app


@dataclass
class Centre:
    server: LiveServer
    repo: Path
    keys: Path
    root: Path  # where apps are built
    desk: Path  # the desk's data folder
    base: Path  # the installed program (1.0.0)

    @property
    def url(self) -> str:
        return self.server.url

    def publish(self, version: str, crash: bool = False, **options: object) -> None:
        app = make_app(self.root / f"app-{version}", version, crash)
        repository.publish(self.repo, app, version, self.keys, **options)  # type: ignore[arg-type]

    def launch(self, *args: str) -> subprocess.CompletedProcess[str]:
        """One start through the launcher, as the installed program does it."""
        command = [sys.executable, "-m", "core.update.launcher", "--base", str(self.base)]
        command += ["--base-version", "1.0.0", PROGRAM, "--data-dir", str(self.desk), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(autouse=True)
def _in_english() -> None:
    """Messages checked in English here (the root conftest restores the language after)."""
    from core.i18n import set_language

    set_language("en")


@pytest.fixture
def centre(tmp_path: Path) -> Iterator[Centre]:
    data = tmp_path / "server"
    data.mkdir()
    repo = data / "updates"
    keys = tmp_path / "offline-keys"
    repository.init(repo, keys)
    server = start_server(data, f"sqlite:///{data / 'server.db'}")
    desk = tmp_path / "desk"
    desk.mkdir()
    client.trust(desk, repo / "metadata" / "1.root.json")
    base = make_app(tmp_path / "installed", "1.0.0")
    try:
        yield Centre(server, repo, keys, tmp_path, desk, base)
    finally:
        server.stop()
