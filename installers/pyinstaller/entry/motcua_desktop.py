"""Frozen entry point of ``motcua-desktop`` (the counter application)."""

import multiprocessing
import sys

if __name__ == "__main__":
    # First: a worker or the fork server started from this executable runs its own code here.
    multiprocessing.freeze_support()
    # Then the launcher: a newer version this user's updates staged runs instead (and the
    # previous one again if it never reaches its login screen), see core.update.launcher.
    from core.update.launcher import hand_over

    hand_over("motcua-desktop")
    from desktop.app import main

    sys.exit(main())
