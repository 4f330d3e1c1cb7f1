"""Frozen entry point of ``motcua-desktop`` (the counter application)."""

import multiprocessing
import sys

if __name__ == "__main__":
    # First: a worker or the fork server started from this executable runs its own code here.
    multiprocessing.freeze_support()
    from desktop.app import main

    sys.exit(main())
