"""Fold-time verdicts on actors: the half of the authority table that needs the users.

Made while folding, from the users folded before the event, so every replica reaches the
same verdict; recorded in the quarantine under a rule that is judged again at every
refold (an event that arrives late — the admin's own creation, the centre's enrolment of
a desk — can change them):

- ``branch-admin-role``: a user, calendar or setting event whose actor was not an enabled
  admin then (the centre's chain and a user changing her own password excepted);
- ``unproven-actor``: a step that needs a role (``authority.Rule.proof``) without a valid
  signature of its actor's own key (``core.domain.userkeys``).

A desk's first admin (its first event, written by ``init``) is honoured on that desk, and
across the branch once the centre's enrolment of the desk names the same user and key.
"""

from __future__ import annotations

import json
import os
from bisect import bisect_right
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Connection, text

from core.domain import authority, userkeys
from core.domain.errors import N_
from core.domain.events import Event

from . import quarantine
from .db import raw

UNPROVEN = quarantine.UNPROVEN


def users_now(conn: Connection) -> tuple[dict[str, str], set[str]]:
    rows = conn.execute(text("SELECT username, role, disabled FROM users")).all()
    return {r[0]: r[1] for r in rows}, {r[0] for r in rows if r[2]}


def keys_of(conn: Connection, username: str) -> tuple[list[str], bool]:
    """Every key `username` has had, and whether she is a user made before keys existed
    (her steps are taken as claimed, as they were then)."""
    db = raw(conn)
    found = db.execute("SELECT public_key FROM user_keys WHERE username = ?", (username,))
    keys = [r[0] for r in found]
    row = db.execute("SELECT public_key FROM users WHERE username = ?", (username,)).fetchone()
    return keys, row is not None and row[0] is None and not keys


def add_key(conn: Connection, username: str, public_key: str) -> None:
    raw(conn).execute(
        "INSERT OR IGNORE INTO user_keys (username, public_key) VALUES (?, ?)",
        (username, public_key),
    )


def proven(conn: Connection, event: Event) -> bool:
    """Whether `event` carries a valid proof of its actor (or needs none)."""
    return Verdicts(conn).proven(event)


def refuse_unproven(conn: Connection, event: Event) -> None:
    refusal = authority.AuthorityRefused(
        UNPROVEN,
        N_("Event {event} ({type}) is not applied: it does not carry the proof of {actor}"),
        event=event.event_id,
        type=event.type,
        actor=event.actor,
    )
    quarantine.record(conn, event, UNPROVEN, refusal)


_ROLE_EVENTS = (
    "SELECT hlc, type, payload FROM events WHERE dossier_id IS NULL "
    "AND type IN ('user.added', 'user.role_set', 'user.disabled') "
    "AND json_extract(payload, '$.username') = ? "
    "AND event_id NOT IN (SELECT event_id FROM quarantine) "
    "ORDER BY hlc, origin_device, origin_seq"
)


def role_at(conn: Connection, username: str, hlc: str) -> tuple[str | None, bool]:
    """The role `username` held, and whether she was disabled, at the moment `hlc`: her
    user events up to it, in fold order (the same answer on every replica)."""
    return Verdicts(conn).role_at(username, hlc)


def role_held(conn: Connection, event: Event) -> bool:
    """Whether a decision's actor held a role allowed to take it when she took it."""
    return Verdicts(conn).role_held(event)


class _RoleHistory:
    """One user's role after each of her user events, in fold order: the role at a moment
    is the state after the last of them at or before it."""

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        self.moments: list[str] = []
        self.states: list[tuple[str | None, bool]] = []
        role: str | None = None
        disabled = False
        for hlc, type_, payload in rows:
            body = json.loads(payload)
            if type_ == "user.added":
                role, disabled = str(body.get("role")), False
            elif type_ == "user.role_set":
                role = str(body.get("role"))
            else:
                disabled = bool(body.get("disabled", True))
            self.moments.append(hlc)
            self.states.append((role, disabled))

    def at(self, hlc: str) -> tuple[str | None, bool]:
        # Fold order sorts by the clock first: the events up to `hlc` are a prefix.
        done = bisect_right(self.moments, hlc)
        return self.states[done - 1] if done else (None, False)


PROOFS_IN_PARALLEL = 64  # fewer are verified as the fold meets them


def _proof_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _verify_share(share: list[tuple[Event, tuple[list[str], bool]]]) -> list[bool]:
    return [userkeys.proof_ok(keys, event) for event, (keys, _legacy) in share]


class Verdicts:
    """The fold-time verdicts on dossier steps (``proven``, ``role_held``), reading each
    actor's keys and role history once, however many of her steps are judged.

    One instance serves a batch of dossier folds: they change neither the users' events
    and keys nor the quarantine of user events (they only quarantine dossier steps), so
    what was read stays true for the batch. Anything that folds users makes a new one.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._keys: dict[str, tuple[list[str], bool]] = {}
        self._roles: dict[str, _RoleHistory] = {}
        self._proven: dict[int, tuple[Event, bool]] = {}  # by id(event), the event kept

    def prove_all(self, events: Iterable[Event]) -> None:
        """Verify the proofs of a batch's decisions ahead, on a few threads: Ed25519
        verification releases the GIL, so on a counter PC's cores a catch-up's thousands
        of proofs take a fraction of the time. ``proven`` then reads each verdict (the
        same function of the event and its actor's keys, which a batch does not change)."""
        asked = [
            (event, keys)
            for event in events
            if authority.needs_proof(event)
            and not (keys := self.keys_of(event.actor))[1]  # legacy: no proof asked
        ]
        if len(asked) < PROOFS_IN_PARALLEL:
            return
        threads = _proof_threads()
        shares = [asked[n::threads] for n in range(threads)]  # one task each: few handoffs
        with ThreadPoolExecutor(threads, thread_name_prefix="motcua-proofs") as pool:
            for share, verdicts in zip(shares, pool.map(_verify_share, shares), strict=True):
                for (event, _keys), ok in zip(share, verdicts, strict=True):
                    self._proven[id(event)] = (event, ok)

    def keys_of(self, username: str) -> tuple[list[str], bool]:
        if username not in self._keys:
            self._keys[username] = keys_of(self._conn, username)
        return self._keys[username]

    def proven(self, event: Event) -> bool:
        """Whether `event` carries a valid proof of its actor (or needs none); every proof
        is verified, each against the actor's keys."""
        if not authority.needs_proof(event):
            return True
        ahead = self._proven.get(id(event))
        if ahead is not None and ahead[0] is event:
            return ahead[1]
        keys, legacy = self.keys_of(event.actor)
        if legacy:
            return True
        return userkeys.proof_ok(keys, event)

    def role_at(self, username: str, hlc: str) -> tuple[str | None, bool]:
        history = self._roles.get(username)
        if history is None:
            rows = raw(self._conn).execute(_ROLE_EVENTS, (username,)).fetchall()
            history = self._roles[username] = _RoleHistory(rows)
        return history.at(hlc)

    def role_held(self, event: Event) -> bool:
        """Whether a decision's actor held a role allowed to take it when she took it. Only
        decisions (the steps that carry their actor's proof) are judged: their role is
        what the proof vouches for."""
        allowed = authority.step_roles(event.type)
        if allowed is None or not authority.needs_proof(event):
            return True
        role, disabled = self.role_at(event.actor, event.hlc)
        return role in allowed and not disabled


def refuse_role(conn: Connection, event: Event) -> None:
    role, disabled = role_at(conn, event.actor, event.hlc)
    refusal = authority.AuthorityRefused(
        quarantine.STEP_ROLE,
        N_(
            "Event {event} ({type}) is not applied: {actor} did not hold a role allowed to "
            "take it then ({role})"
        ),
        event=event.event_id,
        type=event.type,
        actor=event.actor,
        role=("disabled" if disabled else role) or "-",
    )
    quarantine.record(conn, event, quarantine.STEP_ROLE, refusal)


def admitted(conn: Connection, event: Event) -> bool:
    """Whether a reference event is honoured now (else it is quarantined, or — a desk's
    first admin that another desk's already named — silently left)."""
    rule = authority.RULES.get(event.type)
    if rule is None or rule.author is not authority.Author.BRANCH_ADMIN:
        return True
    roles, disabled = users_now(conn)
    if event.actor == authority.BOOTSTRAP_ACTOR and event.origin_seq == 1:
        return _first_admin(conn, event, roles)
    if not authority.admin_may(event, roles, disabled):
        _refuse(conn, event, rule.summary)
        return False
    if not proven(conn, event):
        refuse_unproven(conn, event)
        return False
    return True


def _refuse(conn: Connection, event: Event, summary: str) -> None:
    refusal = authority.AuthorityRefused(
        quarantine.FOLD_RULE,
        N_("Event {event} ({type}) by {actor} is not applied: {summary}"),
        event=event.event_id,
        type=event.type,
        actor=event.actor,
        summary=summary,
    )
    quarantine.record(conn, event, quarantine.FOLD_RULE, refusal)


def _first_admin(conn: Connection, event: Event, roles: dict[str, str]) -> bool:
    if event.type != "user.added":
        _refuse(conn, event, N_("a desk's first event may only create its first admin"))
        return False
    username = str(event.payload.get("username"))
    key = event.payload.get("public_key")
    if key is None:  # a store from before keys: as then, the first of a name stays
        return username not in roles
    if event.origin_device != _local_device(conn) and not _vouched(conn, event, str(key)):
        _refuse(conn, event, N_("the centre has not enrolled this desk with this first admin"))
        return False
    if username in roles:
        if roles[username] == "admin":
            add_key(conn, username, str(key))  # the same admin, vouched on one more desk
        return False
    return True


def _local_device(conn: Connection) -> str:
    row = raw(conn).execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()
    return str(row[0]) if row else ""


def _vouched(conn: Connection, event: Event, key: str) -> bool:
    """Whether the centre enrolled the event's desk naming this first admin and key."""
    rows = raw(conn).execute(
        "SELECT event_id, origin_device, payload FROM events WHERE type = 'device.enrolled'"
    )
    skipped = quarantine.ids(conn)
    for event_id, origin, payload in rows:
        if event_id in skipped or not authority.is_centre_origin(origin):
            continue
        body = json.loads(payload)
        if body.get("device_id") == event.origin_device and (
            body.get("admin_username"),
            body.get("admin_key"),
        ) == (event.payload.get("username"), key):
            return True
    return False


# Per quarantined row, one look-up in the events' unique index: every user change runs
# this, and an ``IN (SELECT … FROM events)`` would read every dossier event of the store.
_FORGET_STEP_VERDICTS = (
    "DELETE FROM quarantine WHERE rule = ? AND EXISTS (SELECT 1 FROM events e "
    "WHERE e.event_id = quarantine.event_id AND e.dossier_id IS NOT NULL)"
)


def unproven_dossiers(conn: Connection) -> list[str]:
    """The dossiers holding steps refused as unproven; their verdicts are forgotten, so a
    refold judges them again (with the keys the users' fold holds now)."""
    db = raw(conn)
    found: set[str] = set()
    for rule in quarantine.STEP_VERDICTS:
        rows = db.execute(
            "SELECT DISTINCT e.dossier_id FROM quarantine q JOIN events e "
            "ON e.event_id = q.event_id WHERE q.rule = ? AND e.dossier_id IS NOT NULL",
            (rule,),
        )
        found.update(r[0] for r in rows)
        db.execute(_FORGET_STEP_VERDICTS, (rule,))
    return sorted(found)
