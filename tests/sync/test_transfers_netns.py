"""Three desktops in separate network namespaces — two of unit A, one of unit B — on one
LAN (a bridge in a fourth namespace), the centre unreachable from all of them.

A transfers a dossier to B over the LAN: A's desk finds B's by mDNS (the TXT record names
the branch) and hands it the offer; B accepts, fetches the scan from A's desk, processes
the dossier and hands back its reply; A takes it back and returns the result; A's other
desk gets all of it from its peer. When the centre comes back every replica converges and
verifies, and B never held an event of A's, nor A's other dossier.

Needs root (``ip netns``); fails — does not skip — without it. Everything happens inside
the namespaces made here, deleted afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from core.domain.workflow import Action, State
from core.services import audit
from core.services.branch import Branch
from core.services.sync import LocalReplica
from core.services.transfers import TransferService
from core.storage import schema as t

from .fixtures import LEADER, OFFICER, SPECIALIST, Net, act, attach_blob, receive, snapshot
from .live import live_server

SUBNET = "10.213.78"  # inside the test namespaces only
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Lan:
    desks: dict[str, tuple[str, str]]  # name → (namespace, address)


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
    if done.returncode != 0:
        pytest.fail(f"'ip {' '.join(args)}' failed: {done.stderr.strip()}")


@pytest.fixture
def lan() -> Iterator[Lan]:
    if os.geteuid() != 0:
        pytest.fail(
            "the LAN test needs root to create network namespaces (ip netns add): "
            "run it as root, e.g. in the CI container or with sudo"
        )
    tag = uuid.uuid4().hex[:6]
    hub = f"motcua-hub-{tag}"
    names = ("a1", "a2", "b")
    desks = {n: (f"motcua-{n}-{tag}", f"{SUBNET}.{i}") for i, n in enumerate(names, start=1)}
    made: list[str] = []
    try:
        for ns in (hub, *(ns for ns, _ in desks.values())):
            _ip("netns", "add", ns)
            made.append(ns)
        _ip("-n", hub, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
        _ip("-n", hub, "link", "set", "br0", "up")
        for index, (ns, address) in enumerate(desks.values()):
            inner, outer = f"vd{index}{tag}", f"vh{index}{tag}"
            _ip("-n", ns, "link", "add", inner, "type", "veth", "peer", "name", outer,
                "netns", hub)  # fmt: skip
            _ip("-n", hub, "link", "set", outer, "master", "br0")
            _ip("-n", hub, "link", "set", outer, "up")
            _ip("-n", ns, "addr", "add", f"{address}/24", "dev", inner)
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", inner, "up", "multicast", "on")
        yield Lan(desks)
    finally:
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)


def _child(ns: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", ns, sys.executable, "-m", "tests.sync.transfer_child", *args]


_ENV = {**os.environ, "PYTHONPATH": str(REPO)}


@contextmanager
def serving(lan: Lan, name: str, folder: Path) -> Iterator[None]:
    ns, address = lan.desks[name]
    child = subprocess.Popen(
        _child(ns, "serve", str(folder), address),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=_ENV,
        cwd=REPO,
    )
    try:
        assert child.stdout is not None
        ready = json.loads(child.stdout.readline() or "{}")
        assert ready.get("port"), f"the desktop {name} did not start serving"
        yield
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(15)


def exchange_round(lan: Lan, name: str, folder: Path) -> list[dict[str, object]]:
    """One round of `name`'s desk: every peer mDNS shows it within 15 s."""
    ns, _address = lan.desks[name]
    done = subprocess.run(
        _child(ns, "round", str(folder), "15"),
        capture_output=True,
        text=True,
        env=_ENV,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results: list[dict[str, object]] = json.loads(done.stdout.strip().splitlines()[-1])
    assert results and not [r for r in results if "error" in r], results
    return results


@contextmanager
def opened(folder: Path) -> Iterator[Branch]:
    desk = Branch.open(folder)
    try:
        yield desk
    finally:
        desk.close()


def test_a_transfer_between_units_over_the_lan_then_the_centre_converges(
    lan: Lan, tmp_path: Path
) -> None:
    with live_server("sqlite", tmp_path / "server") as server:
        net = Net(server, tmp_path)
        unit_a, unit_b = net.branch(), net.branch()
        a1, a2, b = net.desktop(unit_a), net.desktop(unit_a), net.desktop(unit_b)
        for desk in (a1, a2, b, a1):
            net.agent(desk).sync_once()
        kept_home = receive(a1)  # A's other dossier: B must never hold it
        view = receive(a1)
        scan_file = tmp_path / "to-khai.pdf"
        scan_file.write_bytes(os.urandom(300_000))
        scan = LocalReplica(a1).add_blob(scan_file)
        attach_blob(a1, view.id, scan)
        TransferService(a1).send_out(OFFICER, view.code, unit_b)
        folders = {"a1": a1.data_dir, "a2": a2.data_dir, "b": b.data_dir}
        net.close()
        net.desktops.clear()

        with serving(lan, "b", folders["b"]):  # A's desk finds B's and hands the offer
            (handed,) = exchange_round(lan, "a1", folders["a1"])
        assert (handed["unit"], handed["messages_handed"]) == (unit_b, 1)
        with opened(folders["b"]) as desk:
            (offer,) = TransferService(desk).messages()
            mine, _ = TransferService(desk).accept(OFFICER, offer.event_id)
        with serving(lan, "a1", folders["a1"]):  # B fetches the scan from A's desk
            (fetched,) = exchange_round(lan, "b", folders["b"])
        assert (fetched["unit"], fetched["blobs_received"]) == (unit_a, 1)
        with opened(folders["b"]) as desk:
            for action, user in (
                (Action.TRANSFER, OFFICER),
                (Action.START, SPECIALIST),
                (Action.SUBMIT, SPECIALIST),
                (Action.APPROVE, LEADER),
                (Action.FINISH, SPECIALIST),
            ):
                act(desk, mine.code, action, user)
            TransferService(desk).send_back(OFFICER, mine.code)
        with serving(lan, "a1", folders["a1"]):  # B hands back its reply
            (replied,) = exchange_round(lan, "b", folders["b"])
        assert replied["messages_handed"] == 1
        with opened(folders["a1"]) as desk:
            (reply,) = TransferService(desk).messages()
            taken, _ = TransferService(desk).take_back(OFFICER, reply.event_id)
            assert taken.state is State.FINISHED
            act(desk, view.code, Action.RETURN, OFFICER)
        with serving(lan, "a1", folders["a1"]):  # A's other desk learns it from its peer
            (same_unit,) = exchange_round(lan, "a2", folders["a2"])
        assert "unit" not in same_unit and same_unit["applied"]

        # The centre comes back: every replica converges and verifies.
        desks = {name: Branch.open(folder) for name, folder in folders.items()}
        net.desktops.extend(desks.values())
        for name in ("a1", "a2", "b", "a1", "a2", "b"):
            net.agent(desks[name]).sync_once()
        assert snapshot(desks["a1"]) == snapshot(desks["a2"])
        assert desks["a2"].dossiers.get(view.code).state is State.RETURNED
        assert all(audit.verify(desk).ok for desk in desks.values())
        with desks["b"].store.read() as conn:
            branches = {r.branch for r in conn.execute(select(t.events.c.branch))}
            codes = {r.code for r in conn.execute(select(t.dossiers.c.code))}
        assert branches <= {unit_b, "*"} and kept_home.code not in codes
        net.close()
