"""Two programs writing one store at once (the desktop and a `motcua` script): the write
lock queues them; no sequence gap, no duplicate code, every chain verifies."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from core.services.audit import verify
from core.services.branch import Branch

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from core.domain.workflow import Role
    from core.services.branch import Branch
    from core.services.dossiers import Intake
    from core.services.users import User
    sys.path.insert(0, sys.argv[2])
    from conftest import APPLICANT
    branch = Branch.open(Path(sys.argv[1]))
    officer = User("lan", "lan", Role.OFFICER)
    keys = [c.key for c in branch.procedures()["HT-XNHN"].components if c.mandatory]
    for _ in range(int(sys.argv[3])):
        branch.dossiers.receive(officer, Intake("HT-XNHN", APPLICANT, keys))
    branch.close()
    """
)


def test_two_processes_receive_into_one_store(template_store: Path, tmp_path: Path) -> None:
    folder = tmp_path / "store"
    shutil.copytree(template_store, folder)
    here = str(Path(__file__).parent)
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(folder), here, "150"]) for _ in range(2)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    branch = Branch.open(folder)
    try:
        codes = [v.code for v in branch.dossiers.browse(limit=1000)]
        assert len(codes) == len(set(codes)) == 300
        report = verify(branch)
        assert report.ok and report.events_checked == 4 + 300
    finally:
        branch.close()
