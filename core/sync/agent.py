"""The desktop sync agent: push, pull, apply, then blobs — on demand or in the background.

The agent knows the protocol, not the store: it talks to a :class:`Replica` (implemented
by ``core.services.sync`` over the local store). Every step is idempotent and its
progress lives in the store, so a crash or a cut between any two steps is resumed by the
next run exactly where it stopped:

1. exchange vectors with the server (what does it hold of my branch?);
2. push every local event above its vector, oldest first, in batches;
3. pull each scope from the stored cursor; each page is applied and the cursor saved in
   one transaction;
4. upload blobs the server lacks (oldest first, resuming at the byte the server has),
   then download blobs this desktop lacks (resuming from the partial file).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from core.collections_pause import fewer_collections
from core.domain.errors import N_, MotcuaError
from core.domain.events import Event

from . import sealed
from .applied import Applied, LanRound
from .client import FileSlice, MarkedCutter, PrefixHasher, SyncClient
from .errors import LocalFileShort, ProtocolError, ServerRefused, SyncError, Unreachable
from .wire import CHUNK_SIZE, MAX_CHUNK, MIN_CHUNK, TransferItem

log = logging.getLogger(__name__)

PUSH_BATCH = 2000
PULL_PAGE = 2000


@dataclass(frozen=True)
class LocalBlob:
    sha256: str
    size: int
    path: Path
    marks: bytes = b""  # prefix marks taken when stored (``blobs.file_marks``), if any


@dataclass(frozen=True)
class IngestSummary:
    accepted: int = 0  # new events logged (``quarantined`` of them not applied)
    duplicates: int = 0
    dossiers: frozenset[str] = frozenset()
    quarantined: int = 0  # refused by the authority table: logged, never applied
    refused: int = 0  # from a LAN peer, refused by the table: not taken (nor what follows)
    reference: frozenset[str] = frozenset()  # kinds of reference data changed (``applied``)
    # Origins set aside by this page: their chain elsewhere left the one held here (the
    # proofs wait in the store: ``Replica.fork_evidence``).
    diverged: frozenset[str] = frozenset()

    def applied(self) -> Applied:
        """What this page changed here, for the screens (quarantined events change nothing)."""
        return Applied(self.accepted - self.quarantined, self.dossiers, self.reference)


TRANSFERS_SCOPE = "transfers"  # the cursor of other units' messages (not an event scope)


class Replica(Protocol):
    """What the agent needs of the local store (see ``core.services.sync.LocalReplica``)."""

    device_id: str
    branch: str

    def scopes(self) -> Sequence[str]: ...

    def cursor(self, scope: str) -> int: ...

    def events_above(self, vector: dict[str, int], limit: int) -> list[Event]: ...

    def ingest(self, scope: str, events: Sequence[Event], cursor: int | None) -> IngestSummary: ...

    def pulling(self) -> AbstractContextManager[None]:
        """Around the pages of one pull (the replica may keep what it decoded)."""
        ...

    def pending_event_count(self) -> int: ...

    def set_aside(self, origin: str, seq: int) -> None: ...

    def device_keys(self) -> dict[str, str]: ...

    def fork_evidence(self) -> list[tuple[Event, list[Event] | None]]:
        """The held events that prove a fork, each with its proof: the event and those
        after it up to one its origin signed (None when nothing held here proves it)."""
        ...

    def evidence_given(self, ids: Sequence[str]) -> None: ...

    def note_server_vector(self, vector: dict[str, int]) -> None: ...

    def pending_blobs(self) -> list[LocalBlob]: ...

    def mark_durable(self, hashes: Sequence[str]) -> None: ...

    def wanted_blobs(self) -> list[str]: ...

    def partial_blob(self, sha256: str) -> Path: ...

    def complete_blob(self, sha256: str) -> None: ...

    def receive_transfers(
        self, items: Sequence[TransferItem], cursor: int
    ) -> tuple[int, list[str]]:
        """Check and keep other units' offers and replies; save the cursor with them.
        Returns how many were kept and each refused one, named."""
        ...


@dataclass(frozen=True)
class Progress:
    """One report for the UI: ``phase`` is push, pull, upload or download."""

    phase: str
    done: int
    total: int
    unit: str  # "events" or "bytes"


ProgressCallback = Callable[[Progress], None]
# Refusals that concern one blob (its size, its offset, its bytes), not the sync.
_BLOB_OWN_REFUSALS = (400, 409, 413, 416, 422)


@dataclass(frozen=True)
class SyncSummary:
    pushed: int = 0
    push_duplicates: int = 0
    pulled: int = 0
    applied: int = 0
    blobs_up: int = 0
    blobs_down: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    dossiers: frozenset[str] = frozenset()
    damaged: tuple[str, ...] = ()  # local blobs whose file is missing, short or altered
    refused: tuple[str, ...] = ()  # blobs the server refused, each on its own (named)
    quarantined: int = 0  # pulled events the authority table refused (``motcua quarantine``)
    transfers: int = 0  # offers and replies other units sent this branch, kept
    transfers_refused: tuple[str, ...] = ()  # those that did not check out, each named

    def as_dict(self) -> dict[str, object]:
        return {
            "pushed": self.pushed,
            "push_duplicates": self.push_duplicates,
            "pulled": self.pulled,
            "applied": self.applied,
            "quarantined": self.quarantined,
            "transfers": self.transfers,
            "blobs_up": self.blobs_up,
            "blobs_down": self.blobs_down,
            "bytes_up": self.bytes_up,
            "bytes_down": self.bytes_down,
            "dossiers_changed": len(self.dossiers),
        }


@dataclass(frozen=True)
class SyncStatus:
    """What the UI shows: read with ``SyncAgent.status()`` from any thread."""

    last_sync: str = ""
    last_attempt: str = ""
    pending_events: int = 0
    pending_blobs: int = 0
    last_error: str = ""
    online: bool = False
    running: bool = False
    peers: tuple[str, ...] = ()
    last_summary: dict[str, object] = field(default_factory=dict)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _ignore(_progress: Progress) -> None:
    return None


# One exchange with every LAN peer (``core.services.peers.peer_round``), asking the given
# callable before each whether to stop; returns the addresses that answered and what they
# brought. Injected: the protocol layer does not know the services.
LanExchange = Callable[[Callable[[], bool]], LanRound]
AppliedListener = Callable[[Applied], None]


class SyncAgent:
    def __init__(
        self,
        replica: Replica,
        client: SyncClient,
        *,
        describe: Callable[[MotcuaError], str] = str,
        lan: LanExchange | None = None,
    ) -> None:
        self.replica = replica
        self.client = client
        self.describe = describe
        self.lan = lan
        # The size of the next blob chunk, adapted to the link (``next_chunk_size``), and
        # the most the server takes (MAX_CHUNK unless it refused less).
        self.chunk_size = CHUNK_SIZE
        self.chunk_limit = MAX_CHUNK
        self._lan_at: float | None = None
        self._status = SyncStatus()
        self._lock = threading.Lock()  # one sync at a time
        self._state_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listeners: list[Callable[[SyncSummary], None]] = []
        # Told what each exchange (centre or LAN) changed here, from the agent's thread,
        # also when the exchange failed after applying part of it: screens refresh from it.
        self.on_applied: list[AppliedListener] = []
        self._applied = Applied()  # of the exchange under way

    # --- status ------------------------------------------------------------------------
    def status(self) -> SyncStatus:
        with self._state_lock:
            return self._status

    def _update(self, **changes: object) -> None:
        with self._state_lock:
            self._status = replace(self._status, **changes)  # type: ignore[arg-type]

    def refresh_pending(self) -> None:
        self._update(
            pending_events=self.replica.pending_event_count(),
            pending_blobs=len(self.replica.pending_blobs()),
        )

    # --- one exchange ------------------------------------------------------------------
    def sync_once(self, progress_callback: ProgressCallback | None = None) -> SyncSummary:
        """Push, pull, apply, then blobs. Raises SyncError; the status records it."""
        report = progress_callback or _ignore
        with self._lock:
            self._applied = Applied()
            try:
                summary = self._recorded_exchange(report)
            finally:
                self._tell(self._applied)
        for listener in self.listeners:
            listener(summary)
        return summary

    def _recorded_exchange(self, report: ProgressCallback) -> SyncSummary:
        self._update(running=True, last_attempt=_now_iso())
        try:
            summary = self._exchange(report)
        except SyncError as err:
            online = not isinstance(err, Unreachable)
            self._update(running=False, online=online, last_error=self.describe(err))
            raise
        except MotcuaError as err:
            self._update(running=False, last_error=self.describe(err))
            raise
        self._update(
            running=False,
            online=True,
            last_error="",
            last_sync=_now_iso(),
            last_summary=summary.as_dict(),
        )
        self.refresh_pending()
        return summary

    def _tell(self, applied: Applied) -> None:
        """The on_applied listeners, when something changed; one failing listener (a
        screen's bug) must not stop the sync loop nor hide the others."""
        if not applied:
            return
        for listener in self.on_applied:
            try:
                listener(applied)
            except Exception:
                log.exception("a listener of applied changes failed")

    def _exchange(self, report: ProgressCallback) -> SyncSummary:
        summary = self.push(report)
        summary = self.pull(report, summary)
        summary = self.pull_transfers(summary)
        summary = self.upload_blobs(report, summary)
        summary = self.download_blobs(report, summary)
        if summary.damaged:  # after the downloads: one bad local file must not stop them
            raise ProtocolError(
                N_("Scans damaged on this desktop could not be sent: {files}"),
                files=", ".join(summary.damaged),
            )
        if summary.transfers_refused:
            raise ProtocolError(
                N_("Messages from other units did not check out and were not kept: {items}"),
                items="; ".join(summary.transfers_refused),
            )
        if summary.refused:
            raise ProtocolError(
                N_("The server refused scans of this desktop, the others were sent: {files}"),
                files=", ".join(summary.refused),
            )
        return summary

    def push(self, report: ProgressCallback = _ignore) -> SyncSummary:
        server = self.client.exchange(self.replica.branch, {}).vector
        self.replica.note_server_vector(server)
        total = self.replica.pending_event_count()
        pushed = duplicates = 0
        self._give_fork_evidence()
        while True:
            batch = self.replica.events_above(server, PUSH_BATCH)
            if not batch:
                break
            try:
                answer = self.client.push(batch)
            except ServerRefused as err:
                if not self._relayed_fork(err, {e.origin_device for e in batch}, server):
                    raise
                continue  # that origin is set aside now: the rest of the batch goes again
            pushed += answer.accepted
            duplicates += answer.duplicates
            for event in batch:
                server[event.origin_device] = max(
                    server.get(event.origin_device, 0), event.origin_seq
                )
            self.replica.note_server_vector(server)
            report(Progress("push", pushed + duplicates, max(total, pushed + duplicates), "events"))
        return SyncSummary(pushed=pushed, push_duplicates=duplicates)

    def pull(self, report: ProgressCallback, summary: SyncSummary) -> SyncSummary:
        with fewer_collections(), self.replica.pulling():
            return self._pull(report, summary)

    def _pull(self, report: ProgressCallback, summary: SyncSummary) -> SyncSummary:
        pulled = applied = held = 0
        dossiers: set[str] = set(summary.dossiers)
        # The next page is asked for (and its JSON checked) while this one is applied: the
        # server's and the link's time overlap the local checks and writes. Each page is
        # still applied, and its cursor saved, in order; if applying one fails, the page
        # fetched ahead is dropped with the pull.
        with ThreadPoolExecutor(1, thread_name_prefix="pull-ahead") as fetcher:
            for scope in self.replica.scopes():
                start = cursor = self.replica.cursor(scope)
                ahead = fetcher.submit(self.client.pull, scope, cursor, PULL_PAGE)
                while True:
                    page = ahead.result()
                    if page.next < cursor:
                        raise ProtocolError(N_("The server moved the pull cursor backwards"))
                    if page.more:
                        ahead = fetcher.submit(self.client.pull, scope, page.next, PULL_PAGE)
                    events = [e.to_event() for e in page.events]
                    result = self.replica.ingest(scope, events, page.next)
                    if result.diverged:
                        self._report_fork(result)
                    pulled += len(events)
                    applied += result.accepted - result.quarantined
                    held += result.quarantined
                    dossiers |= result.dossiers
                    self._applied |= result.applied()
                    cursor = page.next
                    report(Progress("pull", cursor - start, max(page.head - start, 1), "events"))
                    if not page.more:
                        break
        return replace(
            summary, pulled=pulled, applied=applied, quarantined=held, dossiers=frozenset(dossiers)
        )

    def _report_fork(self, result: IngestSummary) -> None:
        """A device forked its chain: it gave this desk (over the LAN) other events than it
        gave the server. Its events are set aside here, the rest of the pull goes on, and
        the events held here go to the server, which checks their signature and flags
        that device (``_give_fork_evidence``)."""
        log.warning(
            "the chain of %s at the server leaves the one held here: its events are set aside",
            ", ".join(sorted(result.diverged)),
        )
        self._give_fork_evidence()

    def _relayed_fork(self, err: ServerRefused, origins: set[str], server: dict[str, int]) -> bool:
        """Whether the server refused a relayed origin's events as another chain than its
        own (the origin forked between the LAN and the server): that origin is then set
        aside here, with what is held under the server's last sequence as the proof."""
        origin = str(err.problem.get("origin_device") or "")
        kinds = ("broken-chain", "equivocation", "gap")
        if err.status != 409 or err.problem.get("title") not in kinds:
            return False
        if origin not in origins or origin == self.replica.device_id:
            return False
        log.warning("the server holds another chain of %s: its events are set aside", origin)
        self.replica.set_aside(origin, server.get(origin, 0))
        self._give_fork_evidence()
        return True

    def _give_fork_evidence(self) -> None:
        """Give the server the held events that prove a fork, each with the events after it
        up to one its origin signed; the server verifies that signature and the chain to it,
        and flags the device (409 equivocation is the answer expected). An event nothing
        here proves is not sent: the server would log its desk for a bad signature."""
        evidence = self.replica.fork_evidence()
        for event, proof in evidence:
            if proof is None:
                log.warning(
                    "a forked chain of %s cannot be proved to the server", event.origin_device
                )
                continue
            try:
                self.client.push(proof)
            except ServerRefused as err:
                if err.status != 409:
                    log.warning("the server refused the proof of a forked chain: %s", err)
            except SyncError as err:
                log.warning("the proof of a forked chain was not delivered: %s", err)
                return  # kept: given at the next sync
        self.replica.evidence_given([event.event_id for event, _proof in evidence])

    def pull_transfers(self, summary: SyncSummary) -> SyncSummary:
        """The offers and replies other units sent this branch (``core.domain.transfers``);
        a server without them (an older one) answers 404 and nothing is asked."""
        cursor = self.replica.cursor(TRANSFERS_SCOPE)
        kept = 0
        refused: list[str] = []
        while True:
            try:
                page = self.client.transfers(cursor)
            except ServerRefused as err:
                if err.status == 404:
                    break
                raise
            if page.next < cursor:
                raise ProtocolError(N_("The server moved the pull cursor backwards"))
            got, named = self.replica.receive_transfers(page.items, page.next)
            kept, refused, cursor = kept + got, refused + named, page.next
            self._applied |= Applied(transfers=got)
            if not page.more:
                break
        return replace(summary, transfers=kept, transfers_refused=tuple(refused))

    # --- blobs -----------------------------------------------------------------------------
    def upload_blobs(self, report: ProgressCallback, summary: SyncSummary) -> SyncSummary:
        pending = self.replica.pending_blobs()
        if not pending:
            return summary
        missing: set[str] = set()
        for start in range(0, len(pending), 1000):
            missing |= set(self.client.missing([b.sha256 for b in pending[start : start + 1000]]))
        self.replica.mark_durable([b.sha256 for b in pending if b.sha256 not in missing])
        todo = [b for b in pending if b.sha256 in missing]
        total = sum(b.size for b in todo)
        sent = uploaded = 0
        damaged: list[str] = []
        refused: list[str] = []
        for blob in todo:
            if not _whole(blob):
                # Missing or cut short on this disk: named like a damaged file below,
                # and the others still go up.
                log.error("local blob %s is missing or not %d bytes", blob.sha256, blob.size)
                damaged.append(blob.sha256[:12])
                continue
            try:
                sent += self._upload_resuming(blob, report, sent, total)
            except LocalFileShort:
                log.error("local blob %s was cut short while it was sent", blob.sha256)
                damaged.append(blob.sha256[:12])
                continue
            except ServerRefused as err:
                if err.problem.get("title") == "hash-mismatch":
                    # The file here is not what its name says (a damaged disk): the others
                    # still go up; the desk is told which one, every sync, until it is fixed.
                    log.error("local blob %s does not match its SHA-256", blob.sha256)
                    damaged.append(blob.sha256[:12])
                    continue
                if err.status not in _BLOB_OWN_REFUSALS:
                    raise  # the server, the device or the link: the whole sync stops
                # This blob alone (a size the server will not take, an upload it cannot
                # resume): named, and the others still go up.
                log.error("the server refused blob %s: %s", blob.sha256, err.problem)
                refused.append(f"{blob.sha256[:12]} ({err.problem.get('title', err.status)})")
                continue
            self.replica.mark_durable([blob.sha256])
            uploaded += 1
        return replace(
            summary,
            blobs_up=uploaded,
            bytes_up=sent,
            damaged=tuple(damaged),
            refused=tuple(refused),
        )

    def _upload_resuming(
        self, blob: LocalBlob, report: ProgressCallback, before: int, total: int
    ) -> int:
        """Upload; when the server holds another offset (a retried chunk, a chunk it found
        altered, an upload it discarded), resume from the offset it names."""
        sent = 0
        marked = True
        for _attempt in range(3):
            try:
                return sent + self._upload(blob, report, before + sent, total, marked)
            except ServerRefused as err:
                if _too_large(err):  # the ceiling was lowered: resume from the offset
                    continue
                if err.status not in (409, 422) or "received" not in err.problem:
                    raise
                # A refused chunk may mean the file changed since its marks were taken:
                # the retry hashes the file itself (a damaged one is then named).
                marked = marked and err.problem.get("title") != "chunk-mismatch"
        return sent + self._upload(blob, report, before + sent, total, marked)

    def _upload(
        self, blob: LocalBlob, report: ProgressCallback, before: int, total: int, marked: bool
    ) -> int:
        status = self.client.blob_status(blob.sha256, blob.size)
        if status.complete:
            return 0
        if blob.size == 0:  # nothing to cut: one empty chunk opens the upload
            self.client.upload_chunk(blob.sha256, 0, FileSlice(blob.path, 0, 0, blob.sha256))
            sent = 0
        else:
            sent = self._send_chunks(blob, status.received, report, before, total, marked)
        self.client.commit_blob(blob.sha256, blob.size)
        return sent

    def _send_chunks(
        self,
        blob: LocalBlob,
        start: int,
        report: ProgressCallback,
        before: int,
        total: int,
        marked: bool,
    ) -> int:
        """Each chunk streams from the file. Its prefix hash (which the request signature
        covers) comes from the blob's marks, or else is computed for the next chunk while
        the current one is on the wire. The chunk size adapts and is kept for the next
        blob (the link does not change between files); a short last chunk can shrink it
        but not grow it (a small scan says little of a link)."""
        sent = 0
        with ThreadPoolExecutor(1) as hasher:
            cutter = hasher.submit(self._cutter, blob, start, marked).result()
            asked = self.chunk_size
            ahead = hasher.submit(cutter.next_slice, asked)
            while (piece := ahead.result()).length:
                this_asked, asked = asked, self.chunk_size
                ahead = hasher.submit(cutter.next_slice, asked)
                started = time.monotonic()
                try:
                    self.client.upload_chunk(blob.sha256, blob.size, piece)
                except ServerRefused as err:
                    if _too_large(err):
                        # A server (an older one) or a proxy with a smaller limit: chunks
                        # stay under it from now on, in this session.
                        self._lower_chunk_limit(err.problem.get("limit"), piece.length)
                    raise
                adapted = next_chunk_size(self.chunk_size, time.monotonic() - started)
                if adapted <= self.chunk_size or piece.length == this_asked:
                    self.chunk_size = min(adapted, self.chunk_limit)
                sent += piece.length
                report(Progress("upload", before + sent, total, "bytes"))
        return sent

    def _lower_chunk_limit(self, limit: object, refused: int) -> None:
        """The server refused a chunk of `refused` bytes as too large: the chunk ceiling
        becomes its `limit` when it names one, else half the refused chunk — rounded
        down to a power of two, so chunks stay whole MiBs."""
        if isinstance(limit, int) and not isinstance(limit, bool) and limit >= MIN_CHUNK:
            ceiling = limit
        else:
            ceiling = refused // 2
        ceiling = 1 << (max(ceiling, MIN_CHUNK).bit_length() - 1)
        self.chunk_limit = max(MIN_CHUNK, min(self.chunk_limit, ceiling))
        self.chunk_size = min(self.chunk_size, self.chunk_limit)

    @staticmethod
    def _cutter(blob: LocalBlob, start: int, marked: bool) -> MarkedCutter | PrefixHasher:
        if marked and MarkedCutter.fits(blob.size, blob.marks, start):
            return MarkedCutter(blob.path, blob.sha256, blob.size, blob.marks, start)
        return PrefixHasher(blob.path, start)

    def download_blobs(self, report: ProgressCallback, summary: SyncSummary) -> SyncSummary:
        wanted = self.replica.wanted_blobs()
        received = fetched = 0
        for sha256 in wanted:
            try:
                received += self._download(sha256, report, received)
            except ServerRefused as err:
                if err.status == 404:  # not uploaded yet by its author: next time
                    continue
                raise
            fetched += 1
            self._applied |= Applied(blobs=frozenset({sha256}))
        return replace(summary, blobs_down=fetched, bytes_down=received)

    def _download(self, sha256: str, report: ProgressCallback, before: int) -> int:
        partial = self.replica.partial_blob(sha256)
        partial.parent.mkdir(parents=True, exist_ok=True)
        offset = sealed.size(partial) if partial.exists() else 0
        got = 0
        try:
            with sealed.open_append(partial) as handle:
                for data in self.client.download(sha256, offset, CHUNK_SIZE):
                    handle.write(data)
                    got += len(data)
                    report(Progress("download", before + got, 0, "bytes"))
                handle.flush()
        except ServerRefused as err:
            # 416: nothing past `offset` — a cut after the last byte, before the check.
            if err.status != 416 or offset == 0:
                raise
        self.replica.complete_blob(sha256)  # the SHA-256 check; a mismatch discards it
        return got

    # --- background ------------------------------------------------------------------------
    def start(self, interval_s: float = 60.0, probe_s: float = 5.0) -> None:
        """Sync every `interval_s`, and as soon as the server answers again after a cut."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, args=(interval_s, probe_s), name="motcua-sync", daemon=True
        )
        self._thread.start()

    def trigger(self) -> None:
        """Ask the background loop to sync now (e.g. after a local change)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def sync_lan(self) -> tuple[str, ...]:
        """One exchange with the LAN peers (when the agent has a LAN hook); the status
        lists those that answered. Failures are logged: the LAN is a bonus path."""
        if self.lan is None or self._stop.is_set():
            return ()
        try:
            lan_round = self.lan(self._stop.is_set)
        except Exception:
            log.exception("LAN exchange failed")
            lan_round = LanRound()
        self._lan_at = time.monotonic()
        self._update(peers=lan_round.answered)
        self._tell(lan_round.applied)
        return lan_round.answered

    def _lan_due(self, interval_s: float) -> bool:
        return self.lan is not None and (
            self._lan_at is None or time.monotonic() - self._lan_at >= interval_s
        )

    def _loop(self, interval_s: float, probe_s: float) -> None:
        while not self._stop.is_set():
            try:
                self.sync_once()
                wait = interval_s
            except Unreachable:
                self._wait_for_connectivity(interval_s, probe_s)
                continue
            except MotcuaError:
                wait = interval_s
            if self._lan_due(interval_s) and not self._stop.is_set():
                self.sync_lan()
            self._wake.wait(wait)
            self._wake.clear()

    def _wait_for_connectivity(self, interval_s: float, probe_s: float) -> None:
        """Probe the server cheaply until it answers; then the loop syncs at once. In the
        meantime the desktops of the branch keep exchanging over the LAN."""
        while not self._stop.is_set():
            if self._lan_due(interval_s):
                self.sync_lan()
            try:
                self.client.health()
            except SyncError:
                if self._wake.wait(probe_s):
                    self._wake.clear()
                continue
            self._update(online=True)
            return


def _too_large(err: ServerRefused) -> bool:
    """A chunk refused for its size (``chunk-too-large``, or a bare 413 from an older
    server's or a proxy's body limit) — not one past the blob's declared end."""
    return err.status == 413 and err.problem.get("title") != "beyond-size"


def _whole(blob: LocalBlob) -> bool:
    """The blob's file is there with its size (its bytes are checked by the server)."""
    try:
        return sealed.size(blob.path) == blob.size
    except OSError:
        return False


def next_chunk_size(size: int, seconds: float) -> int:
    """The next chunk's size after one of `size` bytes took `seconds`: doubled while a
    chunk takes under half a second, halved past four, within [MIN_CHUNK, MAX_CHUNK]."""
    if seconds < 0.5:
        return min(size * 2, MAX_CHUNK)
    if seconds > 4.0:
        return max(size // 2, MIN_CHUNK)
    return size


def wait_until(predicate: Callable[[], bool], timeout_s: float, step_s: float = 0.05) -> bool:
    """Poll `predicate` until true or `timeout_s` passes (for tests and the CLI)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return predicate()
