"""A desk whose store key is kept only under the branch passphrase (no OS keystore, no
``MOTCUA_PASSPHRASE``), through the real app offscreen: it starts on the unlock form, a
wrong passphrase is said there and opens nothing, the right one brings the login screen
and the counter works."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.i18n import _, set_language
from core.services import encryption, storekey
from desktop.harness import Harness

from .flows import login

PASSPHRASE = "mật khẩu chi nhánh Tây Hồ"


@pytest.fixture
def locked_store(store: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The template desk encrypted in place under the branch passphrase only."""
    monkeypatch.setenv("MOTCUA_LANG", "en")
    monkeypatch.setenv(storekey.KEYSTORE_ENV, "off")
    monkeypatch.delenv(storekey.PASSPHRASE_ENV, raising=False)
    monkeypatch.setattr(storekey, "TIME_COST", 1)  # a cheap Argon2 for the test
    monkeypatch.setattr(storekey, "MEMORY_KIB", 8 * 1024)
    encryption.encrypt_store(store, PASSPHRASE)
    return store


@pytest.fixture
def locked_app(locked_store: Path) -> Iterator[Harness]:
    set_language("en")
    h = Harness.start(locked_store)
    try:
        yield h
    finally:
        h.close()


def type_passphrase(h: Harness, secret: str) -> None:
    h.app.unlock.passphrase.input.text = secret
    h.press(_("Unlock"))
    h.pump(until=lambda: not h.busy)


def test_a_passphrase_only_desk_asks_for_it_in_the_window(
    locked_app: Harness, tmp_path: Path
) -> None:
    """GIVEN an encrypted desk with no keystore and no MOTCUA_PASSPHRASE
    WHEN the app starts THEN it shows the unlock form, not an error and not the counter;
    an empty and a wrong passphrase are refused in the form with nothing opened; the
    right one opens the store on the login screen and the officer signs in."""
    h = locked_app
    assert h.app.shell is None and h.app.services is None
    assert h.shows(_("This desk's store is encrypted"))
    h.screenshot(tmp_path / "unlock.png")

    h.press(_("Unlock"))
    assert h.app.unlock.message.text == _("Type the branch passphrase")
    type_passphrase(h, "not the passphrase")
    assert "Wrong branch passphrase" in h.app.unlock.message.text
    assert h.app.shell is None and h.app.services is None

    type_passphrase(h, PASSPHRASE)
    h.pump(until=lambda: h.app.shell is not None)
    assert h.shell.manager.current == "login"
    login(h, "officer")
    assert h.app.services.branch.store.key is not None


def test_a_desk_with_its_passphrase_in_the_environment_opens_directly(
    locked_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unattended path (a kiosk started by a service) is unchanged."""
    monkeypatch.setenv(storekey.PASSPHRASE_ENV, PASSPHRASE)
    set_language("en")
    h = Harness.start(locked_store)
    try:
        assert h.app.shell is not None and h.shell.manager.current == "login"
    finally:
        h.close()
