"""End-to-end sync between desktops through a real server (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.domain.errors import MotcuaError
from core.domain.workflow import Action, State
from core.services import conflicts
from core.services.branch import Branch
from core.services.sync import LocalReplica
from core.sync.errors import NotEnrolled, ServerRefused, Unauthorised
from core.sync.wire import CHUNK_SIZE
from sync_server import identity

from .fixtures import (
    LEADER,
    OFFICER,
    SPECIALIST,
    Net,
    act,
    attach_blob,
    rebuilt,
    receive,
    snapshot,
)


def sync_all(net: Net, rounds: int = 2) -> None:
    for _ in range(rounds):
        for desk in net.desktops:
            net.agent(desk).sync_once()


def test_dossier_received_on_one_desktop_appears_on_another(net: Net) -> None:
    """GIVEN two enrolled desktops of one branch
    WHEN one receives and transfers a dossier and both sync
    THEN the other shows the same dossier, state and search index, equal to a rebuild."""
    branch = net.branch()
    a, b = net.desktop(branch), net.desktop(branch)
    view = receive(a)
    act(a, view.code, Action.TRANSFER)
    sync_all(net)
    assert b.dossiers.get(view.code).state is State.TRANSFERRED
    assert snapshot(a)["dossiers"] == snapshot(b)["dossiers"]
    assert snapshot(b) == rebuilt(b)


def test_enrolment_gives_each_desktop_its_own_number_block(net: Net) -> None:
    """GIVEN two desktops enrolled in one branch
    WHEN both receive dossiers on the same day without syncing
    THEN their dossier codes differ and both sync without collision."""
    branch = net.branch()
    a, b = net.desktop(branch), net.desktop(branch)
    assert a.codespace.blocks != b.codespace.blocks
    codes = {receive(a).code, receive(b).code, receive(a).code}
    sync_all(net)
    assert len(codes) == 3
    assert len(b.dossiers.browse(None, 50)) == 3


def test_concurrent_incompatible_transitions_conflict_until_resolved(net: Net) -> None:
    """GIVEN a dossier known to two desktops
    WHEN offline one requests a supplement while the other stops it, then they sync
    THEN both show the same conflict; a leader's resolution clears it everywhere."""
    branch = net.branch()
    a, b = net.desktop(branch), net.desktop(branch)
    view = receive(a)
    act(a, view.code, Action.TRANSFER)
    act(a, view.code, Action.START, SPECIALIST)
    sync_all(net)
    act(a, view.code, Action.REQUEST_SUPPLEMENT, SPECIALIST)
    act(b, view.code, Action.STOP, LEADER)
    sync_all(net)
    va, vb = a.dossiers.get(view.code), b.dossiers.get(view.code)
    assert va.conflict and vb.conflict
    assert va == vb
    assert [c["code"] for c in conflicts.list_conflicts(b)] == [view.code]
    resolved, _ = conflicts.resolve(b, LEADER, view.code, state="stopped", note="dừng theo đơn")
    assert not resolved.conflict
    sync_all(net)
    assert not a.dossiers.get(view.code).conflict
    assert a.dossiers.get(view.code).state is State.STOPPED
    assert snapshot(a) == rebuilt(a)


def test_commutative_events_merge_without_conflict(net: Net) -> None:
    """GIVEN a dossier on two desktops
    WHEN one adds a note while the other transfers it, offline
    THEN after sync both have the note and the transfer, and no conflict."""
    branch = net.branch()
    a, b = net.desktop(branch), net.desktop(branch)
    view = receive(a)
    sync_all(net)
    a.dossiers.note(OFFICER, view.code, "Công dân gọi điện")
    act(b, view.code, Action.TRANSFER)
    sync_all(net)
    va = a.dossiers.get(view.code)
    assert va.state is State.TRANSFERRED and not va.conflict
    assert [n["text"] for n in va.notes] == ["Công dân gọi điện"]
    assert va == b.dossiers.get(view.code)


def test_concurrent_field_edits_keep_both_values(net: Net) -> None:
    """GIVEN a dossier on two desktops
    WHEN both change the applicant's phone offline
    THEN both values are kept, one shows on every replica, and the dossier is flagged;
    keeping one value by resolution clears it."""
    branch = net.branch()
    a, b = net.desktop(branch), net.desktop(branch)
    view = receive(a)
    sync_all(net)
    conflicts.edit_field(a, OFFICER, view.code, "applicant.phone", "0911111111")
    conflicts.edit_field(b, OFFICER, view.code, "applicant.phone", "0922222222")
    sync_all(net)
    va, vb = a.dossiers.get(view.code), b.dossiers.get(view.code)
    assert va == vb and va.conflict
    values = {c["value"] for c in va.conflicts if c["kind"] == "field"}
    assert values == {"0911111111", "0922222222"}
    loser = next(c for c in va.conflicts if c["value"] != va.applicant["phone"])
    conflicts.resolve(a, LEADER, view.code, keep=loser["event_id"], note="số đúng")
    sync_all(net)
    vb = b.dossiers.get(view.code)
    assert not vb.conflict and vb.applicant["phone"] == loser["value"]


def test_sequential_edits_do_not_conflict(net: Net) -> None:
    """GIVEN a dossier whose phone one desktop edited and synced
    WHEN the other desktop edits it again after seeing the first edit
    THEN no conflict: the later value shows."""
    branch = net.branch()
    a, b = net.desktop(branch), net.desktop(branch)
    view = receive(a)
    conflicts.edit_field(a, OFFICER, view.code, "applicant.phone", "0911111111")
    sync_all(net)
    conflicts.edit_field(b, OFFICER, view.code, "applicant.phone", "0933333333")
    sync_all(net)
    va = a.dossiers.get(view.code)
    assert not va.conflict and va.applicant["phone"] == "0933333333"


def test_reference_data_flows_down_signed_by_the_centre(net: Net) -> None:
    """GIVEN a desktop enrolled in a branch
    WHEN the centre adds a user, a calendar override and a catalogue version
    THEN after one sync the desktop can log that user in, sees the holiday and the
    new procedure version."""
    branch = net.branch()
    desk = net.desktop(branch)
    from core.services import users
    from core.services.catalogue import procedure_to_dict

    payload = {
        "username": "thu",
        "full_name": "Thu",
        "role": "officer",
        "password_hash": users.hash_password("officer-pass"),
    }
    identity.author_one(net.engine, net.key, branch, "user.added", payload)
    identity.author_one(
        net.engine,
        net.key,
        "*",
        "calendar.override_set",
        {"day": "2026-12-31", "kind": "holiday", "reason": "QĐ 1/2026"},
    )
    proc = procedure_to_dict(desk.procedures()["HT-KS"])
    proc["version"] += 1
    identity.author_one(net.engine, net.key, "*", "catalogue.published", {"procedures": [proc]})
    net.agent(desk).sync_once()
    assert desk.login("thu", "officer-pass").username == "thu"
    assert not desk.calendar().is_working_day(__import__("datetime").date(2026, 12, 31))
    assert desk.procedures()["HT-KS"].version == proc["version"]


def test_blobs_go_up_then_down_and_resume_after_a_cut(net: Net, tmp_path: Path) -> None:
    """GIVEN a scan held by one desktop and referenced by an event
    WHEN it syncs, and the other desktop's download is cut half-way then resumed
    THEN both hold identical bytes and the server received each byte once."""
    branch = net.branch()
    a, b = net.desktop(branch), net.desktop(branch)
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(bytes(range(256)) * (CHUNK_SIZE // 256 * 2 + 100))
    sha = LocalReplica(a).add_blob(scan)
    view = receive(a)
    attach_blob(a, view.id, sha)
    net.agent(a).sync_once()
    assert LocalReplica(a).pending_blobs() == []
    from sync_server import blobstore

    assert blobstore.transferred(net.engine, sha) == scan.stat().st_size
    agent_b = net.agent(b)
    agent_b.pull(
        lambda _p: None, __import__("core.sync.agent", fromlist=["SyncSummary"]).SyncSummary()
    )
    replica_b = LocalReplica(b)
    partial = replica_b.partial_blob(sha)
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(scan.read_bytes()[: CHUNK_SIZE + 123])
    summary = agent_b.sync_once()
    assert summary.bytes_down == scan.stat().st_size - (CHUNK_SIZE + 123)
    from core.sync.blobs import blob_path

    assert blob_path(replica_b.blob_root, sha).read_bytes() == scan.read_bytes()


def test_a_download_cut_after_its_last_byte_completes(net: Net, tmp_path: Path) -> None:
    """GIVEN a desktop whose download of a scan was cut after the last byte reached its
    partial file, before the check (the server answers 416 to a range past the end)
    WHEN it syncs again
    THEN the partial is checked and kept as the blob, no byte downloaded again."""
    branch = net.branch()
    a, b = net.desktop(branch), net.desktop(branch)
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(bytes(range(256)) * 4096)
    sha = LocalReplica(a).add_blob(scan)
    view = receive(a)
    attach_blob(a, view.id, sha)
    net.agent(a).sync_once()
    replica_b = LocalReplica(b)
    partial = replica_b.partial_blob(sha)
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(scan.read_bytes())
    summary = net.agent(b).sync_once()
    assert (summary.blobs_down, summary.bytes_down) == (1, 0)
    from core.sync.blobs import blob_path

    assert blob_path(replica_b.blob_root, sha).read_bytes() == scan.read_bytes()
    assert replica_b.wanted_blobs() == []


def test_unenrolled_desktop_cannot_sync(net: Net) -> None:
    """GIVEN a desktop never enrolled
    WHEN it asks for its agent
    THEN NotEnrolled names the fix."""
    branch = net.branch()
    desk = net.desktop(branch, enrolled=False)
    with pytest.raises(NotEnrolled):
        net.agent(desk)


def test_revoked_desktop_is_refused_and_status_shows_it(net: Net) -> None:
    """GIVEN an enrolled desktop the centre then revokes
    WHEN it syncs
    THEN the server answers 401 and the agent's status carries the error."""
    branch = net.branch()
    desk = net.desktop(branch)
    identity.revoke(net.engine, net.key, desk.device_id)
    agent = net.agent(desk)
    with pytest.raises(Unauthorised):
        agent.sync_once()
    assert agent.status().last_error and agent.status().online


def test_background_loop_syncs_when_triggered(net: Net) -> None:
    """GIVEN a desktop with its agent running in the background
    WHEN a dossier is received and the loop is triggered
    THEN the server soon holds the event and the status shows nothing pending."""
    from core.sync.agent import wait_until

    branch = net.branch()
    desk = net.desktop(branch)
    agent = net.agent(desk)
    agent.start(interval_s=30, probe_s=0.05)
    try:
        assert wait_until(lambda: bool(agent.status().last_sync), 10)
        before = net.server_events(branch)
        receive(desk)
        agent.trigger()
        assert wait_until(lambda: net.server_events(branch) == before + 1, 10)
        assert wait_until(lambda: agent.status().pending_events == 0, 10)
    finally:
        agent.stop()


def test_progress_reports_events_done_and_total(net: Net) -> None:
    """GIVEN a desktop with three unsent events
    WHEN it syncs with a progress callback
    THEN push progress ends at done == total."""
    branch = net.branch()
    desk = net.desktop(branch)
    for _ in range(3):
        receive(desk)
    seen = []
    net.agent(desk).sync_once(seen.append)
    pushes = [p for p in seen if p.phase == "push"]
    assert pushes[-1].done == pushes[-1].total >= 3
    assert json.dumps([p.__dict__ for p in seen])


def test_a_pull_cut_before_its_fold_is_folded_when_the_store_opens(
    net: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a desktop whose pull logged another desktop's dossiers, then stopped before
    folding them (the end of the pull never ran, as in a crash)
    WHEN its store is opened again
    THEN those dossiers are folded, in their states, equal to a rebuild."""
    branch = net.branch()
    a, b = net.desktop(branch), net.desktop(branch)
    codes = [receive(a).code for _ in range(3)]
    act(a, codes[0], Action.TRANSFER)
    net.agent(a).sync_once()
    with monkeypatch.context() as patch:
        patch.setattr(LocalReplica, "_settle", lambda self: None)
        summary = net.agent(b).sync_once()
    assert summary.applied >= 4
    assert b.dossiers.browse(None, 50) == []  # logged, not folded
    b.close()
    reopened = Branch.open(b.data_dir)
    net.desktops[net.desktops.index(b)] = reopened
    assert reopened.dossiers.get(codes[0]).state is State.TRANSFERRED
    assert {v.code for v in reopened.dossiers.browse(None, 50)} == set(codes)
    assert snapshot(reopened) == rebuilt(reopened)


def test_a_long_pull_folds_in_bounded_steps(net: Net, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN a pull holding at most 3 events before it folds what it has
    WHEN a desktop catches up on dossiers received and moved on another
    THEN every dossier is folded as on the other desktop, equal to a rebuild."""
    from core.services import sync as sync_service

    monkeypatch.setattr(sync_service, "_DEFER_MAX", 3)
    branch = net.branch()
    a, b = net.desktop(branch), net.desktop(branch)
    codes = [receive(a).code for _ in range(4)]
    for code in codes[:2]:
        act(a, code, Action.TRANSFER)
        act(a, code, Action.START, SPECIALIST)
    sync_all(net)
    assert snapshot(a)["dossiers"] == snapshot(b)["dossiers"]
    assert b.dossiers.get(codes[1]).state is State.PROCESSING
    assert snapshot(b) == rebuilt(b)


def test_blob_chunks_adapt_to_the_link() -> None:
    """GIVEN chunks timed on the link
    WHEN the next chunk's size is chosen
    THEN it doubles while chunks take under half a second, halves past four seconds,
    and stays within [MIN_CHUNK, MAX_CHUNK]."""
    from core.sync.agent import next_chunk_size
    from core.sync.wire import MAX_CHUNK, MIN_CHUNK

    assert next_chunk_size(CHUNK_SIZE, 0.1) == 2 * CHUNK_SIZE
    assert next_chunk_size(MAX_CHUNK, 0.1) == MAX_CHUNK
    assert next_chunk_size(CHUNK_SIZE, 2.0) == CHUNK_SIZE
    assert next_chunk_size(CHUNK_SIZE, 9.0) == CHUNK_SIZE // 2
    assert next_chunk_size(MIN_CHUNK, 9.0) == MIN_CHUNK


def test_a_pull_whose_fold_failed_is_refolded_by_the_next_pull(
    net: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a pull that logged a dossier's transfer but failed to fold it (a disk error at
    the end of the pull)
    WHEN the dossier moves on elsewhere and the next pull brings that step
    THEN the desktop shows the dossier in its latest state, equal to a rebuild (the
    failed pull's events are not lost)."""
    from core.storage import replication

    branch = net.branch()
    a, b = net.desktop(branch), net.desktop(branch)
    view = receive(a)
    sync_all(net, rounds=1)
    net.agent(b).sync_once()
    act(a, view.code, Action.TRANSFER)
    net.agent(a).sync_once()
    real = replication.settle
    failures = iter([OSError("disk hiccup")])

    def flaky(conn: object, deferred: object) -> object:
        error = next(failures, None)
        if error is not None:
            raise error
        return real(conn, deferred)  # type: ignore[arg-type]

    monkeypatch.setattr(replication, "settle", flaky)
    with pytest.raises(OSError, match="disk hiccup"):
        net.agent(b).sync_once()
    act(a, view.code, Action.START, SPECIALIST)
    net.agent(a).sync_once()
    net.agent(b).sync_once()
    assert b.dossiers.get(view.code).state is State.PROCESSING
    assert snapshot(b) == rebuilt(b)


def test_a_damaged_local_scan_is_named_and_the_others_still_go_up(net: Net, tmp_path: Path) -> None:
    """GIVEN two scans held by a desktop, one of them damaged on its disk afterwards, and
    a colleague's scan waiting on the server
    WHEN it syncs
    THEN the good scan reaches the server, the damaged one does not, the colleague's scan
    still comes down, and the sync says which file is damaged (every sync, until fixed)."""
    from core.sync.blobs import blob_path
    from core.sync.errors import ProtocolError

    branch = net.branch()
    desk, colleague = net.desktop(branch), net.desktop(branch)
    theirs = tmp_path / "theirs.pdf"
    theirs.write_bytes(b"theirs" * 5000)
    their_sha = LocalReplica(colleague).add_blob(theirs)
    view = receive(colleague)
    attach_blob(colleague, view.id, their_sha, "t")
    net.agent(colleague).sync_once()
    good, bad = tmp_path / "good.pdf", tmp_path / "bad.pdf"
    good.write_bytes(b"good" * 5000)
    bad.write_bytes(b"bad!" * 5000)
    replica = LocalReplica(desk)
    good_sha, bad_sha = replica.add_blob(good), replica.add_blob(bad)
    blob_path(replica.blob_root, bad_sha).write_bytes(b"rot!" * 5000)
    with pytest.raises(ProtocolError, match=bad_sha[:12]):
        net.agent(desk).sync_once()
    client = net.client(desk)
    assert client.missing([good_sha, bad_sha]) == [bad_sha]
    assert [b.sha256 for b in replica.pending_blobs()] == [bad_sha]
    assert blob_path(replica.blob_root, their_sha).read_bytes() == theirs.read_bytes()


def test_a_scan_the_server_refuses_is_named_and_the_others_still_go_up(
    net: Net, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN two scans held by a desktop, and a server that refuses the first one (its
    answer for that blob alone: a 409 no retry can resolve)
    WHEN the desktop syncs
    THEN the other scan reaches the server, and the sync names the refused one with the
    server's reason; it stays pending for the next sync."""
    from core.sync.errors import ProtocolError
    from sync_server import blobstore
    from sync_server.errors import Refusal

    desk = net.desktop(net.branch())
    first, second = tmp_path / "first.pdf", tmp_path / "second.pdf"
    first.write_bytes(b"first" * 5000)
    second.write_bytes(b"second" * 5000)
    replica = LocalReplica(desk)
    refused_sha, good_sha = replica.add_blob(first), replica.add_blob(second)
    real_status = blobstore.status

    def refusing(engine: Any, root: Path, who: Any, sha: str, size: int) -> Any:
        if sha == refused_sha:  # as for a size another upload of this device committed to
            raise Refusal(409, "size-mismatch", "Blob {sha} is being uploaded with another size")
        return real_status(engine, root, who, sha, size)

    monkeypatch.setattr(blobstore, "status", refusing)
    with pytest.raises(ProtocolError, match=rf"{refused_sha[:12]} \(size-mismatch\)"):
        net.agent(desk).sync_once()
    assert net.client(desk).missing([refused_sha, good_sha]) == [refused_sha]
    assert [b.sha256 for b in replica.pending_blobs()] == [refused_sha]


def _marks_row(desk: Branch, sha: str) -> bytes | None:
    from sqlalchemy import select

    from core.storage.replication import blobs

    with desk.store.read() as conn:
        value = conn.execute(select(blobs.c.marks).where(blobs.c.sha256 == sha)).scalar_one()
    return None if value is None else bytes(value)


def test_a_stored_scan_goes_up_on_its_marks_without_a_second_hash(
    net: Net, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a scan of 5 MiB and a bit stored by a desktop (its prefix marks taken then)
    WHEN it syncs, with hashing the file at upload made to fail
    THEN the scan reaches the server whole, each byte sent once, in more than one chunk,
    and its marks are dropped once the server holds it durably."""
    from core.sync import agent as agent_module
    from sync_server import blobstore

    def no_hashing(*_args: object) -> None:
        raise AssertionError("the upload hashed the file again")

    monkeypatch.setattr(agent_module, "PrefixHasher", no_hashing)
    desk = net.desktop(net.branch())
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(bytes(range(256)) * (5 * 1024 * 4 + 7))
    sha = LocalReplica(desk).add_blob(scan)
    assert len(_marks_row(desk, sha) or b"") == 5 * 32
    agent = net.agent(desk)
    agent.chunk_size = 2 * 1024 * 1024
    summary = agent.sync_once()
    assert (summary.blobs_up, summary.bytes_up) == (1, scan.stat().st_size)
    assert blobstore.transferred(net.engine, sha) == scan.stat().st_size
    assert net.client(desk).missing([sha]) == []
    assert _marks_row(desk, sha) is None


def test_a_resume_off_the_marks_hashes_the_file_and_sends_the_rest(
    net: Net, tmp_path: Path
) -> None:
    """GIVEN a scan of which the server holds 1.5 MiB (an offset between two marks, as
    after a power cut that kept part of a chunk)
    WHEN the desktop syncs
    THEN it hashes the file from there and sends the rest: each byte reaches the server
    once and the blob is complete."""
    from core.sync.client import PrefixHasher
    from sync_server import blobstore

    desk = net.desktop(net.branch())
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(bytes(range(251)) * 16_000)
    size = scan.stat().st_size
    sha = LocalReplica(desk).add_blob(scan)
    first = PrefixHasher(scan, 0).next_slice(3 * 1024 * 1024 // 2)
    net.client(desk).upload_chunk(sha, size, first)
    summary = net.agent(desk).sync_once()
    assert summary.bytes_up == size - first.length
    assert blobstore.transferred(net.engine, sha) == size
    assert net.client(desk).missing([sha]) == []


def test_a_scan_changed_since_its_marks_is_named_damaged(net: Net, tmp_path: Path) -> None:
    """GIVEN a scan of 3 MiB and a bit whose second MiB was altered on disk after it was
    stored (its marks no longer match the file)
    WHEN the desktop syncs
    THEN the server refuses the altered chunk, the desktop hashes the file itself, finds
    it does not match its name, and says which file is damaged; the server has no copy."""
    from core.sync.blobs import blob_path
    from core.sync.errors import ProtocolError

    desk = net.desktop(net.branch())
    scan = tmp_path / "scan.pdf"
    data = bytearray(bytes(range(256)) * (3 * 4096 + 10))
    scan.write_bytes(data)
    replica = LocalReplica(desk)
    sha = replica.add_blob(scan)
    data[1_500_000] ^= 0xFF
    blob_path(replica.blob_root, sha).write_bytes(data)
    with pytest.raises(ProtocolError, match=sha[:12]):
        net.agent(desk).sync_once()
    assert net.client(desk).missing([sha]) == [sha]
    assert [b.sha256 for b in replica.pending_blobs()] == [sha]


def test_the_chunk_size_learnt_on_one_scan_carries_to_the_next(net: Net, tmp_path: Path) -> None:
    """GIVEN a desktop on a fast link (loopback) with small scans, then two of 6 MiB, to
    send one per sync
    WHEN they go up
    THEN small scans (one short chunk each) leave the chunk size where it was, and the
    size grown on the first large scan is where the second starts."""
    desk = net.desktop(net.branch())
    agent = net.agent(desk)
    for n in range(4):
        small = tmp_path / f"small{n}.pdf"
        small.write_bytes(bytes([n]) * 300_000)
        LocalReplica(desk).add_blob(small)
        assert agent.sync_once().blobs_up == 1
    assert agent.chunk_size == CHUNK_SIZE
    sizes = []
    for name in ("a", "b"):
        scan = tmp_path / f"{name}.pdf"
        scan.write_bytes(name.encode() * (6 * 1024 * 1024))
        LocalReplica(desk).add_blob(scan)
        sizes.append(agent.chunk_size)
        agent.sync_once()
    assert sizes[0] == CHUNK_SIZE
    assert sizes[1] > CHUNK_SIZE


def test_a_server_with_smaller_chunks_gets_smaller_chunks(
    net: Net, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a server that takes chunks of at most 8 MiB and names that limit, and a desktop
    whose chunks have grown to 64 MiB
    WHEN it sends a 40 MiB scan
    THEN one chunk is refused (413 chunk-too-large), the rest go in chunks under the named
    limit from the server's offset, and the scan arrives whole."""
    from sync_server import blobstore

    monkeypatch.setattr(blobstore, "MAX_CHUNK", 8 * 1024 * 1024)
    scan, sha, agent = _big_scan_on_grown_chunks(net, tmp_path)
    refusals = _count_refusals(agent, monkeypatch)
    assert agent.sync_once().blobs_up == 1
    assert refusals == [413]
    assert agent.chunk_limit == agent.chunk_size == 8 * 1024 * 1024
    assert blobstore.transferred(net.engine, sha) == scan.stat().st_size


def test_a_bare_413_from_an_older_server_or_a_proxy_lowers_the_chunks(
    net: Net, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a server whose body limit refuses a chunk over 16 MiB with a bare 413
    too-large naming no limit (an older server, or a proxy), and a desktop whose chunks
    have grown to 64 MiB
    WHEN it sends a 40 MiB scan
    THEN the refused chunk is halved (to 16 MiB, a power of two) and the scan arrives."""
    from sync_server import app as server_app
    from sync_server import blobstore
    from sync_server.errors import Refusal

    monkeypatch.setattr(server_app, "MAX_CHUNK", 16 * 1024 * 1024)
    monkeypatch.setattr(
        blobstore, "chunk_too_large", lambda: Refusal(413, "too-large", "too large")
    )
    scan, sha, agent = _big_scan_on_grown_chunks(net, tmp_path)
    refusals = _count_refusals(agent, monkeypatch)
    assert agent.sync_once().blobs_up == 1
    assert refusals == [413]
    assert agent.chunk_limit == 16 * 1024 * 1024
    assert blobstore.transferred(net.engine, sha) == scan.stat().st_size


def _big_scan_on_grown_chunks(net: Net, tmp_path: Path) -> tuple[Path, str, Any]:
    """A desktop holding a 40 MiB scan, its agent's chunks grown to 64 MiB."""
    desk = net.desktop(net.branch())
    scan = tmp_path / "big.pdf"
    scan.write_bytes(bytes(range(256)) * (40 * 4096))
    sha = LocalReplica(desk).add_blob(scan)
    agent = net.agent(desk)
    agent.chunk_size = 64 * 1024 * 1024
    return scan, sha, agent


def _count_refusals(agent: object, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The statuses of the chunks `agent`'s server refuses, as they happen."""
    from core.sync.errors import ServerRefused

    client = agent.client  # type: ignore[attr-defined]
    real = client.upload_chunk
    statuses: list[int] = []

    def counted(*args: object) -> object:
        try:
            return real(*args)
        except ServerRefused as err:
            statuses.append(err.status)
            raise

    monkeypatch.setattr(client, "upload_chunk", counted)
    return statuses


def test_a_missing_or_cut_short_scan_is_named_and_the_others_go_up(
    net: Net, tmp_path: Path
) -> None:
    """GIVEN three scans held by a desktop: one cut short on its disk, one deleted, and
    one empty file
    WHEN it syncs
    THEN the sync names the two damaged scans, and the empty one reaches the server; once
    the cut-short scan is stored again from its original, it goes up too."""
    from core.sync.blobs import blob_path
    from core.sync.errors import ProtocolError

    desk = net.desktop(net.branch())
    replica = LocalReplica(desk)
    shas = []
    for name, content in (("short", b"s" * 3_000_000), ("gone", b"g" * 10_000), ("empty", b"")):
        scan = tmp_path / f"{name}.pdf"
        scan.write_bytes(content)
        shas.append(replica.add_blob(scan))
    short, gone, empty = shas
    blob_path(replica.blob_root, short).write_bytes(b"s" * 1_000_000)
    blob_path(replica.blob_root, gone).unlink()
    with pytest.raises(ProtocolError) as damaged:
        net.agent(desk).sync_once()
    assert short[:12] in str(damaged.value) and gone[:12] in str(damaged.value)
    client = net.client(desk)
    assert client.missing(shas) == [short, gone]
    assert client.blob_status(empty, 0).complete
    assert replica.add_blob(tmp_path / "short.pdf") == short
    with pytest.raises(ProtocolError, match=gone[:12]):
        net.agent(desk).sync_once()
    assert client.missing(shas) == [gone]


def test_a_scan_cut_short_while_it_is_sent_is_named_at_once(
    net: Net, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a 3 MiB scan that passes the size check, then is cut to 1 MiB on disk before
    its bytes are read (a disk failing mid-send)
    WHEN the desktop syncs
    THEN the chunk fails on the short read — the sync names the scan as damaged at once,
    instead of the server waiting for bytes that never come."""
    from core.sync import agent as agent_module
    from core.sync.blobs import blob_path
    from core.sync.errors import ProtocolError

    desk = net.desktop(net.branch())
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"c" * 3 * 1024 * 1024)
    replica = LocalReplica(desk)
    sha = replica.add_blob(scan)
    monkeypatch.setattr(agent_module, "_whole", lambda _blob: True)
    blob_path(replica.blob_root, sha).write_bytes(b"c" * 1024 * 1024)
    agent = net.agent(desk)
    agent.client.timeout = (3.0, 10.0)
    with pytest.raises(ProtocolError, match=sha[:12]):
        agent.sync_once()
    assert net.client(desk).missing([sha]) == [sha]


def test_a_desk_reads_only_the_scans_its_branch_references(net: Net, tmp_path: Path) -> None:
    """GIVEN a scan uploaded and attached by a desk of branch A
    WHEN a desk of branch B asks the server for it by its SHA-256
    THEN it gets the same 404 as for a scan the server lacks; a desk of A gets the bytes."""
    branch_a, branch_b = net.branch(), net.branch()
    a, a2, b = net.desktop(branch_a), net.desktop(branch_a), net.desktop(branch_b)
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"citizen's papers " * 1000)
    sha = LocalReplica(a).add_blob(scan)
    attach_blob(a, receive(a).id, sha)
    net.agent(a).sync_once()
    with pytest.raises(ServerRefused) as refused:
        b"".join(net.client(b).download(sha, 0, 1 << 16))
    assert refused.value.status == 404
    lacking = "0" * 64
    with pytest.raises(ServerRefused) as unknown:
        b"".join(net.client(b).download(lacking, 0, 1 << 16))
    assert unknown.value.status == 404
    assert str(refused.value).replace(sha[:12], "x") == str(unknown.value).replace(
        lacking[:12], "x"
    )
    assert b"".join(net.client(a2).download(sha, 0, 1 << 16)) == scan.read_bytes()


def test_motcua_sync_records_that_the_desk_is_revoked(
    net: Net, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a desk the centre revoked WHEN `motcua sync --once` meets the server's answer
    THEN it says so in one line and the desk refuses new receipts from then on."""
    from desktop.cli.main import main
    from sync_server import identity

    desk = net.desktop(net.branch())
    identity.revoke(net.engine, net.key, desk.device_id)
    monkeypatch.setenv("MOTCUA_DATA_DIR", str(desk.data_dir))
    monkeypatch.setenv("MOTCUA_LANG", "en")
    assert main(["sync", "--once"]) != 0
    assert "revoked" in capsys.readouterr().err
    assert desk.revoked
    with pytest.raises(MotcuaError):
        receive(desk)
