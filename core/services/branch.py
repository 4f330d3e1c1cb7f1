"""A branch desktop's store, opened: the entry point of every core service.

branch = Branch.init(data_dir, unit_code="TAYHO", branch_name="…", admin=("admin", pw))
user = branch.login("admin", pw)
dossier, changes = branch.dossiers.receive(user, "HT-KS", applicant, components=[…])
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import DatabaseError, SQLAlchemyError

from core.domain import authority, transfers, userkeys
from core.domain.calendar import DayKind, Override, WorkCalendar
from core.domain.catalogue import Procedure
from core.domain.codes import DEFAULT_BLOCK_WIDTH, CodeSpace, check_unit_code
from core.domain.dossier import DossierView
from core.domain.errors import (
    N_,
    AuthenticationFailed,
    MotcuaError,
    PermissionDenied,
    StoreError,
    StoreKeyError,
    TransitionRefused,
    ValidationError,
)
from core.domain.events import Event
from core.domain.hlc import Timestamp
from core.domain.ids import new_uuid7
from core.domain.signing import DeviceKey
from core.domain.timeutil import VIETNAM, epoch_ms, from_epoch_ms
from core.domain.workflow import Role
from core.storage import actors, event_store, projection, replication
from core.storage import meta as store_meta
from core.storage import schema as t
from core.storage.db import CIPHER_SETTINGS, Store, check_store_file, diagnose, migrate, raw

from . import catalogue, storekey, users
from .changes import Changes

log = logging.getLogger(__name__)

DB_NAME = "motcua.db"
KEY_NAME = "device.key"
Clock = Callable[[], datetime]
REVOKED = N_(
    "This desk has been revoked by the central server: it records no new receipts or "
    "steps. Dossiers can still be read, and branch IT can export the events the server "
    "never received."
)
_REVOKED = "SELECT revoked FROM devices WHERE device_id = ?"


def _now() -> datetime:
    return datetime.now(VIETNAM)


@dataclass
class Branch:
    data_dir: Path
    store: Store
    key: DeviceKey
    device_id: str
    branch_code: str
    branch_name: str
    codespace: CodeSpace
    clock: Clock = _now
    _catalogue: dict[str, Procedure] | None = field(default=None, repr=False)
    _calendar: WorkCalendar | None = field(default=None, repr=False)

    # --- opening -------------------------------------------------------------------
    @classmethod
    def init(
        cls,
        data_dir: Path,
        unit_code: str,
        branch_name: str,
        admin: tuple[str, str],
        clock: Clock = _now,
        *,
        encrypt: bool = False,
        passphrase: str | None = None,
    ) -> Branch:
        """Create the store, the device key, the catalogue and the first branch admin.
        With `encrypt`, the store, the device key and the scans are encrypted under a new
        store key kept in the OS keystore and/or under `passphrase` (``storekey``)."""
        check_unit_code(unit_code)
        admin_name = users.check_username(admin[0])
        admin_credentials = users.credentials(admin[1])
        if not branch_name.strip():
            raise ValidationError(N_("Branch name is required"))
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if (data_dir / DB_NAME).exists():
            raise ValidationError(N_("A store already exists in {path}"), path=str(data_dir))
        if (data_dir / KEY_NAME).exists():
            raise ValidationError(
                N_(
                    "A device key is already in {path} without a store: move it away first "
                    "(it may be an enrolled desk's)"
                ),
                path=str(data_dir),
            )
        try:
            store_key = storekey.create(data_dir, passphrase)[0] if encrypt else None
            return cls._create(
                data_dir,
                unit_code,
                branch_name.strip(),
                admin_name,
                admin_credentials,
                clock,
                store_key,
            )
        except BaseException:
            # Half a store is worse than none: the next `init` would refuse it.
            names = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", KEY_NAME, storekey.KEYS_FILE)
            for name in names:
                (data_dir / name).unlink(missing_ok=True)
            raise

    @classmethod
    def _create(
        cls,
        data_dir: Path,
        unit_code: str,
        branch_name: str,
        admin_name: str,
        admin_credentials: dict[str, Any],
        clock: Clock,
        store_key: bytes | None = None,
    ) -> Branch:
        key = DeviceKey.generate()
        _write_key(data_dir / KEY_NAME, key, store_key)
        store = Store(data_dir / DB_NAME, store_key)
        storekey.register_blobs(data_dir, store_key, store)
        migrate(store.writer)
        device_id = new_uuid7()
        settings = {
            "branch_code": unit_code,
            "branch_name": branch_name,
            "device_id": device_id,
            "code_blocks": json.dumps([0]),
            "block_width": str(DEFAULT_BLOCK_WIDTH),
        }
        try:
            store.write(lambda conn: _initialise(conn, settings, key, device_id))
            branch = cls._from_store(data_dir, store, key, clock)
            branch.record(
                None,
                "system",
                "user.added",
                {
                    "username": admin_name,
                    "full_name": admin_name,
                    "role": Role.ADMIN.value,
                    **admin_credentials,
                },
            )
        except BaseException:
            store.close()
            storekey.unregister_blobs(data_dir, store_key, store)
            raise
        return branch

    @classmethod
    def open(
        cls,
        data_dir: Path,
        clock: Clock = _now,
        *,
        passphrase: str | None = None,
        prompt: storekey.Prompt | None = None,
    ) -> Branch:
        """Open the store in `data_dir`; an encrypted one with its key from the OS
        keystore, else from `passphrase`, ``MOTCUA_PASSPHRASE`` or `prompt`."""
        unlocked = storekey.open_store(data_dir, passphrase, prompt)
        if unlocked is None:
            check_store_file(data_dir / DB_NAME)
            store_key, cipher = None, CIPHER_SETTINGS
        else:
            store_key, cipher = unlocked.key, unlocked.cipher
        key = load_key(data_dir / KEY_NAME, store_key)
        store = Store(data_dir / DB_NAME, store_key, cipher)
        storekey.register_blobs(data_dir, store_key, store)
        try:
            migrate(store.writer)
            with store.read() as conn:
                stale = replication.has_stale(conn)
            if stale:  # a pull was cut before it folded what it logged
                try:
                    store.write(lambda conn: replication.settle(conn, {}))
                except (MotcuaError, SQLAlchemyError) as err:  # the next pull retries
                    log.warning("dossiers left stale by a cut pull were not refolded: %s", err)
            return cls._from_store(data_dir, store, key, clock)
        except DatabaseError as err:
            store.close()
            storekey.unregister_blobs(data_dir, store_key, store)
            log.error("store %s could not be opened: %s", data_dir / DB_NAME, err)
            if store_key is not None and "not a database" in str(err):
                raise StoreKeyError(
                    N_("The store {path} does not open with its key: restore it from a backup"),
                    path=str(data_dir / DB_NAME),
                ) from err
            raise diagnose(data_dir / DB_NAME, err) from err
        except BaseException:
            store.close()
            storekey.unregister_blobs(data_dir, store_key, store)
            raise

    @classmethod
    def _from_store(cls, data_dir: Path, store: Store, key: DeviceKey, clock: Clock) -> Branch:
        with store.read() as conn:
            meta = {r.key: r.value for r in conn.execute(select(t.meta))}
        if not {"branch_code", "branch_name", "device_id", "code_blocks"} <= meta.keys():
            raise StoreError(
                N_("The store {path} holds no branch: it is damaged or was never initialised"),
                path=str(store.path),
            )
        space = CodeSpace(
            meta["branch_code"], tuple(json.loads(meta["code_blocks"])), int(meta["block_width"])
        )
        return cls(
            data_dir,
            store,
            key,
            meta["device_id"],
            meta["branch_code"],
            meta["branch_name"],
            space,
            clock,
        )

    def close(self) -> None:
        self.store.close()
        storekey.unregister_blobs(self.data_dir, self.store.key, self.store)

    # --- events ----------------------------------------------------------------------
    def append(
        self,
        conn: Connection,
        dossier_id: str | None,
        actor: str,
        type_: str,
        payload: dict[str, Any],
        parents: tuple[str, ...] = (),
        signer: DeviceKey | None = None,
    ) -> tuple[Event, DossierView | None]:
        """Append one local event and update the projections, in the caller's transaction.
        Returns the event and, for a dossier event, the dossier as it now stands. A step
        that needs a role carries the proof of its actor, made with `signer` (her key)."""
        if _revoked(conn, self.device_id):
            raise PermissionDenied(REVOKED)
        rule = authority.rule_for(type_)
        if rule.proof and signer is not None and actor != authority.BOOTSTRAP_ACTOR:
            proof = userkeys.prove(
                signer, type_, self.branch_code, dossier_id, actor, parents, payload
            )
            payload = {**payload, userkeys.PROOF: proof}

        def draft(seq: int, prev: str, stamp: str) -> Event:
            return Event(
                event_id=new_uuid7(),
                dossier_id=dossier_id,
                branch=self.branch_code,
                type=type_,
                payload=payload,
                actor=actor,
                origin_device=self.device_id,
                origin_seq=seq,
                hlc=stamp,
                parents=parents,
                prev_hash=prev,
            )

        event = event_store.append_local(
            conn, self.device_id, self.key, epoch_ms(self.clock()), draft
        )
        _check_after_parents(conn, event)
        # What this desk writes, every other replica will check: refuse it here first (the
        # transaction rolls back), so a bug can never put an event in the chain that the
        # centre refuses.
        authority.check(event, self.branch_code)
        transfers.check_event(event, centre_key(conn, self.branch_code))
        if not actors.proven(conn, event):
            raise PermissionDenied(
                N_("{user} must log in again: this step needs the proof of her own key"),
                user=actor,
            )
        return event, projection.apply_event(conn, event)

    def record(
        self,
        dossier_id: str | None,
        actor: str,
        type_: str,
        payload: dict[str, Any],
        signer: DeviceKey | None = None,
    ) -> Changes:
        """Append a single event in its own transaction; a dossier event names the dossier's
        current heads as its parents, read in that same transaction."""

        def work(conn: Connection) -> None:
            view = projection.load_view(conn, dossier_id) if dossier_id else None
            parents = view.heads if view else ()
            self.append(conn, dossier_id, actor, type_, payload, parents, signer)

        self.store.write(work)
        self._calendar = None
        return Changes(
            dossiers=frozenset({dossier_id} if dossier_id else ()),
            users=type_.startswith("user."),
            calendar=type_.startswith("calendar."),
            events_added=1,
        )

    # --- revocation ------------------------------------------------------------------
    @property
    def revoked(self) -> bool:
        """Whether the centre revoked this desk: its server said so, or its own
        ``device.revoked`` event reached this desk (from a LAN peer). A revoked desk keeps
        reading and refuses every new event (``append``); it is never un-revoked."""
        with self.store.read() as conn:
            return _revoked(conn, self.device_id)

    def mark_revoked(self) -> None:
        """The server answered that this desk is revoked: remember it in the store."""
        mine = t.devices.c.device_id == self.device_id
        self.store.write(
            lambda conn: conn.execute(update(t.devices).where(mine).values(revoked=True))
        )

    # --- reference data ----------------------------------------------------------------
    def procedures(self) -> dict[str, Procedure]:
        if self._catalogue is None:
            with self.store.read() as conn:
                current = catalogue.current_procedures(conn, self.clock().date())
            self._catalogue = {p.code: p for p in current}
        return self._catalogue

    def calendar(self) -> WorkCalendar:
        if self._calendar is None:
            with self.store.read() as conn:
                rows = conn.execute(select(t.calendar_overrides)).all()
            overrides = [
                Override(date.fromisoformat(r.day), DayKind(r.kind), r.reason) for r in rows
            ]
            self._calendar = WorkCalendar.with_overrides(overrides)
        return self._calendar

    # --- users -----------------------------------------------------------------------
    def login(self, username: str, password: str) -> users.User:
        if not username:
            raise AuthenticationFailed(N_("Set MOTCUA_USER and MOTCUA_PASSWORD to act as a user"))
        now = self.clock()
        result = self.store.write(lambda conn: users.authenticate(conn, username, password, now))
        if isinstance(result, AuthenticationFailed):
            raise result
        return result

    # --- services (imported late: they build on this class) ----------------------------
    @property
    def dossiers(self) -> Any:
        from .dossiers import DossierService

        return DossierService(self)

    @property
    def admin(self) -> Any:
        from .admin import AdminService

        return AdminService(self)

    @property
    def slips(self) -> Any:
        from .slips import SlipService

        return SlipService(self)

    @property
    def reports(self) -> Any:
        from .reporting import ReportService

        return ReportService(self)


def load_key(path: Path, store_key: bytes | None = None) -> DeviceKey:
    """This desktop's signing key, or a refusal saying what to do without it (sealed with
    `store_key` on an encrypted desk)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise StoreError(
            N_(
                "The device key {path} is missing: restore it from the backup of this store "
                "(a desk without its key must be enrolled again)"
            ),
            path=str(path),
        ) from None
    data = storekey.open_device_key(data, store_key, path)
    try:
        return DeviceKey.from_pem(data)
    except (ValueError, TypeError, MotcuaError):
        raise StoreError(
            N_("The device key {path} is damaged: restore it from the backup of this store"),
            path=str(path),
        ) from None


def _write_key(path: Path, key: DeviceKey, store_key: bytes | None = None) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(storekey.seal_device_key(key.to_pem(), store_key))


def _initialise(conn: Connection, settings: dict[str, str], key: DeviceKey, device_id: str) -> None:
    for name, value in settings.items():
        conn.execute(insert(t.meta).values(key=name, value=value))
    conn.execute(
        insert(t.devices).values(
            device_id=device_id,
            branch=settings["branch_code"],
            public_key=key.public_b64,
            label="",
            revoked=False,
        )
    )
    catalogue.store_procedures(conn, catalogue.shipped_catalogue())


def _revoked(conn: Connection, device_id: str) -> bool:
    row = raw(conn).execute(_REVOKED, (device_id,)).fetchone()
    return bool(row and row[0])


def centre_key(conn: Connection, branch_code: str) -> str | None:
    """The centre's key as this desk knows it (None before enrolment)."""
    centre = authority.CENTRE_PREFIX + branch_code
    row = conn.execute(select(t.devices.c.public_key).where(t.devices.c.device_id == centre))
    found = row.first()
    return str(found.public_key) if found else None


def set_meta(conn: Connection, name: str, value: str) -> None:
    store_meta.put(conn, name, value)


def _check_after_parents(conn: Connection, event: Event) -> None:
    """A step sorts after the steps it follows (``fold_order``: by clock), or every fold
    would apply it before its cause and drop it. This desk's clock keeps past what it
    receives unless that is more than a day ahead of it (``hlc.MAX_AHEAD_MS``): then the
    step is refused, rather than written to be lost, until the clocks are set right."""
    latest = event_store.latest_clock(conn, event.parents)
    if latest is None or latest < event.hlc:
        return
    ahead = from_epoch_ms(Timestamp.decode(latest).wall_ms)
    raise TransitionRefused(
        N_(
            "This dossier was last changed by a desk whose clock reads {at}, more than a "
            "day past this desk's: check the date and time of both desks"
        ),
        at=ahead.strftime("%H:%M %d/%m/%Y"),
    )
