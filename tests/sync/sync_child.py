"""A sync run in its own process, for the SIGKILL tests: ``python sync_child.py DATA_DIR``.

Small batches and pages (``PUSH_BATCH``, ``PULL_PAGE``) spread the run over many steps so
a kill lands inside push, pull or a blob transfer.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from core.services.branch import Branch
from core.services.sync import agent_for
from core.sync import agent as agent_module


def main() -> int:
    agent_module.PUSH_BATCH = int(os.environ.get("PUSH_BATCH", "2000"))
    agent_module.PULL_PAGE = int(os.environ.get("PULL_PAGE", "2000"))
    branch = Branch.open(Path(sys.argv[1]))
    summary = agent_for(branch).sync_once()
    print(summary.as_dict(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
