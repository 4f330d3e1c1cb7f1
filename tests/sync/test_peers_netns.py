"""A real LAN in network namespaces: two desktops, each in its own namespace joined by a
veth pair on a private test subnet; one finds the other by mDNS across the link and the
exchange syncs both ways, the centre unreachable: the other desk gets the dossier and its
scan, which never reached the centre.

Needs root (``ip netns``). Without it the test fails with a clear message: it does not
skip. All traffic stays inside the two namespaces created here; they are deleted
afterwards (deleting a namespace deletes its end of the veth pair).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.services.branch import Branch
from core.services.documents import read as documents_read
from core.services.sync import LocalReplica

from .fixtures import Net, attach_blob, receive, snapshot
from .live import live_server

SUBNET = "10.213.77"  # inside the test namespaces only
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Lan:
    a: str
    b: str
    address_a: str
    address_b: str


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
    if done.returncode != 0:
        pytest.fail(f"'ip {' '.join(args)}' failed: {done.stderr.strip()}")


@pytest.fixture
def namespaces() -> Iterator[Lan]:
    if os.geteuid() != 0:
        pytest.fail(
            "the LAN test needs root to create network namespaces (ip netns add): "
            "run it as root, e.g. in the CI container or with sudo"
        )
    tag = uuid.uuid4().hex[:6]
    lan = Lan(f"motcua-a-{tag}", f"motcua-b-{tag}", f"{SUBNET}.1", f"{SUBNET}.2")
    made: list[str] = []
    try:
        for ns in (lan.a, lan.b):
            _ip("netns", "add", ns)
            made.append(ns)
        # both ends are created inside the namespaces: nothing touches the host's links
        veth = (f"va{tag}", f"vb{tag}")
        _ip("-n", lan.a, "link", "add", veth[0], "type", "veth", "peer", "name", veth[1],
            "netns", lan.b)  # fmt: skip
        ends = ((lan.a, veth[0], lan.address_a), (lan.b, veth[1], lan.address_b))
        for ns, dev, address in ends:
            _ip("-n", ns, "addr", "add", f"{address}/24", "dev", dev)
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", dev, "up", "multicast", "on")
        yield lan
    finally:
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)


def _child(ns: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", ns, sys.executable, "-m", "tests.sync.peer_child", *args]


def test_mdns_finds_the_peer_across_a_real_link_and_the_exchange_syncs(
    namespaces: Lan, tmp_path: Path
) -> None:
    """GIVEN two enrolled desktops of one branch, each in its own network namespace
    WHEN one serves and announces the exchange, and the other browses mDNS on its link
    THEN the other finds it (branch, device id, key fingerprint in TXT) and one exchange
    leaves both with the same events and projections."""
    with live_server("sqlite", tmp_path / "server") as server:
        net = Net(server, tmp_path)
        unit = net.branch()
        a, b = net.desktop(unit), net.desktop(unit)
        for desk in (a, b, a):
            net.agent(desk).sync_once()
        code_a, code_b = receive(a).code, receive(b).code
        scan_file = tmp_path / "scan.pdf"
        scan_file.write_bytes(os.urandom(2 * 1024 * 1024))
        scan = LocalReplica(a).add_blob(scan_file)  # never sent to the centre
        attach_blob(a, a.dossiers.get(code_a).id, scan)
        folders = (a.data_dir, b.data_dir)
        net.close()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    serving = subprocess.Popen(
        _child(namespaces.a, "serve", str(folders[0]), namespaces.address_a),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        assert serving.stdout is not None
        ready = json.loads(serving.stdout.readline() or "{}")
        assert ready.get("port"), "the serving desktop did not start"
        found = subprocess.run(
            _child(namespaces.b, "discover", str(folders[1]), "15"),
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=60,
        )
    finally:
        assert serving.stdin is not None
        serving.stdin.close()
        serving.wait(10)
    assert found.returncode == 0, found.stdout + found.stderr
    result = json.loads(found.stdout.strip().splitlines()[-1])
    assert result["hint"] == f"{namespaces.address_a}:{ready['port']}"
    assert (result["applied"], result["accepted_by_peer"]) == (2, 1)
    assert result["blobs_received"] == 1  # the scan, over the link, from the desk itself
    a, b = Branch.open(folders[0]), Branch.open(folders[1])
    try:
        assert a.dossiers.get(code_b).code == code_b
        assert b.dossiers.get(code_a).code == code_a
        assert snapshot(a) == snapshot(b)
        assert LocalReplica(b).wanted_blobs() == []
        assert documents_read(b, scan) == scan_file.read_bytes()
    finally:
        a.close()
        b.close()
