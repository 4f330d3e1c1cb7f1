"""The server's identity and the devices it knows: branches, enrolment, revocation, and
the reference events the centre authors (signed with the server key, one chain per scope).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785
from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from core.domain import hlc
from core.domain.authority import AuthorityRefused, check_device_id
from core.domain.codes import DEFAULT_BLOCK_WIDTH, MAX_NUMBER, check_unit_code
from core.domain.errors import N_, MotcuaError, ValidationError
from core.domain.events import Event
from core.domain.ids import new_uuid7
from core.domain.signing import DeviceKey
from core.sync.wire import DeviceRecord, EnrolRequest, EnrolResponse

from . import ingest
from . import schema as t
from .errors import Refusal

SERVER_KEY = "server_key"
DEVICE_ENROLLED = "device.enrolled"
DEVICE_REVOKED = "device.revoked"
BLOCK_COUNT = MAX_NUMBER // DEFAULT_BLOCK_WIDTH + (1 if MAX_NUMBER % DEFAULT_BLOCK_WIDTH else 0)


def server_origin(scope: str) -> str:
    return f"server:{scope}"


def ensure_identity(engine: Engine, key_file: Path) -> DeviceKey:
    """The server's Ed25519 key and the global scope.

    The key lives in `key_file` (0600), never in the database, so a dump of the database
    holds no secret: every instance reads the same file (copy it to each machine, or mount
    it). A key an older version kept in the database moves to the file once, and is then
    deleted from the database.
    """
    with engine.begin() as conn:
        row = conn.execute(select(t.server_meta.c.value).where(t.server_meta.c.key == SERVER_KEY))
        legacy = row.first()
        if (
            conn.execute(select(t.scopes).where(t.scopes.c.branch == t.GLOBAL_SCOPE)).first()
            is None
        ):
            conn.execute(insert(t.scopes).values(branch=t.GLOBAL_SCOPE, last_seq=0))
    if not key_file.exists():
        pem = legacy.value.encode() if legacy else DeviceKey.generate().to_pem()
        _write_private(key_file, pem)  # a concurrent process may win: its file is the key
    key = _read_key(key_file)
    if legacy is not None:
        if DeviceKey.from_pem(legacy.value.encode()).public_b64 != key.public_b64:
            raise ValidationError(
                N_("The server key file {path} does not match the key in the database"),
                path=str(key_file),
            )
        with engine.begin() as conn:
            conn.execute(delete(t.server_meta).where(t.server_meta.c.key == SERVER_KEY))
    return key


def _write_private(path: Path, content: bytes) -> None:
    """Write `path` once, 0600 whatever the umask, atomically: never half a key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read_key(path: Path) -> DeviceKey:
    try:
        return DeviceKey.from_pem(path.read_bytes())
    except (OSError, ValueError) as err:
        raise ValidationError(
            N_("The server key file {path} cannot be read: {detail}"),
            path=str(path),
            detail=getattr(err, "strerror", None) or str(err),
        ) from None


# --- branches -------------------------------------------------------------------------------


def add_branch(engine: Engine, code: str, name: str) -> dict[str, str]:
    check_unit_code(code)
    if not name.strip():
        raise ValidationError(N_("Branch name is required"))
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(t.branches).values(code=code, name=name.strip(), created_at=ingest.now_iso())
            )
            conn.execute(insert(t.scopes).values(branch=code, last_seq=0))
    except SqlIntegrityError:
        raise ValidationError(N_("Branch {code} already exists"), code=code) from None
    return {"code": code, "name": name.strip()}


def list_branches(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.branches, t.scopes.c.last_seq)
            .join(t.scopes, t.scopes.c.branch == t.branches.c.code)
            .order_by(t.branches.c.code)
        )
        return [{"code": r.code, "name": r.name, "events": r.last_seq} for r in rows]


def _require_branch(conn: Connection, code: str) -> None:
    if conn.execute(select(t.branches.c.code).where(t.branches.c.code == code)).first() is None:
        raise Refusal(404, "unknown-branch", N_("Unknown branch {branch}"), branch=code)


require_branch = _require_branch


# --- enrolment --------------------------------------------------------------------------------


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def new_enrol_code(
    engine: Engine, branch: str, ttl_s: int, now_ms: int | None = None
) -> dict[str, Any]:
    """A one-time code (shown once; only its hash is stored) that expires after `ttl_s`."""
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    code = "-".join(secrets.token_hex(2).upper() for _ in range(4))
    with engine.begin() as conn:
        _require_branch(conn, branch)
        conn.execute(
            insert(t.enrol_codes).values(
                code_hash=_code_hash(code),
                branch=branch,
                expires_ms=now + ttl_s * 1000,
                used_by="",
                created_at=ingest.now_iso(),
            )
        )
    return {"branch": branch, "code": code, "expires_in_s": ttl_s}


def _take_code(conn: Connection, code: str, request: EnrolRequest, now_ms: int) -> None:
    """Take a one-time code. A code of another branch is answered exactly like an unknown
    one (and before its expiry is looked at): a failed attempt learns nothing about it."""
    row = conn.execute(
        select(t.enrol_codes).where(t.enrol_codes.c.code_hash == _code_hash(code))
    ).first()
    if row is None or row.used_by or row.branch != request.branch:
        raise Refusal(403, "bad-code", N_("This enrolment code is unknown or was already used"))
    if row.expires_ms < now_ms:
        raise Refusal(410, "expired-code", N_("This enrolment code has expired: ask for a new one"))
    taken = conn.execute(
        update(t.enrol_codes)
        .where(t.enrol_codes.c.code_hash == row.code_hash)
        .where(t.enrol_codes.c.used_by == "")
        .values(used_by=request.device_id)
    )
    if taken.rowcount != 1:
        raise Refusal(403, "bad-code", N_("This enrolment code is unknown or was already used"))


def _free_block(conn: Connection, branch: str) -> int:
    used: set[int] = set()
    for row in conn.execute(select(t.devices.c.code_blocks).where(t.devices.c.branch == branch)):
        used |= set(json.loads(row.code_blocks))
    for block in range(BLOCK_COUNT):
        if block not in used:
            return block
    raise Refusal(
        409, "no-blocks", N_("Branch {branch} has no dossier number block left"), branch=branch
    )


def record_signature(key: DeviceKey, record: DeviceRecord) -> str:
    return key.sign(rfc8785.dumps(record.model_dump()))


def enrol(
    engine: Engine, key: DeviceKey, request: EnrolRequest, now_ms: int | None = None
) -> EnrolResponse:
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    try:
        check_device_id(request.device_id)
    except AuthorityRefused as err:
        raise Refusal(
            403, "authority", err.message, extra={"rule": err.rule}, **err.params
        ) from None
    with engine.begin() as conn:
        _take_code(conn, request.code, request, now)
        if conn.execute(
            select(t.devices.c.device_id).where(t.devices.c.device_id == request.device_id)
        ).first():
            raise Refusal(
                409,
                "already-enrolled",
                N_("Device {device} is already enrolled"),
                device=request.device_id,
            )
        block = _free_block(conn, request.branch)
        record = DeviceRecord(
            device_id=request.device_id,
            branch=request.branch,
            public_key=request.public_key,
            label=request.label,
            code_blocks=[block],
            block_width=DEFAULT_BLOCK_WIDTH,
            enrolled_at=ingest.now_iso(),
        )
        conn.execute(
            insert(t.devices).values(
                device_id=record.device_id,
                branch=record.branch,
                public_key=record.public_key,
                label=record.label,
                code_blocks=json.dumps(record.code_blocks),
                revoked=False,
                flagged="",
                enrolled_at=record.enrolled_at,
            )
        )
        payload = {
            "device_id": record.device_id,
            "branch": record.branch,
            "public_key": record.public_key,
            "label": record.label,
        }
        if request.admin_username and request.admin_key:  # vouch for the desk's first admin
            payload |= {"admin_username": request.admin_username, "admin_key": request.admin_key}
        author(conn, key, request.branch, DEVICE_ENROLLED, payload, now)
    return EnrolResponse(
        device=record,
        signature=record_signature(key, record),
        server_public_key=key.public_b64,
        server_origins=[server_origin(t.GLOBAL_SCOPE), server_origin(request.branch)],
    )


def list_devices(engine: Engine, branch: str | None = None) -> list[dict[str, Any]]:
    query = select(t.devices).order_by(t.devices.c.branch, t.devices.c.enrolled_at)
    if branch:
        query = query.where(t.devices.c.branch == branch)
    with engine.connect() as conn:
        heads = {
            r.device_id: r.last_seq
            for r in conn.execute(select(t.heads.c.device_id, t.heads.c.last_seq))
        }
        return [
            {
                "device_id": r.device_id,
                "branch": r.branch,
                "label": r.label,
                "code_blocks": json.loads(r.code_blocks),
                "revoked": r.revoked,
                "flagged": r.flagged,
                "enrolled_at": r.enrolled_at,
                "events": heads.get(r.device_id, 0),
            }
            for r in conn.execute(query)
        ]


def revoke(engine: Engine, key: DeviceKey, device_id: str) -> dict[str, Any]:
    with engine.begin() as conn:
        row = conn.execute(select(t.devices).where(t.devices.c.device_id == device_id)).first()
        if row is None:
            raise Refusal(404, "unknown-device", N_("Unknown device {device}"), device=device_id)
        if row.revoked:  # once is enough: no second event for every desk to apply
            return {"device_id": device_id, "revoked": True, "already": True}
        conn.execute(
            update(t.devices).where(t.devices.c.device_id == device_id).values(revoked=True)
        )
        author(
            conn, key, row.branch, DEVICE_REVOKED, {"device_id": device_id}, int(time.time() * 1000)
        )
    return {"device_id": device_id, "revoked": True, "already": False}


# --- reference events authored by the centre --------------------------------------------------


def author(
    conn: Connection, key: DeviceKey, scope: str, type_: str, payload: dict[str, Any], now_ms: int
) -> Event:
    """Append one server-signed event to `scope`, inside the caller's transaction."""
    origin = server_origin(scope)
    last = ingest.lock_scope(conn, scope)
    heads = ingest.load_heads(conn, scope, [origin])
    head = heads[origin]
    previous = hlc.Timestamp.decode(head.hlc) if head.hlc else hlc.ZERO
    event = Event(
        event_id=new_uuid7(),
        dossier_id=None,
        branch=scope,
        type=type_,
        payload=payload,
        actor="central",
        origin_device=origin,
        origin_seq=head.seq + 1,
        hlc=hlc.tick(previous, now_ms).encode(),
        prev_hash=head.hash,
    ).sealed(key)
    ingest.check_authority(event)  # the centre's own events follow the table too
    ingest.append(conn, scope, last, [event], heads)
    return event


def author_one(
    engine: Engine, key: DeviceKey, scope: str, type_: str, payload: dict[str, Any]
) -> dict[str, Any]:
    with engine.begin() as conn:
        if scope != t.GLOBAL_SCOPE:
            _require_branch(conn, scope)
        event = author(conn, key, scope, type_, payload, int(time.time() * 1000))
    return {
        "event_id": event.event_id,
        "scope": scope,
        "type": type_,
        "origin_seq": event.origin_seq,
    }


@dataclass(frozen=True)
class DeviceRow:
    device_id: str
    branch: str
    public_key: str
    revoked: bool
    flagged: str = ""


def find_device(conn: Connection, device_id: str) -> DeviceRow | None:
    row = conn.execute(select(t.devices).where(t.devices.c.device_id == device_id)).first()
    if row is None:
        return None
    return DeviceRow(row.device_id, row.branch, row.public_key, bool(row.revoked), row.flagged)


def clear_flag(engine: Engine, device_id: str) -> dict[str, Any]:
    """The centre clears a flagged device (after looking into it): its pushes are taken
    again. The incident log keeps the flag and the clearing."""
    with engine.begin() as conn:
        row = conn.execute(select(t.devices).where(t.devices.c.device_id == device_id)).first()
        if row is None:
            raise Refusal(404, "unknown-device", N_("Unknown device {device}"), device=device_id)
        conn.execute(update(t.devices).where(t.devices.c.device_id == device_id).values(flagged=""))
        conn.execute(
            insert(t.incidents).values(
                device_id=device_id, kind="cleared", detail=row.flagged, at=ingest.now_iso()
            )
        )
    return {"device_id": device_id, "flagged": ""}


def refusal_of(err: MotcuaError) -> Refusal:
    if isinstance(err, Refusal):
        return err
    return Refusal(400, "invalid", err.message, **err.params)
