"""Sync glue over the local store: the agent's Replica, enrolment, local blobs.

``core.sync`` knows the protocol and ``core.storage`` the store; this module joins them
(the layers keep them apart). The desktop builds its agent with :func:`agent_for`:

    agent = agent_for(branch)
    agent.sync_once(progress_callback)   # or agent.start() for the background loop
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import rfc8785
from sqlalchemy import Connection, select

from core.domain.codes import CodeSpace
from core.domain.errors import N_, ValidationError
from core.domain.events import Event
from core.domain.signing import verify_signature
from core.domain.timeutil import iso, to_vietnam
from core.i18n import describe
from core.storage import event_store, quarantine, replication
from core.storage import meta as store_meta
from core.storage import schema as t
from core.sync import blobs as blob_io
from core.sync import sealed
from core.sync.agent import TRANSFERS_SCOPE, IngestSummary, LocalBlob, SyncAgent
from core.sync.applied import CALENDAR, CATALOGUE, USERS, Applied, LanRound, reference_kinds
from core.sync.client import Credentials, SyncClient, normal_url
from core.sync.errors import NotEnrolled, ProtocolError
from core.sync.wire import ENROL_CODE_LENGTH, EnrolRequest, TransferItem

from . import catalogue, transfers
from .branch import Branch, set_meta
from .changes import Changes

CATALOGUE_PUBLISHED = "catalogue.published"
BLOBS_DIR = "blobs"
_DEFER_MAX = 50_000  # events a pull holds in memory before folding what it has
_DEFER_S = 5.0  # and how long screens may wait for a long pull's dossiers


def _now_ms() -> int:
    return int(time.time() * 1000)


def meta(branch: Branch, name: str, default: str = "") -> str:
    with branch.store.read() as conn:
        value = store_meta.get(conn, name)
    return value if value is not None else default


class LocalReplica:
    """The agent's view of this desktop's store (see ``core.sync.agent.Replica``)."""

    def __init__(self, branch: Branch) -> None:
        self.b = branch
        self.device_id = branch.device_id
        self.branch = branch.branch_code
        self.blob_root = branch.data_dir / BLOBS_DIR
        # During a pull: the events appended per dossier, folded once at its end.
        self._deferred: dict[str, list[Event]] | None = None
        self._deferred_count = 0
        self._deferred_since = 0.0

    @contextmanager
    def pulling(self) -> Iterator[None]:
        """One pull: its pages are logged as they come, and each dossier they touch is
        folded once, at the end — or once ``_DEFER_MAX`` events or ``_DEFER_S`` seconds
        are pending, to bound memory and how stale the screens get. A crash before that
        leaves the dossiers marked stale; opening the store refolds them."""
        with self.b.store.read() as conn:
            stale = replication.has_stale(conn)
        if stale:  # an earlier pull could not fold: refold its dossiers from the log first
            self.b.store.write(lambda conn: replication.settle(conn, {}))
        self._deferred, self._deferred_count = {}, 0
        self._deferred_since = time.monotonic()
        try:
            yield
        except BaseException:
            with suppress(Exception):  # the pull's error is the one raised; if this fails
                self._settle()  # too, the stale marks remain for the next open
            raise
        else:
            self._settle()
        finally:
            self._deferred = None

    def _settle(self) -> None:
        deferred = self._deferred or {}
        self.b.store.write(lambda conn: replication.settle(conn, deferred))
        if self._deferred is not None:
            self._deferred.clear()
        self._deferred_count = 0
        self._deferred_since = time.monotonic()

    # --- events ------------------------------------------------------------------------
    def scopes(self) -> Sequence[str]:
        return ["*", self.branch]

    def cursor(self, scope: str) -> int:
        with self.b.store.read() as conn:
            return replication.cursor(conn, scope)

    def events_above(self, vector: dict[str, int], limit: int) -> list[Event]:
        with self.b.store.read() as conn:
            return replication.events_above(conn, vector, limit, branch=self.branch)

    def receive_transfers(
        self, items: Sequence[TransferItem], cursor: int
    ) -> tuple[int, list[str]]:
        """Other units' offers and replies, checked and kept with the cursor, at once."""
        received_at = iso(to_vietnam(self.b.clock()))

        def work(conn: Connection) -> transfers.Arrival:
            arrival = transfers.keep_messages(conn, self.b.branch_code, items, received_at)
            replication.set_cursor(conn, TRANSFERS_SCOPE, cursor)
            return arrival

        arrival = self.b.store.write(work)
        return arrival.kept, [f"{event_id}: {why}" for event_id, why in arrival.refused]

    def ingest(
        self,
        scope: str,
        events: Sequence[Event],
        cursor: int | None,
        *,
        from_peer: bool = False,
    ) -> IngestSummary:
        """Check and apply events (a pulled page, or a LAN peer's: `from_peer`); save the
        scope's cursor in the same transaction when one is given."""

        deferred = self._deferred

        def work(conn: Connection) -> replication.IngestResult:
            result = replication.ingest(
                conn, events, _now_ms(), defer=deferred is not None, from_peer=from_peer
            )
            for event in result.accepted:
                _after_ingest(conn, event)
            if cursor is not None:
                replication.set_cursor(conn, scope, cursor)
            return result

        result = self.b.store.write(work)
        if deferred is not None:  # committed: these are now the pull's to fold
            for event in result.accepted:
                if event.dossier_id is not None:
                    deferred.setdefault(event.dossier_id, []).append(event)
            self._deferred_count += len(result.accepted)
            overdue = time.monotonic() - self._deferred_since >= _DEFER_S
            if self._deferred_count >= _DEFER_MAX or overdue:
                self._settle()
        if result.accepted:
            self.b._catalogue = None
            self.b._calendar = None
        taken = len(result.accepted) + len(result.quarantined)  # both are logged
        held, refused = len(result.quarantined), len(result.refused)
        kinds = reference_kinds(e.type for e in result.accepted if e.dossier_id is None)
        return IngestSummary(
            taken,
            result.duplicates,
            frozenset(result.dossiers),
            held,
            refused,
            kinds,
            diverged=frozenset(result.diverged),
        )

    def server_vector(self) -> dict[str, int]:
        return dict(json.loads(meta(self.b, "sync_server_vector", "{}")))

    def note_server_vector(self, vector: dict[str, int]) -> None:
        self.b.store.write(
            lambda conn: set_meta(conn, "sync_server_vector", json.dumps(vector, sort_keys=True))
        )

    def pending_event_count(self) -> int:
        server = self.server_vector()
        with self.b.store.read() as conn:
            mine = replication.vector(conn)
            rows = conn.execute(select(t.devices.c.device_id, t.devices.c.branch))
            ours = {r.device_id for r in rows if r.branch == self.branch}
            ours -= replication.diverged_origins(conn)
        ours.add(self.device_id)
        return sum(max(0, seq - server.get(o, 0)) for o, seq in mine.items() if o in ours)

    def set_aside(self, origin: str, seq: int) -> None:
        """The server refused `origin`'s events relayed from here as another chain than its
        own: set that origin aside, and keep what is held under `seq` as the proof."""

        def work(conn: Connection) -> None:
            replication.set_aside(conn, {origin: replication.event_at(conn, origin, seq)})

        self.b.store.write(work)

    def device_keys(self) -> dict[str, str]:
        with self.b.store.read() as conn:
            return replication.device_keys(conn)

    def fork_evidence(self) -> list[tuple[Event, list[Event] | None]]:
        keys = self.device_keys()
        with self.b.store.read() as conn:
            held = replication.fork_evidence(conn)
            return [
                (event, replication.proof_of(conn, event, keys.get(event.origin_device, "")))
                for event in held
            ]

    def evidence_given(self, ids: Sequence[str]) -> None:
        self.b.store.write(lambda conn: replication.evidence_given(conn, ids))

    # --- blobs ---------------------------------------------------------------------------
    def pending_blobs(self) -> list[LocalBlob]:
        with self.b.store.read() as conn:
            rows = replication.pending_blobs(conn)
        root = self.blob_root
        return [LocalBlob(sha, n, blob_io.blob_path(root, sha), marks) for sha, n, marks in rows]

    def mark_durable(self, hashes: Sequence[str]) -> None:
        self.b.store.write(
            lambda conn: replication.mark_blobs(conn, hashes, durable=True, marks=None)
        )

    def wanted_blobs(self) -> list[str]:
        with self.b.store.read() as conn:
            return replication.wanted_blobs(conn)

    def partial_blob(self, sha256: str) -> Path:
        return blob_io.partial_path(self.blob_root, sha256)

    def complete_blob(
        self, sha256: str, *, durable: bool = True, digest: str | None = None
    ) -> None:
        """Check a downloaded blob's SHA-256, then make it visible; a mismatch discards it.
        From the centre it is durable; from a LAN peer (`durable` false) this desk offers
        it to the centre too, in case its author's desk never reaches it. `digest`: the
        SHA-256 of every byte written to the partial file, taken as they were written."""
        partial = self.partial_blob(sha256)
        if (digest or blob_io.file_sha256(partial)) != sha256:
            partial.unlink(missing_ok=True)
            raise ProtocolError(
                N_("A downloaded blob does not match its SHA-256 and was discarded: {sha}"),
                sha=sha256[:12],
            )
        final = blob_io.blob_path(self.blob_root, sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, final)
        size = sealed.size(final)  # a wanted blob's row did not know it (an upload will)
        self.b.store.write(
            lambda conn: replication.mark_blobs(
                conn, [sha256], present=True, durable=durable, size=size
            )
        )

    def add_blob(self, source: Path) -> str:
        """Keep a file (a scan, a result) as a content-addressed blob; returns its SHA-256."""
        sha256, marks = blob_io.file_marks(source)
        final = blob_io.blob_path(self.blob_root, sha256)
        # Kept already, unless damaged: storing the same file again repairs it.
        if not final.exists() or blob_io.file_sha256(final) != sha256:
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = final.with_suffix(".tmp")
            sealed.copy_in(source, tmp)  # sealed when this desk's store is encrypted
            os.replace(tmp, final)
        size = sealed.size(final)
        self.b.store.write(
            lambda conn: replication.add_blob(
                conn, sha256, size, present=True, durable=False, marks=marks
            )
        )
        return sha256


def _after_ingest(conn: Connection, event: Event) -> None:
    """Reference data that lives outside the projections, and blobs to fetch. A catalogue
    that cannot be parsed is quarantined: the one in force stays, the sync goes on."""
    if event.type == CATALOGUE_PUBLISHED:
        try:
            procedures = catalogue.parse_catalogue(dict(event.payload))
        except ValidationError as err:
            quarantine.record(conn, event, "catalogue-entry", err)
        else:
            catalogue.store_procedures(conn, procedures)
    for sha256 in blob_io.referenced_blobs(event.payload):
        replication.add_blob(conn, sha256, 0, present=False, durable=True)


# --- enrolment --------------------------------------------------------------------------------


def enroll(branch: Branch, server_url: str, code: str, label: str = "") -> dict[str, Any]:
    """Bind this desktop to its branch on the server; store the server and the number blocks."""
    client = SyncClient(server_url)
    code = code.strip()
    shortest, longest = ENROL_CODE_LENGTH  # what the request takes, refused here in words
    if not shortest <= len(code) <= longest:
        raise ValidationError(
            N_("An enrolment code has 4 to 64 characters: check the one the centre gave")
        )
    admin_username, admin_key = _first_admin(branch)
    request = EnrolRequest(
        code=code,
        device_id=branch.device_id,
        public_key=branch.key.public_b64,
        branch=branch.branch_code,
        label=label[:200],
        admin_username=admin_username,
        admin_key=admin_key,
    )
    answer = client.enrol(request)
    record = answer.device
    signed = rfc8785.dumps(record.model_dump())
    if not verify_signature(answer.server_public_key, answer.signature, signed) or (
        record.public_key != branch.key.public_b64 or record.device_id != branch.device_id
    ):
        raise ProtocolError(N_("The server's enrolment answer is not signed for this desktop"))
    settings = {
        "sync_server_url": client.base_url,
        "server_public_key": answer.server_public_key,
        "code_blocks": json.dumps(record.code_blocks),
        "block_width": str(record.block_width),
        "enrolled_at": record.enrolled_at,
    }

    def work(conn: Connection) -> None:
        for name, value in settings.items():
            set_meta(conn, name, value)
        for origin in answer.server_origins:
            scope = origin.partition(":")[2]
            replication.add_device(conn, origin, scope, answer.server_public_key, "central")

    branch.store.write(work)
    branch.codespace = CodeSpace(branch.branch_code, tuple(record.code_blocks), record.block_width)
    return {
        "device_id": record.device_id,
        "branch": record.branch,
        "server": settings["sync_server_url"],
        "code_blocks": record.code_blocks,
    }


def _first_admin(branch: Branch) -> tuple[str | None, str | None]:
    """The admin this desk's ``init`` created (its first event), for the centre to vouch
    for; none for a store made before users had keys."""
    with branch.store.read() as conn:
        first = next(iter(event_store.chain(conn, branch.device_id)), None)
    if first is None or first.type != "user.added" or "public_key" not in first.payload:
        return None, None
    return str(first.payload["username"]), str(first.payload["public_key"])


def server_url(branch: Branch, override: str | None = None) -> str:
    url = override or meta(branch, "sync_server_url")
    if not url:
        raise NotEnrolled()
    return normal_url(url)


def agent_for(
    branch: Branch, url: str | None = None, *, lan: bool = False, **client_options: Any
) -> SyncAgent:
    """The sync agent of this desktop (raises NotEnrolled before enrolment); with `lan`,
    its background loop also exchanges with the branch's LAN peers, above all while the
    server cannot be reached."""
    target = server_url(branch, url)
    if not meta(branch, "server_public_key"):
        raise NotEnrolled()
    client = SyncClient(target, Credentials(branch.device_id, branch.key), **client_options)
    exchange = _lan_exchange(branch) if lan else None
    agent = SyncAgent(LocalReplica(branch), client, describe=describe, lan=exchange)
    agent.refresh_pending()
    return agent


def _lan_exchange(branch: Branch) -> Callable[[Callable[[], bool]], LanRound]:
    def exchange(stop: Callable[[], bool]) -> LanRound:
        from .peers import peer_round  # peers builds on this module

        # LAN peers answer fast or not at all: short timeouts keep the loop responsive.
        results, applied = peer_round(branch, stop=stop, timeout=(2.0, 15.0))
        answered = tuple(str(r["peer"]) for r in results if "error" not in r)
        return LanRound(answered, applied)

    return exchange


def received(applied: Applied) -> Changes:
    """What a pull or a LAN exchange changed, as the record a local operation returns
    (``received`` instead of ``events_added``: those events need not go up again now)."""
    return Changes(
        dossiers=applied.dossiers,
        users=USERS in applied.reference,
        calendar=CALENDAR in applied.reference,
        catalogue=CATALOGUE in applied.reference,
        received=applied.events,
        scans=applied.blobs,
        transfers=applied.transfers,
    )


def require_file(path: Path) -> Path:
    if not path.is_file():
        raise ValidationError(N_("File not found: {path}"), path=str(path))
    return path
