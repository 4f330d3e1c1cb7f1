"""LAN peers over the local store: serve the exchange, advertise it, sync with peers.

``core.sync.peer`` and ``core.sync.discovery`` know the protocol and mDNS; this module
joins them to the store (the layers keep them apart):

    service = PeerService(branch).start(port=8471)   # serve + advertise on the LAN
    add_peer(branch, "10.0.0.12:8471")               # a peer known by address
    sync_with_peer(branch, "10.0.0.12:8471")         # one exchange, both ways
    sync_peers(branch, browse_s=3)                   # every known and discovered peer

What a peer's events change here (pulled by this desk, or pushed to its service) is told
to ``on_applied`` (``core.sync.applied.Applied``), so the screens open here refresh.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from core.domain import authority, transfers
from core.domain.errors import N_, MotcuaError, ValidationError
from core.domain.events import Event
from core.domain.timeutil import iso, to_vietnam
from core.i18n import describe
from core.storage import event_store, replication
from core.storage import meta as store_meta
from core.storage import schema as t
from core.sync import blobs as blob_io
from core.sync.agent import AppliedListener, IngestSummary
from core.sync.applied import Applied
from core.sync.discovery import Advertiser, Browser, PeerHint
from core.sync.errors import SyncError
from core.sync.peer import KnownDevice, PeerServer, PeerSummary, exchange_with_peer, peer_url
from core.sync.wire import MAX_HANDED, TransferItem

from . import transfers as transfers_service
from .branch import Branch, centre_key, set_meta
from .sync import LocalReplica, meta

PEERS_META = "lan_peers"
PEER_STATE_META = "lan_peer_state"


class LocalPeerReplica:
    """The peer server's and client's view of this desktop's store."""

    def __init__(self, branch: Branch, on_applied: AppliedListener | None = None) -> None:
        self.b = branch
        self.device_id = branch.device_id
        self.branch = branch.branch_code
        self.key = branch.key
        self._local = LocalReplica(branch)
        self.on_applied = on_applied
        self.applied = Applied()  # everything ingested (and scans fetched) through this replica
        self._referenced = ReferencedBlobs(branch)

    def known_device(self, device_id: str) -> KnownDevice | None:
        with self.b.store.read() as conn:
            row = conn.execute(select(t.devices).where(t.devices.c.device_id == device_id)).first()
        if row is None or device_id.startswith("server:"):
            return None
        return KnownDevice(row.device_id, row.branch, row.public_key, bool(row.revoked))

    def vector(self) -> dict[str, int]:
        with self.b.store.read() as conn:
            return replication.vector(conn)

    def events_for_peer(self, vector: dict[str, int], limit: int) -> tuple[list[Event], bool]:
        with self.b.store.read() as conn:
            return replication.events_for_scopes(conn, vector, limit, [self.branch, "*"])

    def ingest_from_peer(self, events: Sequence[Event]) -> IngestSummary:
        summary = self._local.ingest(self.branch, events, None, from_peer=True)
        self._note(summary.applied())
        return summary

    # --- scans -------------------------------------------------------------------------
    def servable_blob(self, sha256: str) -> Path | None:
        """A blob held whole here that an event a peer of the branch may read refers to."""
        with self.b.store.read() as conn:
            row = conn.execute(
                select(replication.blobs.c.present).where(replication.blobs.c.sha256 == sha256)
            ).first()
        if row is None or not row.present or sha256 not in self._referenced:
            return None
        path = blob_io.blob_path(self._local.blob_root, sha256)
        return path if path.is_file() else None

    def wanted_blobs(self) -> list[str]:
        return self._local.wanted_blobs()

    def partial_blob(self, sha256: str) -> Path:
        return self._local.partial_blob(sha256)

    def complete_blob(
        self, sha256: str, *, durable: bool = True, digest: str | None = None
    ) -> None:
        self._local.complete_blob(sha256, durable=durable, digest=digest)
        self._note(Applied(blobs=frozenset({sha256})))

    def _note(self, applied: Applied) -> None:
        if not applied:
            return
        self.applied |= applied
        if self.on_applied is not None:
            self.on_applied(applied)

    # --- peers of another unit (``core.sync.peer_units``) ------------------------------
    def centre_key(self) -> str | None:
        with self.b.store.read() as conn:
            return centre_key(conn, self.branch)

    def own_enrolment(self) -> dict[str, Any] | None:
        with self.b.store.read() as conn:
            return _enrolments(conn, self.branch).get(self.device_id)

    def introduced_device(self, enrolment: Mapping[str, Any]) -> KnownDevice | None:
        """A desk of another unit the centre's enrolment vouches for (one of this branch
        must be in its device list: that list also knows revocations)."""
        centre = self.centre_key()
        if centre is None:
            return None
        try:
            device_id, unit, key = transfers.enrolled_desk(enrolment, centre)
        except (authority.AuthorityRefused, authority.MalformedEvent):
            return None
        return None if unit == self.branch else KnownDevice(device_id, unit, key, False)

    def messages_for(self, unit: str) -> list[TransferItem]:
        """This unit's send-outs and send-backs addressed to `unit` (the newest first),
        each with the centre's enrolment of the desk that wrote it."""
        with self.b.store.read() as conn:
            enrolments = _enrolments(conn, self.branch)
            events = _sent_to(conn, unit)
        return [
            TransferItem(
                kind=transfers.RELAYED[e.type],  # type: ignore[arg-type]
                message=e.to_wire(),
                enrolment=enrolments[e.origin_device],
            )
            for e in events[:MAX_HANDED]
            if e.origin_device in enrolments
        ]

    def receive_transfers_from_peer(self, items: Sequence[TransferItem]) -> tuple[int, list[str]]:
        received_at = iso(to_vietnam(self.b.clock()))
        arrival = self.b.store.write(
            lambda conn: transfers_service.keep_messages(conn, self.branch, items, received_at)
        )
        self._note(Applied(transfers=arrival.kept))
        return arrival.kept, [f"{event_id}: {why}" for event_id, why in arrival.refused]

    def servable_blob_for(self, sha256: str, unit: str) -> Path | None:
        """A scan held whole here that this unit sent `unit` with a transfer."""
        with self.b.store.read() as conn:
            named = {s for e in _sent_to(conn, unit) for s in blob_io.referenced_blobs(e.payload)}
        if sha256 not in named:
            return None
        path = blob_io.blob_path(self._local.blob_root, sha256)
        return path if path.is_file() else None

    def peer_seen(self, address: str, device_id: str, error: SyncError | None) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        kept = _kept_error(error) if error is not None else ""

        def work(conn: Connection) -> None:
            state = _load(conn, PEER_STATE_META)
            entry = dict(state.get(address, {}))
            entry["last_attempt"] = now
            entry["last_error"] = kept
            if device_id:
                entry["device_id"] = device_id
            if error is None:
                entry["last_seen"] = now
            state[address] = entry
            set_meta(conn, PEER_STATE_META, json.dumps(state, sort_keys=True))

        self.b.store.write(work)


class ReferencedBlobs:
    """The blobs events of the branch or of the national chain refer to: those a peer of
    the branch may fetch. Read from the log once, then from the events logged since
    (``events.seq`` only grows); kept for as long as this desk serves."""

    def __init__(self, branch: Branch) -> None:
        self.b = branch
        self.scopes = [branch.branch_code, "*"]
        self._hashes: set[str] = set()
        self._seen = 0  # the log is read up to this seq
        self._lock = threading.Lock()

    def __contains__(self, sha256: object) -> bool:
        with self._lock:
            self._catch_up()
            return sha256 in self._hashes

    def _catch_up(self) -> None:
        e = t.events.c
        with self.b.store.read() as conn:
            top = conn.execute(select(func.max(e.seq))).scalar() or 0
            rows = conn.execute(
                select(e.payload)
                .where(e.seq > self._seen, e.seq <= top, e.branch.in_(self.scopes))
                .where(e.payload.contains('"sha256"', autoescape=True))
            )
            for row in rows:
                self._hashes.update(blob_io.referenced_blobs(json.loads(row.payload)))
        self._seen = top


def _enrolments(conn: Connection, branch: str) -> dict[str, dict[str, Any]]:
    """The centre's ``device.enrolled`` of this branch's desks, by device (the newest)."""
    rows = conn.execute(
        select(t.events)
        .where(t.events.c.type == transfers.DEVICE_ENROLLED)
        .where(t.events.c.origin_device == authority.CENTRE_PREFIX + branch)
        .order_by(t.events.c.seq)
    )
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        event = event_store.decode(row)
        found[str(event.payload.get("device_id"))] = event.to_wire()
    return found


def _sent_to(conn: Connection, unit: str) -> list[Event]:
    """This unit's messages (send-outs, send-backs) addressed to `unit`, newest first."""
    rows = conn.execute(
        select(t.events)
        .where(t.events.c.type.in_(list(transfers.RELAYED)))
        .order_by(t.events.c.seq.desc())
    )
    events = [event_store.decode(row) for row in rows]
    return [e for e in events if e.payload.get("to_branch") == unit]


def _load(conn: Connection, name: str) -> dict[str, Any]:
    value = store_meta.get(conn, name)
    return dict(json.loads(value)) if value is not None else {}


# --- serving ---------------------------------------------------------------------------


@dataclass
class PeerService:
    """This desktop as a LAN peer: the exchange served, and announced with mDNS."""

    branch: Branch
    server: PeerServer | None = None
    advertiser: Advertiser | None = None
    on_applied: AppliedListener | None = None  # what peers' pushes change here

    def start(
        self,
        host: str = "0.0.0.0",
        port: int = 0,
        *,
        advertise: bool = True,
        addresses: Sequence[str] = (),
    ) -> PeerService:
        replica = LocalPeerReplica(self.branch, self.on_applied)
        self.server = PeerServer(replica, host, port).start()
        if advertise:
            self.advertiser = Advertiser(
                self.branch.device_id,
                self.branch.branch_code,
                self.branch.key.public_b64,
                self.server.port,
                addresses=addresses,
            )
        return self

    @property
    def port(self) -> int:
        return self.server.port if self.server else 0

    def stop(self) -> None:
        if self.advertiser is not None:
            self.advertiser.close()
            self.advertiser = None
        if self.server is not None:
            self.server.stop()
            self.server = None


# --- peers known by address, discovered, and synced ---------------------------------------


def add_peer(branch: Branch, address: str) -> dict[str, Any]:
    """Remember a peer by ``HOST:PORT`` (for LANs where multicast does not pass)."""
    try:
        peer_url(address)
    except SyncError as err:
        raise ValidationError(
            N_("A peer address is HOST:PORT, not {address}"), address=address
        ) from err

    def work(conn: Connection) -> None:
        peers = _load(conn, PEERS_META)
        peers[address] = {"added": datetime.now(UTC).isoformat(timespec="seconds")}
        set_meta(conn, PEERS_META, json.dumps(peers, sort_keys=True))

    branch.store.write(work)
    return {"added": address}


def known_peers(branch: Branch) -> list[str]:
    return sorted(json.loads(meta(branch, PEERS_META, "{}")))


def discover(branch: Branch, browse_s: float, *, units: bool = False) -> list[PeerHint]:
    """Peers of this branch that mDNS announces within `browse_s` seconds (with `units`,
    also the desks of other units: they get only the transfers between the two)."""
    browser = Browser(None if units else branch.branch_code, own_device=branch.device_id)
    try:
        deadline = time.monotonic() + browse_s
        hints = browser.wait(browse_s)
        remaining = deadline - time.monotonic()
        if hints and remaining > 0:
            time.sleep(min(remaining, 0.5))  # let the other announcements arrive
        return browser.hints()
    finally:
        browser.close()


def list_peers(branch: Branch, browse_s: float = 0.0) -> list[dict[str, Any]]:
    """Known and discovered peers with what the last exchange said of them."""
    state = json.loads(meta(branch, PEER_STATE_META, "{}"))
    rows: dict[str, dict[str, Any]] = {}
    for address in known_peers(branch):
        rows[address] = {"address": address, "source": "added", "device_id": ""}
    if browse_s > 0:
        for hint in discover(branch, browse_s):
            rows.setdefault(hint.address, {"address": hint.address, "device_id": ""})
            rows[hint.address].update(source="mdns", device_id=hint.device_id)
    for address, row in rows.items():
        seen = state.get(address, {})
        row["device_id"] = row["device_id"] or seen.get("device_id", "")
        row["last_seen"] = seen.get("last_seen", "")
        row["last_error"] = _shown_error(seen.get("last_error", ""))
    return [rows[a] for a in sorted(rows)]


_KEPT_TEXT = 500  # characters of a parameter kept: a peer's answer may be any length


def _kept_error(error: SyncError) -> dict[str, Any]:
    """An exchange's error as the peer list keeps it: its message and parameters (plain
    values), translated when read."""
    params = {
        name: value if isinstance(value, int | float) else str(value)[:_KEPT_TEXT]
        for name, value in error.params.items()
    }
    return {"message": error.message, "params": params}


def _shown_error(kept: object) -> str:
    """A kept error in the reader's language (one kept as text by an earlier version
    stays as it was written)."""
    if not isinstance(kept, dict) or not isinstance(kept.get("message"), str):
        return str(kept or "")
    params = kept.get("params")
    try:
        return describe(
            MotcuaError(kept["message"], **(params if isinstance(params, dict) else {}))
        )
    except (KeyError, IndexError, ValueError, AttributeError, TypeError):  # a kept message
        # that its parameters do not fill (an edited store, another version's message)
        return str(kept["message"])


def sync_with_peer(
    branch: Branch,
    address: str,
    *,
    device_id: str = "",
    fingerprint: str = "",
    timeout: tuple[float, float] = (3.0, 30.0),
    replica: LocalPeerReplica | None = None,
) -> PeerSummary:
    """One exchange with a peer, both ways (raises SyncError)."""
    return exchange_with_peer(
        replica or LocalPeerReplica(branch),
        address,
        expected_device=device_id,
        expected_fingerprint=fingerprint,
        timeout=timeout,
    )


def sync_peers(
    branch: Branch,
    browse_s: float = 2.0,
    *,
    stop: Callable[[], bool] = lambda: False,
    timeout: tuple[float, float] = (3.0, 30.0),
) -> list[dict[str, Any]]:
    """Exchange with every peer added by address and every peer mDNS announces; `stop`
    is asked before each (a background loop shutting down ends the round early).

    A peer that does not answer is reported and skipped; the exchange is the liveness test.
    """
    return peer_round(branch, browse_s, stop=stop, timeout=timeout)[0]


def peer_round(
    branch: Branch,
    browse_s: float = 2.0,
    *,
    stop: Callable[[], bool] = lambda: False,
    timeout: tuple[float, float] = (3.0, 30.0),
) -> tuple[list[dict[str, Any]], Applied]:
    """``sync_peers``, and what the round changed here — also what a peer brought before
    its exchange failed."""
    replica = LocalPeerReplica(branch)
    targets: dict[str, tuple[str, str]] = dict.fromkeys(known_peers(branch), ("", ""))
    if browse_s > 0:
        for hint in discover(branch, browse_s, units=True):
            targets[hint.address] = (hint.device_id, hint.fingerprint)
    results: list[dict[str, Any]] = []
    for address, (device, print_) in sorted(targets.items()):
        if stop():
            break
        try:
            summary = sync_with_peer(
                branch,
                address,
                device_id=device,
                fingerprint=print_,
                timeout=timeout,
                replica=replica,
            )
        except SyncError as err:
            results.append({"peer": address, "device_id": device, "error": describe(err)})
            continue
        results.append(summary.as_dict())
    return results, replica.applied
