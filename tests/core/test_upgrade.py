"""Stores written by older schema versions open, migrate and keep working (Electrum's idea)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from core.domain.workflow import Action, State
from core.services.audit import verify
from core.services.branch import Branch
from core.services.consistency import projection_drift
from core.services.dossiers import Intake
from core.storage.db import HEAD_REVISION, MIGRATIONS

from .conftest import APPLICANT, FrozenClock

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "stores"
RELEASED = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


@pytest.mark.parametrize("revision", RELEASED)
def test_old_store_upgrades_and_keeps_working(revision: str, tmp_path: Path) -> None:
    """GIVEN a store saved by revision `revision` WHEN today's code opens it
    THEN it migrates to the newest schema, every chain still verifies, the old dossier reads
    the same, and new work (an action, a receipt) is recorded on top of it."""
    folder = tmp_path / "store"
    shutil.copytree(FIXTURES / revision, folder)
    branch = Branch.open(folder, clock=FrozenClock("2026-11-24T09:00"))
    try:
        with branch.store.read() as conn:
            head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        assert head == HEAD_REVISION != revision
        assert verify(branch).ok
        # what the upgrade refolded is what the log gives (`motcua verify` finds no drift)
        assert projection_drift(branch) == []
        old = branch.dossiers.get("TAYHO-261123-0001")
        assert old.state is State.TRANSFERRED and old.applicant["full_name"] == "Nguyễn Văn An"
        officer = branch.login("lan", "officer-pass")
        branch.dossiers.act(officer, old.code, Action.REQUEST_SUPPLEMENT, note="Thiếu giấy tờ")
        keys = [c.key for c in branch.procedures()["HT-KS"].components if c.mandatory]
        new, _ = branch.dossiers.receive(officer, Intake("HT-KS", APPLICANT, keys))
        assert new.code == "TAYHO-261124-0001"
        assert verify(branch).ok
    finally:
        branch.close()


def test_the_head_revision_is_alembics_own() -> None:
    """A store at ``HEAD_REVISION`` opens without loading alembic: that constant must name
    the newest migration, or a store would be left behind one."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION
