from __future__ import annotations

import pytest

from .sane_env import use_private_sane_config


@pytest.fixture(scope="session", autouse=True)
def private_sane(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every hardware test sees SANE's `test` backend and nothing else."""
    use_private_sane_config(tmp_path_factory.mktemp("sane"))
