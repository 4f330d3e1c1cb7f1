"""Sync benchmarks, each beside a same-run baseline.

- push ingest on PostgreSQL, 16 devices of 8 branches pushing at once, vs a bulk insert
  of the same rows into the same database;
- push ingest of dossier events with the console's projections folded in the background,
  vs the same pushes with the fold left to the readers (and how long the fold lags);
- catch-up of 30,000 events (a busy branch's week offline) pulled and applied by a fresh
  desktop, vs fetching the same pages without applying them;
- blob upload MB/s through the protocol (signed, chunked, hashed) vs a plain HTTP PUT of
  the same bytes.

PostgreSQL: ``MOTCUA_TEST_PG_URL`` when set (``scripts/test-services.sh``); otherwise the
bench starts a private cluster itself the same way.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import requests
from sqlalchemy import Engine, create_engine, insert, select, text

from core.domain import userkeys
from core.domain.events import GENESIS_HASH, Event
from core.domain.hlc import Timestamp
from core.domain.ids import new_uuid7
from core.domain.workflow import Action
from core.services.branch import Branch
from core.services.sync import LocalReplica, agent_for, enroll
from core.sync.agent import SyncSummary
from core.sync.client import Credentials, SyncClient
from sync_server import identity
from sync_server import schema as st
from sync_server.cli import default_workers
from sync_server.db import KEY_FILE, make_engine, migrate
from tests.sync.fixtures import CLERKS, KEYS, LEADER, OFFICER, SPECIALIST, clerk_payload

from .harness import Report, stopwatch

if TYPE_CHECKING:
    from tests.sync.live import LiveServer

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres() -> Iterator[str]:
    url = os.environ.get("MOTCUA_TEST_PG_URL")
    if url:
        yield url
        return
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bins:
        raise SystemExit("bench_sync needs PostgreSQL: set MOTCUA_TEST_PG_URL or install it")
    pg = bins[-1]
    folder = Path(tempfile.mkdtemp(prefix="motcua-bench-pg-"))
    as_pg = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    if os.getuid() == 0:
        shutil.chown(folder, "postgres")
    port = _free_port()
    run = subprocess.run
    run(
        [*as_pg, str(pg / "initdb"), "-D", f"{folder}/data", "-U", "motcua", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    opts = (
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    )
    run(
        [
            *as_pg,
            str(pg / "pg_ctl"),
            "-D",
            f"{folder}/data",
            "-o",
            opts,
            "-l",
            f"{folder}/log",
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://motcua@127.0.0.1:{port}/postgres"
    finally:
        run(
            [*as_pg, str(pg / "pg_ctl"), "-D", f"{folder}/data", "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def fresh_db(admin_url: str) -> Iterator[str]:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _wait_answering(probe: Callable[[], object]) -> None:
    """Until a process just started answers `probe` (15 s at most)."""
    for _ in range(300):
        try:
            probe()
            return
        except requests.ConnectionError:
            time.sleep(0.05)


@contextmanager
def server_process(
    data_dir: Path, database_url: str, workers: int | None = 1, extra: dict[str, str] | None = None
) -> Iterator[str]:
    """``motcua-server serve`` in its own process; `workers` None: its default; `extra`:
    more environment."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT), **(extra or {})}
    cmd = [
        sys.executable,
        "-m",
        "sync_server.cli",
        "--data-dir",
        str(data_dir),
        "serve",
        "--port",
        str(port),
        *(["--workers", str(workers)] if workers is not None else []),
    ]
    proc = subprocess.Popen(cmd, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_answering(lambda: requests.get(url + "/v1/health", timeout=1))
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def synthetic_chain(desk: Branch, count: int, dossier_every: int = 0) -> list[Event]:
    """`count` sealed events of `desk`'s chain (notes on reference data: cheap to fold)."""
    head_seq, prev = 0, GENESIS_HASH
    with desk.store.read() as conn:
        from core.storage import event_store

        head_seq, prev = event_store.device_head(conn, desk.device_id)
    out: list[Event] = []
    now = int(time.time() * 1000)
    for n in range(count):
        event = Event(
            event_id=new_uuid7(),
            dossier_id=None,
            branch=desk.branch_code,
            type="branch.setting_set",
            payload={
                "name": f"k{n % 50}",
                "value": f"giá trị {n}",
                "at": "2026-11-27T09:00:00+07:00",
            },
            actor="admin",
            origin_device=desk.device_id,
            origin_seq=head_seq + n + 1,
            hlc=Timestamp(now, n).encode(),
            prev_hash=prev,
        ).sealed(desk.key)
        prev = event.hash
        out.append(event)
    return out


LIFECYCLE = [
    (Action.TRANSFER, OFFICER),
    (Action.START, SPECIALIST),
    (Action.SUBMIT, SPECIALIST),
    (Action.APPROVE, LEADER),
    (Action.FINISH, SPECIALIST),
    (Action.RETURN, OFFICER),
]


def dossier_templates(tmp: Path) -> list[Event]:
    """A real dossier's events (receipt, then every step to its return), recorded by the
    services on a scratch desktop: the payloads the catch-up bench clones."""
    from tests.sync.fixtures import act, add_clerks, receive

    desk = Branch.init(tmp / "template", "BUSY", "x", ("admin", "admin-pass-1"))
    add_clerks(desk)
    view = receive(desk)
    for action, user in LIFECYCLE:
        act(desk, view.code, action, user)
    from core.storage import event_store
    from core.storage import schema as lt

    with desk.store.read() as conn:
        rows = conn.execute(
            lt.events.select()
            .where(lt.events.c.dossier_id == view.id)
            .order_by(lt.events.c.origin_seq)
        )
        events = [event_store._row_to_event(r) for r in rows]
    desk.close()
    return list(events)


def dossier_chains(
    desks: list[Branch], templates: list[Event], total: int, branch: str = "BUSY"
) -> list[list[Event]]:
    """About `total` realistic dossier events of `branch` (its desks'): each dossier
    received on one desktop and moved through its steps on the others (parents name the
    previous step), sealed into each desktop's chain in hybrid-clock order."""
    from core.storage import event_store

    heads = []
    for desk in desks:
        with desk.store.read() as conn:
            heads.append(event_store.device_head(conn, desk.device_id))
    chains: list[list[Event]] = [[] for _ in desks]
    now = int(time.time() * 1000) + 1000
    tick = 0
    for n in range(total // len(templates)):
        dossier_id = new_uuid7()
        parent: tuple[str, ...] = ()
        for step, template in enumerate(templates):
            d = (n + step) % len(desks)
            seq, prev = heads[d]
            payload = dict(template.payload)
            if step == 0:
                payload["code"] = f"{branch}-261127-{n + 1:04d}"
                payload["lookup_token"] = f"T{n:07d}"
            if "proof" in payload:  # a decision: its clerk proves it for this dossier
                payload["proof"] = userkeys.prove(
                    KEYS[template.actor],
                    template.type,
                    branch,
                    dossier_id,
                    template.actor,
                    parent,
                    payload,
                )
            event = Event(
                event_id=new_uuid7(),
                dossier_id=dossier_id,
                branch=branch,
                type=template.type,
                payload=payload,
                actor=template.actor,
                origin_device=desks[d].device_id,
                origin_seq=seq + 1,
                hlc=Timestamp(now + tick, 0).encode(),
                parents=parent,
                prev_hash=prev,
            ).sealed(desks[d].key)
            tick += 1
            heads[d] = (event.origin_seq, event.hash)
            parent = (event.event_id,)
            chains[d].append(event)
    return chains


@contextmanager
def apart(srv: LiveServer) -> Iterator[str]:
    """The server that `srv` (in this process, used to seed) serves, run in a process of
    its own, as the centre runs: a desktop's catch-up is timed against it, so that the
    server's work on the pages is not charged to the desktop's GIL. Yields once it has
    folded what was pushed (its background work would share the machine's 2 cores)."""
    settings = srv.settings
    with server_process(settings.data_dir, settings.database_url) as url:
        _projection_lag(srv.engine)
        yield url


def _timed_catch_up(url: str, fresh: Branch, count: int) -> tuple[float, float]:
    """Seconds to fetch the branch's pages without applying them, then to pull and apply
    them with `fresh`'s agent (which must apply at least `count` events)."""
    raw = SyncClient(url, Credentials(fresh.device_id, fresh.key))
    with stopwatch() as fetch_only:
        cursor, more = 0, True
        while more:
            page = raw.pull(fresh.branch_code, cursor, 2000)
            cursor, more = page.next, page.more
    with stopwatch() as took:
        summary = agent_for(fresh).pull(lambda _p: None, SyncSummary())
    assert summary.applied >= count, summary
    return fetch_only(), took()


def bench_catch_up_dossiers(report: Report, tmp: Path, round_size: int) -> None:
    """Four counters' dossier events on the server, caught up by a fresh desktop.

    `round_size`: the counters push that many events each in turn, as desktops syncing
    through the week do (the server's order follows the clock); 0: each counter pushes
    its whole week at once, one after the other (steps arrive before their receipts).
    """
    from tests.sync.live import live_server

    tmp = tmp / f"dossiers-{round_size}"
    tmp.mkdir()
    templates = dossier_templates(tmp)
    with live_server("sqlite", tmp / "dossier-server") as srv:
        identity.add_branch(srv.engine, "BUSY", "Chi nhánh bận")
        key = identity.ensure_identity(srv.engine, srv.settings.key_file)
        for clerk in CLERKS:
            identity.author_one(srv.engine, key, "BUSY", "user.added", clerk_payload(clerk))
        desks = []
        for d in range(4):
            desk = Branch.init(tmp / f"counter{d}", "BUSY", "x", ("admin", "admin-pass-1"))
            enroll(desk, srv.url, str(identity.new_enrol_code(srv.engine, "BUSY", 600)["code"]))
            agent_for(desk).push()
            desks.append(desk)
        chains = dossier_chains(desks, templates, 30_000)
        clients = [SyncClient(srv.url, Credentials(d.device_id, d.key)) for d in desks]
        step = round_size or max(len(c) for c in chains)
        for start in range(0, max(len(c) for c in chains), step):
            for client, chain in zip(clients, chains, strict=True):
                for at in range(start, min(start + step, len(chain)), 2000):
                    client.push(chain[at : min(at + 2000, start + step)])
        count = sum(len(c) for c in chains)
        fresh = Branch.init(tmp / "fresh", "BUSY", "x", ("admin", "admin-pass-1"))
        with apart(srv) as url:
            enroll(fresh, url, str(identity.new_enrol_code(srv.engine, "BUSY", 600)["code"]))
            fetch_only, took = _timed_catch_up(url, fresh, count)
        with fresh.store.read() as conn:
            from core.storage import schema as lt

            folded = conn.execute(text("SELECT count(*) FROM dossiers")).scalar_one()
            returned = conn.execute(
                select(lt.dossiers.c.id).where(lt.dossiers.c.state == "returned")
            ).all()
        assert folded == count // len(templates) == len(returned), (folded, len(returned))
        for desk in [*desks, fresh]:
            desk.close()
    order = f"pushed in turns of {round_size}" if round_size else "each device's week at once"
    report.figure(
        f"catch-up of {count:,} dossier events (receipts + transitions from 4 devices, "
        f"{order}; {folded:,} dossiers folded) on a fresh desktop",
        took,
        "s",
        "fetching the same pages without applying",
        fetch_only,
        aim="<= 1.5 s",
    )


def bench_ingest(report: Report, pg_admin: str, tmp: Path, workers: int | None) -> None:
    """`workers` None: as ``serve`` runs by default on PostgreSQL (one per CPU)."""
    devices, per_device, batch = 16, 2500, 1000
    with fresh_db(pg_admin) as url:
        engine = make_engine(url)
        migrate(engine)
        identity.ensure_identity(engine, tmp / f"ingest-server-{workers}" / KEY_FILE)
        desks: list[Branch] = []
        for b in range(8):
            identity.add_branch(engine, f"B{b}", f"Chi nhánh {b}")
        with server_process(tmp / f"ingest-server-{workers}", url, workers) as server:
            for d in range(devices):
                branch = f"B{d % 8}"
                folder = tmp / f"dev{d}-{workers}"
                desk = Branch.init(folder, branch, "x", ("admin", "admin-pass-1"))
                enroll(desk, server, str(identity.new_enrol_code(engine, branch, 600)["code"]))
                agent_for(desk).push()
                desks.append(desk)
            chains = [synthetic_chain(desk, per_device) for desk in desks]
            clients = [SyncClient(server, Credentials(d.device_id, d.key)) for d in desks]

            def push_all(i: int) -> None:
                for start in range(0, per_device, batch):
                    clients[i].push(chains[i][start : start + batch])

            threads = [threading.Thread(target=push_all, args=(i,)) for i in range(devices)]
            with stopwatch() as took:
                for th in threads:
                    th.start()
                for th in threads:
                    th.join()
            total = devices * per_device
            rate = total / took()
        rows = []
        with engine.connect() as conn:
            rows = [
                dict(r._mapping)
                for r in conn.execute(st.events.select().where(st.events.c.branch != "*"))
            ]
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE bench_events (LIKE events INCLUDING ALL)"))
        with stopwatch() as took, engine.begin() as conn:
            table = st.events.to_metadata(st.metadata.__class__(), name="bench_events")
            conn.execute(insert(table), rows)
        engine.dispose()
        for desk in desks:
            desk.close()
    count = workers or default_workers(url)
    how = "the default" if workers is None else "set with --workers"
    report.figure(
        f"push ingest, 16 devices in parallel (PostgreSQL, {count} server "
        f"process{'es' if count > 1 else ''}, {how})",
        rate,
        "events/s",
        "bulk insert of the same rows",
        len(rows) / took(),
        aim=">= 20,000 events/s",
    )


def _projection_lag(engine: Engine) -> float:
    """Seconds until the server's background folder has folded every push."""
    from sync_server import projections

    with stopwatch() as took:
        while projections.pending(engine):
            time.sleep(0.05)
    return took()


def _ingest_dossiers(pg_admin: str, tmp: Path, fold: str) -> tuple[float, float]:
    """Dossier events of 8 branches (2 desks each, 16 pushing at once) into a fresh
    database, the server folding with `fold`: (events/s, seconds the fold lagged after
    the last push was answered; 0 with "on-read")."""
    branches, per_branch, batch = 8, 5_000, 1000
    tmp = tmp / f"ingest-dossiers-{fold}"
    tmp.mkdir()
    templates = dossier_templates(tmp)
    with fresh_db(pg_admin) as url:
        engine = make_engine(url)
        migrate(engine)
        key = identity.ensure_identity(engine, tmp / "server" / KEY_FILE)
        codes = [f"D{b}" for b in range(branches)]
        for code in codes:
            identity.add_branch(engine, code, f"Chi nhánh {code}")
            for clerk in CLERKS:
                identity.author_one(engine, key, code, "user.added", clerk_payload(clerk))
        env = {"MOTCUA_FOLD": fold}
        with server_process(tmp / "server", url, None, env) as server:
            chains: list[list[Event]] = []
            desks: list[Branch] = []
            for code in codes:
                pair = []
                for d in range(2):
                    desk = Branch.init(tmp / f"{code}-{d}", code, "x", ("admin", "admin-pass-1"))
                    enroll(desk, server, str(identity.new_enrol_code(engine, code, 600)["code"]))
                    agent_for(desk).push()
                    pair.append(desk)
                chains += dossier_chains(pair, templates, per_branch, code)
                desks += pair
            clients = [SyncClient(server, Credentials(d.device_id, d.key)) for d in desks]

            def push_all(i: int) -> None:
                for start in range(0, len(chains[i]), batch):
                    clients[i].push(chains[i][start : start + batch])

            threads = [threading.Thread(target=push_all, args=(i,)) for i in range(len(desks))]
            with stopwatch() as took:
                for th in threads:
                    th.start()
                for th in threads:
                    th.join()
            rate = sum(len(c) for c in chains) / took()
            lag = _projection_lag(engine) if fold == "background" else 0.0
        engine.dispose()
        for desk in desks:
            desk.close()
    return rate, lag


def bench_ingest_projections(report: Report, pg_admin: str, tmp: Path) -> None:
    """Push ingest of dossier events with the console's projections folded in the
    background, beside the same pushes with the fold left to readers (``on-read``)."""
    with_fold, lag = _ingest_dossiers(pg_admin, tmp, "background")
    without, _ = _ingest_dossiers(pg_admin, tmp, "on-read")
    report.figure(
        "push ingest of 40,000 dossier events, 16 devices of 8 branches (PostgreSQL, "
        f"default workers), projections folded in the background (caught up {lag:.1f} s "
        "after the last push)",
        with_fold,
        "events/s",
        "the same pushes with projections folded only on read",
        without,
        aim=">= 20,000 events/s and >= 0.8x",
    )


def bench_catch_up(report: Report, tmp: Path) -> None:
    from tests.sync.live import live_server

    with live_server("sqlite", tmp / "catchup-server") as srv:
        identity.add_branch(srv.engine, "BUSY", "Chi nhánh bận")
        a = Branch.init(tmp / "busy-a", "BUSY", "x", ("admin", "admin-pass-1"))
        enroll(a, srv.url, str(identity.new_enrol_code(srv.engine, "BUSY", 600)["code"]))
        agent_for(a).push()
        client = SyncClient(srv.url, Credentials(a.device_id, a.key))
        events = synthetic_chain(a, 30_000)
        for start in range(0, len(events), 2000):
            client.push(events[start : start + 2000])
        b = Branch.init(tmp / "busy-b", "BUSY", "x", ("admin", "admin-pass-1"))
        with apart(srv) as url:
            enroll(b, url, str(identity.new_enrol_code(srv.engine, "BUSY", 600)["code"]))
            fetch_only, took = _timed_catch_up(url, b, 30_000)
        a.close()
        b.close()
    report.figure(
        "catch-up of 30,000 events on a fresh desktop (pull + apply)",
        took,
        "s",
        "fetching the same pages without applying",
        fetch_only,
        aim="<= 5 s",
    )


@contextmanager
def plain_sink(kind: str, folder: Path) -> Iterator[str]:
    """A baseline receiver (``plain_sink``) in its own process; yields its PUT URL."""
    folder.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "tests.bench.plain_sink", kind, str(folder)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = f"http://127.0.0.1:{int(proc.stdout.readline())}/upload"
        _wait_answering(lambda: requests.put(url, data=b"", timeout=1))
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _scans(tmp: Path, size: int, count: int) -> list[Path]:
    """`count` files of `size` random bytes, each a different blob."""
    data = bytearray(os.urandom(size))
    paths = []
    for n in range(count):
        data[:8] = n.to_bytes(8, "big")
        path = tmp / f"scan{n}.bin"
        path.write_bytes(data)
        paths.append(path)
    return paths


def _plain_put(session: requests.Session, url: str, scan: Path) -> float:
    """Seconds to PUT `scan` to `url` as one plain streamed upload (no chunks, no hash)."""
    with stopwatch() as took, scan.open("rb") as handle:
        session.put(url, data=handle, timeout=60).raise_for_status()
    return took()


def bench_blobs(report: Report, tmp: Path, rounds: int = 5) -> None:
    """Blob upload through the protocol (chunks signed over prefix hashes, sized to the
    link) against one plain HTTP PUT of the same file, each receiver in its own process
    (as deployed: the desktop and the server never share an interpreter). The machine is
    noisy, so rounds alternate and the best of each counts."""
    size = 128 * 1024 * 1024
    tmp.mkdir(exist_ok=True)
    scans = _scans(tmp, size, rounds)
    url = f"sqlite:///{tmp / 'blob-server.db'}"
    engine = make_engine(url)
    migrate(engine)
    identity.ensure_identity(engine, tmp / "blob-server" / KEY_FILE)
    identity.add_branch(engine, "BLOB", "x")
    times: dict[str, list[float]] = {"protocol": [], "uvicorn": [], "stdlib": []}
    session = requests.Session()
    with (
        plain_sink("uvicorn", tmp / "sink-uvicorn") as bare,
        plain_sink("stdlib", tmp / "sink-stdlib") as stdlib,
        server_process(tmp / "blob-server", url) as server,
    ):
        desk = Branch.init(tmp / "blob-desk", "BLOB", "x", ("admin", "admin-pass-1"))
        enroll(desk, server, str(identity.new_enrol_code(engine, "BLOB", 600)["code"]))
        agent = agent_for(desk)
        for scan in scans:
            # Each timed upload starts with no write of earlier work pending on the disk:
            # the setup's (the scan, its copy in the desk's store) and the last receiver's.
            os.sync()
            times["uvicorn"].append(_plain_put(session, bare, scan))
            os.sync()
            times["stdlib"].append(_plain_put(session, stdlib, scan))
            LocalReplica(desk).add_blob(scan)
            os.sync()
            with stopwatch() as took:
                summary = agent.upload_blobs(lambda _p: None, SyncSummary())
            assert summary.blobs_up == 1 and summary.bytes_up == size, summary
            times["protocol"].append(took())
        desk.close()
    engine.dispose()
    best = {kind: size / (1024 * 1024) / min(seconds) for kind, seconds in times.items()}
    name = (
        "blob upload through the protocol (signed chunks of 4-64 MiB, SHA-256 checked; "
        f"best of {rounds})"
    )
    report.figure(
        name,
        best["protocol"],
        "MB/s",
        "plain HTTP PUT of the same bytes to the same HTTP server, uvicorn",
        best["uvicorn"],
        aim=">= 80% of the plain upload",
    )
    report.figure(
        name,
        best["protocol"],
        "MB/s",
        "plain HTTP PUT of the same bytes to Python's http.server (for reference)",
        best["stdlib"],
    )


def run(report: Report) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-sync-"))
    try:
        bench_catch_up(report, tmp)
        bench_catch_up_dossiers(report, tmp, round_size=500)
        bench_catch_up_dossiers(report, tmp, round_size=0)
        bench_blobs(report, tmp / "blobs")
        shutil.rmtree(tmp / "blobs", ignore_errors=True)
        os.sync()  # the blob bench's gigabytes leave the page cache now, not during ingest
        with postgres() as pg_admin:
            bench_ingest(report, pg_admin, tmp, workers=None)
            bench_ingest(report, pg_admin, tmp, workers=1)
            bench_ingest_projections(report, pg_admin, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
