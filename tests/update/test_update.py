"""Signed self-update end to end: a real sync server serves the TUF repository, the
desk checks, downloads, verifies, stages, and the launcher switches or rolls back."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from core.update import launcher, repository, service
from core.update import state as st
from core.update.client import UpdateClient
from core.update.errors import VerificationFailed

from .conftest import Centre


def test_v1_updates_to_v2_with_progress_and_starts_it(centre: Centre) -> None:
    centre.publish("1.0.0")
    centre.publish("2.0.0")
    seen: list[tuple[int, int]] = []
    result = service.check_and_stage(
        centre.desk, centre.url, running="1.0.0", progress=lambda d, t: seen.append((d, t))
    )
    assert result["available"] == result["staged"] == "2.0.0"
    assert seen and seen[-1][0] == seen[-1][1] > 0  # progress up to the whole archive
    assert (st.versions_dir(centre.desk) / "2.0.0" / "motcua-desktop").exists()

    assert centre.launch("--check").stdout.strip() == "motcua-desktop 2.0.0"
    second = centre.launch()
    assert second.stdout.strip() == "motcua-desktop 2.0.0"
    state = st.load(centre.desk)
    assert (state.current, state.previous, state.confirmed) == ("2.0.0", None, True)
    # Nothing newer: the next check finds nothing and stages nothing.
    assert service.check_and_stage(centre.desk, centre.url)["available"] == ""


def test_the_repository_is_served_read_only_without_a_device_signature(centre: Centre) -> None:
    root = requests.get(f"{centre.url}/updates/metadata/1.root.json", timeout=10)
    assert root.status_code == 200 and json.loads(root.content)["signed"]["_type"] == "root"
    assert requests.get(f"{centre.url}/updates/metadata/9.root.json", timeout=10).status_code == 404
    for path in ("metadata/..%2Fonline-keys%2Ftimestamp.pem", "metadata/online-keys.json"):
        assert requests.get(f"{centre.url}/updates/{path}", timeout=10).status_code in (404, 422)
    assert requests.put(f"{centre.url}/updates/metadata/root.json", timeout=10).status_code == 405


def test_a_tampered_target_is_refused(centre: Centre) -> None:
    centre.publish("2.0.0")
    stored = next((centre.repo / "targets").rglob("*.motcua-2.0.0.tar.gz"))
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same length, one byte changed
    stored.write_bytes(bytes(data))
    with pytest.raises(VerificationFailed) as refused:
        service.check_and_stage(centre.desk, centre.url, running="1.0.0")
    assert refused.value.kind == "tampered"
    assert "does not match the centre's signed hash" in str(refused.value)
    assert st.load(centre.desk).staged is None
    assert not list((st.updates_dir(centre.desk) / "downloads").iterdir())


def test_a_replayed_older_release_is_refused(centre: Centre) -> None:
    centre.publish("2.0.0")
    old = centre.root / "old-metadata"
    shutil.copytree(centre.repo / "metadata", old)
    centre.publish("3.0.0")
    assert service.check_and_stage(centre.desk, centre.url, download=False)["available"] == "3.0.0"
    # The server (or a mirror, or someone on the way) serves the older, validly signed
    # state again: the desk already trusts newer metadata.
    shutil.rmtree(centre.repo / "metadata")
    shutil.copytree(old, centre.repo / "metadata")
    with pytest.raises(VerificationFailed) as refused:
        service.check_and_stage(centre.desk, centre.url, download=False)
    assert refused.value.kind == "replayed"
    assert "replayed release" in str(refused.value)


def test_expired_targets_metadata_is_refused(centre: Centre) -> None:
    centre.publish("2.0.0", lifetimes=repository.Lifetimes(targets=timedelta(seconds=-60)))
    with pytest.raises(VerificationFailed) as refused:
        service.check_and_stage(centre.desk, centre.url, download=False)
    assert refused.value.kind == "expired"
    assert "(targets) has expired" in str(refused.value) and "sign it again" in str(refused.value)


def test_the_server_resigns_an_expired_timestamp_with_its_online_key(centre: Centre) -> None:
    centre.publish("2.0.0", lifetimes=repository.Lifetimes(timestamp=timedelta(seconds=-60)))
    assert service.check_and_stage(centre.desk, centre.url, download=False)["available"] == "2.0.0"


def test_an_expired_timestamp_is_refused_when_the_server_cannot_resign(centre: Centre) -> None:
    centre.publish("2.0.0", lifetimes=repository.Lifetimes(timestamp=timedelta(seconds=-60)))
    shutil.rmtree(centre.repo / repository.ONLINE_KEYS)  # the online key is gone
    with pytest.raises(VerificationFailed) as refused:
        service.check_and_stage(centre.desk, centre.url, download=False)
    assert refused.value.kind == "expired" and "(timestamp)" in str(refused.value)


def test_metadata_not_signed_by_the_trusted_root_is_refused(centre: Centre, tmp_path: Path) -> None:
    other = tmp_path / "other"
    repository.init(other / "updates", tmp_path / "other-keys")
    repository.publish(other / "updates", centre.base, "2.0.0", tmp_path / "other-keys")
    shutil.rmtree(centre.repo / "metadata")
    shutil.copytree(other / "updates" / "metadata", centre.repo / "metadata")
    with pytest.raises(VerificationFailed) as refused:
        service.check_and_stage(centre.desk, centre.url, download=False)
    assert refused.value.kind == "unsigned", refused.value.kind


def test_a_version_that_crashes_at_start_rolls_back(centre: Centre) -> None:
    centre.publish("2.0.0")
    service.check_and_stage(centre.desk, centre.url)
    assert centre.launch().stdout.strip() == "motcua-desktop 2.0.0"
    centre.publish("3.0.0", crash=True)
    assert service.check_and_stage(centre.desk, centre.url)["staged"] == "3.0.0"
    for _ in range(launcher.MAX_STARTS):
        crashed = centre.launch()
        assert crashed.returncode == 3 and "3.0.0" in crashed.stdout
    back = centre.launch()
    assert back.returncode == 0 and back.stdout.strip() == "motcua-desktop 2.0.0"
    assert "did not reach its login screen" in back.stderr
    state = st.load(centre.desk)
    assert (state.current, state.failed, state.confirmed) == ("2.0.0", ["3.0.0"], True)
    # The failed version is not offered again; the next start still runs 2.0.0.
    assert service.check_and_stage(centre.desk, centre.url)["available"] == ""
    assert centre.launch().stdout.strip() == "motcua-desktop 2.0.0"
    assert "did not start" in service.status(centre.desk)["rolled_back"]


def test_a_newer_installed_package_wins_over_older_user_versions(centre: Centre) -> None:
    centre.publish("2.0.0")
    service.check_and_stage(centre.desk, centre.url)
    choice = launcher.choose(centre.desk, centre.base, "2.1.0")
    assert choice.folder == centre.base and st.load(centre.desk).current is None


def test_downloads_are_verified_before_they_are_kept(centre: Centre) -> None:
    centre.publish("2.0.0")
    client = UpdateClient(centre.desk, centre.url)
    release = client.check("1.0.0")
    assert release is not None
    path = client.download(release)
    assert path.stat().st_size == release.size


def test_refresh_resigns_only_what_is_due(centre: Centre) -> None:
    assert repository.refresh(centre.repo) == []
    assert repository.refresh(centre.repo, force=True) == ["snapshot", "timestamp"]
    done = repository.refresh(centre.repo, centre.keys, force=True)
    assert done == ["root", "targets", "snapshot", "timestamp"]
    expires = repository.describe(centre.repo)["expires"]["targets"]
    assert expires.startswith("v2, ") and datetime.fromisoformat(expires[4:]) > datetime.now(
        datetime.fromisoformat(expires[4:]).tzinfo
    )


def test_the_installed_program_hands_over_to_the_staged_version(centre: Centre) -> None:
    """What the frozen entry points do first (installers/pyinstaller/entry): run as the
    installed 1.0.0, with a staged 2.0.0 the process becomes 2.0.0's program."""
    import subprocess
    import sys

    centre.publish("2.0.0")
    service.check_and_stage(centre.desk, centre.url)
    frozen = (
        "import sys; sys.frozen = True; "
        f"sys.executable = {str(centre.base / 'motcua-desktop')!r}; "
        f"sys.argv = ['motcua-desktop', '--data-dir', {str(centre.desk)!r}]; "
        "import core; core.__version__ = '1.0.0'; "
        "from core.update.launcher import hand_over; hand_over('motcua-desktop'); "
        "print('installed program')"
    )
    done = subprocess.run(
        [sys.executable, "-c", frozen], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "motcua-desktop 2.0.0", done.stderr
    state = st.load(centre.desk)
    assert (state.current, state.starts) == ("2.0.0", 1)
    assert st.marker(centre.desk, "2.0.0").exists()  # it reached its "login screen"
