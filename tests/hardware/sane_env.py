"""A private SANE configuration that loads only the ``test`` backend (sane-test(5))."""

from __future__ import annotations

import os
from pathlib import Path

TEST_CONF = """\
number_of_devices 2
mode Gray
depth 8
resolution 50.0
test-picture "Grid"
read-status-code "Default"
geometry_min 0.0
geometry_max 300.0
geometry_quant 1.0
tl_x 0.0
tl_y 0.0
br_x 210.0
br_y 297.0
"""


def use_private_sane_config(directory: Path) -> Path:
    """Write dll.conf (test only) and test.conf; point SANE_CONFIG_DIR at them.

    Must run before the first sane_init() of the process.
    """
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "dll.conf").write_text("test\n")
    (directory / "test.conf").write_text(TEST_CONF)
    os.environ["SANE_CONFIG_DIR"] = str(directory)
    return directory
