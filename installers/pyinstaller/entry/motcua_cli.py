"""Frozen entry point of ``motcua`` (branch IT's command)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    # The same launcher as the desktop's (core.update.launcher): a command that ends
    # without a defect of the program (a refusal counts as working) confirms the version
    # it ran, as reaching the login screen does.
    from core.update.launcher import hand_over, mark_started

    hand_over("motcua")
    from core.cli.failures import EXIT_DEFECT
    from desktop.cli.main import main

    try:
        code = main()
    except SystemExit as stop:  # argparse: --help, --version, a usage error
        code = stop.code if isinstance(stop.code, int) else int(stop.code is not None) * 2
    if code != EXIT_DEFECT:
        mark_started()
    sys.exit(code)
