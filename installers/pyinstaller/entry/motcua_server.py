"""Frozen entry point of ``motcua-server`` (the central sync server)."""

import multiprocessing
import sys

if __name__ == "__main__":
    # uvicorn's workers (``serve --workers N``) are spawned from this executable.
    multiprocessing.freeze_support()
    from sync_server.cli import main

    sys.exit(main())
