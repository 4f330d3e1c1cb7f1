"""A desktop as a LAN peer in its own process (run inside a network namespace).

``python -m tests.sync.peer_child serve DATA_DIR ADDRESS`` serves and announces the
exchange on ADDRESS, prints ``{"port": N}``, and stops when stdin closes.
``python -m tests.sync.peer_child discover DATA_DIR SECONDS`` browses mDNS for a peer of
its branch, syncs with the first found and prints the hint and the summary as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from core.services.branch import Branch
from core.services.peers import PeerService, discover, sync_with_peer


def serve(branch: Branch, address: str) -> int:
    service = PeerService(branch).start(address, 0, addresses=[address])
    print(json.dumps({"port": service.port}), flush=True)
    sys.stdin.read()
    service.stop()
    return 0


def find_and_sync(branch: Branch, seconds: float) -> int:
    started = time.monotonic()
    hints = discover(branch, seconds)
    if not hints:
        print(json.dumps({"error": "no peer announced itself"}), flush=True)
        return 3
    hint = hints[0]
    summary = sync_with_peer(
        branch, hint.address, device_id=hint.device_id, fingerprint=hint.fingerprint
    )
    took = time.monotonic() - started  # from browsing to the exchange done (bench_lan)
    found = {"hint": hint.address, "device": hint.device_id, "seconds": round(took, 3)}
    print(json.dumps({**found, **summary.as_dict()}))
    return 0


def main() -> int:
    verb, folder, arg = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    branch = Branch.open(folder)
    try:
        if verb == "serve":
            return serve(branch, arg)
        return find_and_sync(branch, float(arg))
    finally:
        branch.close()


if __name__ == "__main__":
    sys.exit(main())
