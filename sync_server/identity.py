"""The server's identity and the devices it knows: branches, enrolment, revocation, and
the reference events the centre authors (signed with the server key, one chain per scope).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import rfc8785
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from core.domain import hlc
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


def ensure_identity(engine: Engine) -> DeviceKey:
    """The server's Ed25519 key (created once, shared by every instance) and the global scope."""
    with engine.begin() as conn:
        row = conn.execute(select(t.server_meta.c.value).where(t.server_meta.c.key == SERVER_KEY))
        found = row.first()
        if found is None:
            key = DeviceKey.generate()
            conn.execute(insert(t.server_meta).values(key=SERVER_KEY, value=key.to_pem().decode()))
        else:
            key = DeviceKey.from_pem(found.value.encode())
        if (
            conn.execute(select(t.scopes).where(t.scopes.c.branch == t.GLOBAL_SCOPE)).first()
            is None
        ):
            conn.execute(insert(t.scopes).values(branch=t.GLOBAL_SCOPE, last_seq=0))
    return key


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
    row = conn.execute(
        select(t.enrol_codes).where(t.enrol_codes.c.code_hash == _code_hash(code))
    ).first()
    if row is None or row.used_by:
        raise Refusal(403, "bad-code", N_("This enrolment code is unknown or was already used"))
    if row.expires_ms < now_ms:
        raise Refusal(410, "expired-code", N_("This enrolment code has expired: ask for a new one"))
    if row.branch != request.branch:
        raise Refusal(
            409,
            "branch-mismatch",
            N_("This code enrols into branch {code_branch}, but this desktop belongs to {branch}"),
            code_branch=row.branch,
            branch=request.branch,
        )
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
        conn.execute(
            update(t.devices).where(t.devices.c.device_id == device_id).values(revoked=True)
        )
        author(
            conn, key, row.branch, DEVICE_REVOKED, {"device_id": device_id}, int(time.time() * 1000)
        )
    return {"device_id": device_id, "revoked": True}


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


def find_device(conn: Connection, device_id: str) -> DeviceRow | None:
    row = conn.execute(select(t.devices).where(t.devices.c.device_id == device_id)).first()
    return DeviceRow(row.device_id, row.branch, row.public_key, bool(row.revoked)) if row else None


def refusal_of(err: MotcuaError) -> Refusal:
    if isinstance(err, Refusal):
        return err
    return Refusal(400, "invalid", err.message, **err.params)
