"""The real desktop app, headless (SDL offscreen), over a copy of a template store.

The store with its users is built once per session and copied for each test (Anki's
``pylib/tests/shared.py`` idea); each test gets a freshly built app in the one window.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.hardware.sane_env import use_private_sane_config

os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="motcua-kivy-"))
# The real SANE library with only its `test` backend (as tests/hardware): the settings
# screen lists devices on every visit, and probing every installed backend (network ones
# too) takes seconds; the test backend answers at once. SANE reads this once a process,
# so the desktop and hardware tests must agree on it.
use_private_sane_config(Path(tempfile.mkdtemp(prefix="motcua-sane-")))

from desktop.app import prepare_environment  # noqa: E402

prepare_environment(headless=True)

import pytest  # noqa: E402

from core.i18n import set_language  # noqa: E402
from core.services.branch import Branch  # noqa: E402

PASSWORD = "counter-pass-1"
USERS = (
    ("officer", "officer", "Nguyễn Văn An"),
    ("specialist", "specialist", "Trần Thị Bình"),
    ("leader", "leader", "Lê Văn Cường"),
)


@pytest.fixture(scope="session")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("template") / "store"
    branch = Branch.init(
        folder, "TAYHO", "Trung tâm Phục vụ hành chính công phường Tây Hồ", ("admin", PASSWORD)
    )
    admin = branch.login("admin", PASSWORD)
    for name, role, full in USERS:
        branch.admin.add_user(admin, name, role, PASSWORD, full)
    branch.close()
    return folder


@pytest.fixture
def store(template_store: Path, tmp_path: Path) -> Path:
    target = tmp_path / "store"
    shutil.copytree(template_store, target)
    return target


@pytest.fixture
def harness(store: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    from desktop.harness import Harness

    monkeypatch.setenv("MOTCUA_LANG", "vi")
    h = Harness.start(store)
    yield h
    h.close()
    set_language("en")
