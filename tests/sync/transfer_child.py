"""A desktop in its own process, for the LAN tests between units (run inside a network
namespace).

``python -m tests.sync.transfer_child serve DATA_DIR ADDRESS`` serves and announces the
exchange on ADDRESS, prints ``{"port": N}``, and stops when stdin closes.
``python -m tests.sync.transfer_child round DATA_DIR SECONDS`` browses mDNS for the peers
of its branch and of other units, exchanges with each, and prints the results as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from core.services.branch import Branch
from core.services.peers import PeerService, sync_peers


def serve(branch: Branch, address: str) -> int:
    service = PeerService(branch).start(address, 0, addresses=[address])
    print(json.dumps({"port": service.port}), flush=True)
    sys.stdin.read()
    service.stop()
    return 0


def exchange_round(branch: Branch, seconds: float) -> int:
    print(json.dumps(sync_peers(branch, seconds)), flush=True)
    return 0


def main() -> int:
    verb, folder, arg = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    branch = Branch.open(folder)
    try:
        return serve(branch, arg) if verb == "serve" else exchange_round(branch, float(arg))
    finally:
        branch.close()


if __name__ == "__main__":
    sys.exit(main())
