"""The desktop checks for an update after a sync: an enrolled desk syncing with a real
server finds, downloads, verifies and stages the new release in the background."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from core.update import client, repository
from core.update import state as st
from desktop.updates import watch
from tests.sync.fixtures import Net
from tests.sync.live import live_server

from .apps import make_app


def test_a_sync_starts_the_update_check_in_the_background(tmp_path: Path) -> None:
    with live_server("sqlite", tmp_path / "server") as server:
        net = Net(server, tmp_path)
        try:
            desk = net.desktop(net.branch())
            repo = server.settings.data_dir / "updates"
            repository.init(repo, tmp_path / "keys")
            repository.publish(repo, make_app(tmp_path / "v9", "9.0.0"), "9.0.0", tmp_path / "keys")
            client.trust(desk.data_dir, repo / "metadata" / "1.root.json")
            agent = net.agent(desk)
            services = SimpleNamespace(
                branch=desk, data_dir=desk.data_dir, sync=SimpleNamespace(agent=agent)
            )
            watcher = watch(services)
            assert watcher is not None
            agent.sync_once()
            assert watcher.thread is not None
            watcher.thread.join(60)
            assert st.load(desk.data_dir).staged == "9.0.0"
            assert (st.versions_dir(desk.data_dir) / "9.0.0" / "motcua-desktop").exists()
            agent.sync_once()  # within the interval: no second check
            assert watcher.next_at > 0 and not watcher.thread.is_alive()
        finally:
            net.close()
