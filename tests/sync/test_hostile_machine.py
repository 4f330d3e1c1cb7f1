"""A Hypothesis state machine: one real sync server, two honest desks and one hostile desk of
the same branch, driven by random steps.

The honest desks receive dossiers and take valid workflow actions on them; any desk syncs
with the server; honest desks exchange over the LAN. The hostile desk writes into its own
chain whatever it likes — any event type of the authority table and unknown ones, payloads
that look right or arbitrary JSON (no floats), any actor, sometimes another branch or the
national scope, sometimes a run whose inner events carry a stranger's signature — and
pushes it to the server (a refusal is fine), hands it to an honest desk's peer service as
a signed push of a slice of its chain, exchanges with an honest desk, or is pulled from.

Invariants:
- an honest desk's sync with the server, and an exchange between honest desks, never
  raise; an honest desk pulling from the hostile one fails, if at all, as a SyncError;
- honest desks never see a device revoked or re-keyed, nor a user no one legitimately
  added (the desks' first admin and the centre's clerks);
- after a final round where every desk syncs with the server twice, the honest desks hold
  equal snapshots, each equal to a rebuild of its projections.

12 examples of up to 15 steps take about 20 s on 2 cores; ``MOTCUA_MACHINE_EXAMPLES`` and
``MOTCUA_MACHINE_STEPS`` run it longer. No shrinking: an example costs about a second
(three desks made and enrolled), so shrinking a failure would take minutes; the failing
example is printed step by step as it ran. (Hypothesis keeps it in its example database
and tries it first next time; the desks' random device ids, which order concurrent
steps, may lead the replay elsewhere.)

It fails while an open bug stands (``docs/sync.md``, Known limits: a quarantined event an
honest desk got over the LAN is relayed to the server, which refuses the whole push, so
that desk's server sync fails for good) — at these settings in about 3 runs out of 4.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pytest
import requests
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from core.domain.authority import RULES
from core.domain.errors import MotcuaError
from core.domain.events import Event
from core.domain.ids import new_uuid7
from core.domain.signing import DeviceKey
from core.domain.workflow import Action, State, allowed_actions
from core.services.peers import PeerService, sync_with_peer
from core.storage import event_store
from core.storage import schema as t
from core.sync import auth
from core.sync.errors import SyncError
from core.sync.peer import peer_url

from .fixtures import CLERKS, Net, act, rebuilt, receive, snapshot
from .live import LiveServer, live_server

P = ParamSpec("P")
R = TypeVar("R")

MOMENT = "2026-11-23T09:00:00+07:00"
# Mostly well-formed, so that most runs get past the wire and reach the authority table;
# now and then malformed (which stops the hostile chain for good wherever it goes).
ACTORS = ["admin", "lan", "minh", "hung", "system", "central", "citizen", "mallory"] * 6 + [
    "Admin",
    "bad actor",
    "",
]
UNKNOWN_TYPES = ["dossier.explode", "user.promoted", "x.y", "Dossier.Note", "note", ""]
SKIPPED_ACTIONS = {Action.REAPPOINT, Action.REGISTER_POSTAL}  # they need details
LEGITIMATE_USERS = {"admin", *(clerk.username for clerk in CLERKS)}

_leaf = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=12)
_ascii = st.text(st.characters(codec="ascii"), max_size=8)
_keys = st.one_of(_ascii, _ascii, _ascii, st.text(max_size=4))  # a non-ASCII key now and then
JSON = st.recursive(
    _leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=8,
)
ARBITRARY_PAYLOAD = st.dictionaries(_keys, JSON, max_size=4)


class Server:
    """The live server the examples share: each example makes a branch of its own."""

    live: LiveServer | None = None
    root: Path | None = None


def guarded(method: Callable[P, R]) -> Callable[P, R]:
    """A step of the machine: a failure marks the example broken, so its teardown does not
    run the final round on top of the failure being reported."""

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        machine = args[0]
        assert isinstance(machine, HostileBranch)
        try:
            return method(*args, **kwargs)
        except BaseException:
            machine.broken = True
            raise

    run.__name__ = method.__name__
    run.__doc__ = method.__doc__
    return run


class HostileBranch(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        assert Server.live is not None and Server.root is not None
        self.broken = False
        self.folder = Path(tempfile.mkdtemp(dir=Server.root))
        self.net = Net(Server.live, self.folder)
        self.services: list[PeerService] = []
        try:
            self.code = self.net.branch()
            self.honest = [self.net.desktop(self.code), self.net.desktop(self.code)]
            self.hostile = self.net.desktop(self.code)
            for desk in (*self.honest, self.hostile, *self.honest):
                self.net.agent(desk).sync_once()  # everyone knows every device
            self.address: dict[str, str] = {}
            for desk in (*self.honest, self.hostile):
                service = PeerService(desk).start("127.0.0.1", 0, advertise=False)
                self.services.append(service)
                self.address[desk.device_id] = f"127.0.0.1:{service.port}"
            self.keys = {d.device_id: d.key.public_b64 for d in (*self.honest, self.hostile)}
        except BaseException:
            self._close()
            raise

    # --- honest desks ---------------------------------------------------------------------
    @rule(i=st.integers(0, 1))
    @guarded
    def honest_receives(self, i: int) -> None:
        receive(self.honest[i])

    @rule(i=st.integers(0, 1), data=st.data())
    @guarded
    def honest_acts(self, i: int, data: st.DataObject) -> None:
        desk = self.honest[i]
        choices = [
            (view.code, action, clerk)
            for view in desk.dossiers.browse()
            for clerk in CLERKS
            for action in allowed_actions(view.state, clerk.role)
            if action not in SKIPPED_ACTIONS
        ]
        if not choices:
            return
        code, action, clerk = data.draw(st.sampled_from(choices), label="action")
        act(desk, code, action, clerk)

    @rule(i=st.integers(0, 1))
    @guarded
    def honest_syncs_with_the_server(self, i: int) -> None:
        self.net.agent(self.honest[i]).sync_once()  # never raises

    @rule(i=st.integers(0, 1))
    @guarded
    def honest_desks_exchange_over_the_lan(self, i: int) -> None:
        caller, callee = self.honest[i], self.honest[1 - i]
        sync_with_peer(caller, self.address[callee.device_id])  # never raises

    @rule(i=st.integers(0, 1))
    @guarded
    def honest_pulls_from_the_hostile_desk(self, i: int) -> None:
        """The hostile desk's peer service may make this exchange fail, as a SyncError."""
        with suppress(SyncError):
            sync_with_peer(self.honest[i], self.address[self.hostile.device_id])

    # --- the hostile desk -----------------------------------------------------------------
    @rule(
        data=st.data(),
        length=st.integers(1, 3),
        forge=st.booleans(),
        then=st.sampled_from(["keep", "server", "hand", "exchange"]),
        i=st.integers(0, 1),
    )
    @guarded
    def hostile_writes(
        self, data: st.DataObject, length: int, forge: bool, then: str, i: int
    ) -> None:
        """A run of `length` events in its own chain; with `forge`, every one but the last
        signed with a stranger's key. `then`: kept for later, or at once pushed to the
        server, handed to honest desk `i`'s peer service, or exchanged with it."""
        stranger = DeviceKey.generate()
        for n in range(length):
            fields = data.draw(self._event_fields(), label="event")
            key = stranger if forge and n < length - 1 else self.hostile.key
            self._append_hostile(fields, key)
        if then == "server":
            self.hostile_pushes_to_the_server()
        elif then == "hand":
            self.hostile_hands_a_slice_to_an_honest_desk(i, length)
        elif then == "exchange":
            self.hostile_exchanges_with_an_honest_desk(i)

    @rule()
    @guarded
    def hostile_pushes_to_the_server(self) -> None:
        """The longest prefix of its unsent chain that the server takes (maybe none)."""
        client = self.net.client(self.hostile)
        try:
            known = dict(client.exchange(self.code, {}).vector).get(self.hostile.device_id, 0)
        except SyncError:
            return
        pending = self._chain(after=known)
        for end in range(len(pending), 0, -1):
            try:
                client.push(pending[:end])
                return
            except SyncError:
                continue

    @rule(i=st.integers(0, 1), count=st.integers(1, 4))
    @guarded
    def hostile_hands_a_slice_to_an_honest_desk(self, i: int, count: int) -> None:
        """A signed push to the honest desk's peer service: the next `count` events of its
        chain that the desk lacks (a cut anywhere in a run; any scope); refusals are fine."""
        desk = self.honest[i]
        with desk.store.read() as conn:
            held = event_store.device_head(conn, self.hostile.device_id)[0]
        events = self._chain(after=held)[:count]
        if events:
            body = json.dumps({"events": [e.to_wire() for e in events]}).encode()
            path = "/v1/events"
            headers = auth.sign_request(
                self.hostile.key, self.hostile.device_id, "POST", path, body, _now_ms()
            )
            url = peer_url(self.address[desk.device_id])
            requests.post(url + path, data=body, headers=headers, timeout=30)

    @rule(i=st.integers(0, 1))
    @guarded
    def hostile_exchanges_with_an_honest_desk(self, i: int) -> None:
        with suppress(MotcuaError):
            sync_with_peer(self.hostile, self.address[self.honest[i].device_id])

    @rule()
    @guarded
    def hostile_syncs_with_the_server(self) -> None:
        with suppress(MotcuaError):
            self.net.agent(self.hostile).sync_once()

    # --- invariants -----------------------------------------------------------------------
    @invariant()
    @guarded
    def honest_desks_keep_devices_and_users(self) -> None:
        for desk in self.honest:
            with desk.store.read() as conn:
                devices = {r.device_id: r for r in conn.execute(select(t.devices))}
                users = {r.username for r in conn.execute(select(t.users))}
            for device_id, public_key in self.keys.items():
                row = devices[device_id]
                assert not row.revoked, f"{desk.device_id} sees {device_id} revoked"
                assert row.public_key == public_key, f"{desk.device_id} sees {device_id} re-keyed"
            assert not any(row.revoked for row in devices.values())
            assert users <= LEGITIMATE_USERS, f"{desk.device_id} has users {users}"

    # --- the end of an example ------------------------------------------------------------
    def teardown(self) -> None:
        try:
            if not self.broken:
                self._final_round()
        finally:
            self._close()

    def _final_round(self) -> None:
        for _round in range(2):
            for desk in self.honest:
                self.net.agent(desk).sync_once()
            self.hostile_syncs_with_the_server()
        first, second = (snapshot(desk) for desk in self.honest)
        if first != second:
            raise AssertionError(
                "the honest desks differ after the final round: " + self._difference(first, second)
            )
        for desk in self.honest:
            assert snapshot(desk) == rebuilt(desk), f"{desk.device_id} differs from a rebuild"
        self.honest_desks_keep_devices_and_users()

    def _difference(self, first: dict[str, Any], second: dict[str, Any]) -> str:
        """The events one honest desk holds and the other lacks, and which view differs."""
        told = []
        for desk, mine, theirs in (
            (self.honest[0], first, second),
            (self.honest[1], second, first),
        ):
            extra = set(mine["events"]) - set(theirs["events"])
            with desk.store.read() as conn:
                rows = conn.execute(select(t.events).where(t.events.c.hash.in_(extra)))
                events = [event_store._row_to_event(r) for r in rows]
            held = [(e.origin_device[-4:], e.origin_seq, e.type, e.branch) for e in events]
            told.append(f"only {desk.device_id[-4:]} holds {sorted(held)}")
        keys = [k for k in first if first[k] != second[k]]
        return "; ".join(told) + f"; differing: {keys}"

    def _close(self) -> None:
        for service in self.services:
            service.stop()
        self.net.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- the hostile desk's means -----------------------------------------------------------
    def _chain(self, after: int) -> list[Event]:
        with self.hostile.store.read() as conn:
            return [
                e for e in event_store.chain(conn, self.hostile.device_id) if e.origin_seq > after
            ]

    def _append_hostile(self, fields: dict[str, Any], key: DeviceKey) -> Event:
        desk = self.hostile

        def draft(seq: int, prev: str, stamp: str) -> Event:
            return Event(
                event_id=new_uuid7(),
                origin_device=desk.device_id,
                origin_seq=seq,
                hlc=stamp,
                prev_hash=prev,
                **fields,
            )

        now = _now_ms()
        return desk.store.write(
            lambda conn: event_store.append_local(conn, desk.device_id, key, now, draft)
        )

    def _event_fields(self) -> st.SearchStrategy[dict[str, Any]]:
        dossiers = self._dossier_ids()
        receipts = self._receipts()
        return st.builds(
            dict,
            type=st.sampled_from(sorted(RULES) + UNKNOWN_TYPES),
            actor=st.sampled_from(ACTORS) | st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True),
            branch=st.sampled_from([self.code] * 30 + ["*", "U9999", "bad branch"]),
            dossier=st.sampled_from([None] * 6 + ["new"] * 6 + dossiers * 3 + ["bad id!"]),
            payload_kind=st.sampled_from(["plausible"] * 4 + ["mixed", "arbitrary"]),
            arbitrary=ARBITRARY_PAYLOAD,
            receipt=st.sampled_from(receipts) if receipts else st.none(),
            pick=st.integers(0, 1000),
            proof=st.none() | st.text(min_size=1, max_size=20),
        ).map(self._shape)

    def _shape(self, drawn: dict[str, Any]) -> dict[str, Any]:
        type_ = drawn["type"]
        dossier = drawn["dossier"]
        if dossier == "new":
            dossier = new_uuid7()
        if drawn["payload_kind"] == "arbitrary":
            payload = drawn["arbitrary"]
        else:
            payload = self._plausible(type_, drawn["pick"], drawn["receipt"])
            if drawn["payload_kind"] == "mixed":
                payload = {**payload, **drawn["arbitrary"]}
        if drawn["proof"] is not None:
            payload = {**payload, "proof": drawn["proof"]}
        return {
            "dossier_id": dossier,
            "branch": drawn["branch"],
            "type": type_,
            "payload": payload,
            "actor": drawn["actor"],
        }

    def _plausible(self, type_: str, pick: int, receipt: dict[str, Any] | None) -> dict[str, Any]:
        """A payload its type's schema may well accept, aimed at the honest desks."""
        victims = [d.device_id for d in self.honest] + [self.hostile.device_id, "new-desk"]
        users = ["mallory", "lan", "minh", "hung", "admin"]
        roles = ["officer", "specialist", "leader", "admin"]
        user, role = users[pick % len(users)], roles[pick % len(roles)]
        fresh_key = DeviceKey.generate().public_b64
        states = [s.value for s in State]
        by_type: dict[str, dict[str, Any]] = {
            "device.enrolled": {
                "device_id": victims[pick % len(victims)],
                "branch": self.code,
                "public_key": fresh_key,
            },
            "device.revoked": {"device_id": victims[pick % len(victims)]},
            "catalogue.published": {
                "procedures": [{"code": "HT-KS", "version": 99, "processing_time": 90}]
            },
            "calendar.override_set": {"day": "2026-12-24", "kind": "holiday", "reason": "x"},
            "user.added": {
                "username": user,
                "role": role,
                "password_hash": "x",
                "public_key": fresh_key,
            },
            "user.password_set": {"username": user, "password_hash": "x", "public_key": fresh_key},
            "user.role_set": {"username": user, "role": role},
            "user.disabled": {"username": user, "disabled": bool(pick % 2)},
            "branch.setting_set": {"name": "greeting", "value": "xin chào"},
            "dossier.note": {"at": MOMENT, "text": "ghi chú"},
            "dossier.attach": {
                "at": MOMENT,
                "component": "to-khai",
                "file": {
                    "sha256": f"{pick:064x}",
                    "pages": 1,
                    "size": 10,
                    "media_type": "application/pdf",
                    "name": "scan.pdf",
                },
            },
            "dossier.rate": {"at": MOMENT, "score": pick % 7},
            "dossier.resolve": {"at": MOMENT, "note": "x", "state": states[pick % len(states)]},
            "dossier.edit": {"at": MOMENT, "field": "applicant.phone", "value": "0900000000"},
            "dossier.reappoint": {"at": MOMENT, "note": "x", "due_at": "2026-12-30T17:00:00+07:00"},
        }
        if type_ == "dossier.receive" and receipt is not None:
            return receipt
        return by_type.get(type_, {"at": MOMENT, "note": "x"})

    def _dossier_ids(self) -> list[str]:
        with self.honest[0].store.read() as conn:
            rows = conn.execute(select(t.dossiers.c.id).limit(5))
            return [r.id for r in rows]

    def _receipts(self) -> list[dict[str, Any]]:
        with self.honest[0].store.read() as conn:
            rows = conn.execute(
                select(t.events).where(t.events.c.type == "dossier.receive").limit(3)
            )
            return [dict(event_store._row_to_event(r).payload) for r in rows]


def _now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("machine")
    with live_server("sqlite", folder / "server") as server:
        Server.live, Server.root = server, folder
        try:
            yield server
        finally:
            Server.live = Server.root = None


def test_a_hostile_desk_never_stops_or_corrupts_the_honest_ones(shared_server: LiveServer) -> None:
    """GIVEN a server, two honest desks and a hostile desk of one branch
    WHEN random steps run: honest receipts, actions, syncs and LAN exchanges, and the
    hostile desk's arbitrary events pushed to the server, handed to the honest desks'
    peer services, exchanged and pulled
    THEN every honest sync succeeds, no device is revoked or re-keyed and no user appears
    that no one added, and after a final round of syncs the honest desks agree and equal
    a rebuild (see the module's docstring)."""
    run_state_machine_as_test(
        HostileBranch,
        settings=settings(
            max_examples=int(os.environ.get("MOTCUA_MACHINE_EXAMPLES", "12")),
            stateful_step_count=int(os.environ.get("MOTCUA_MACHINE_STEPS", "15")),
            deadline=None,
            # No shrinking: an example costs a second (three desks made and enrolled), so
            # shrinking a failure takes minutes; the failing steps are printed as they ran.
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
