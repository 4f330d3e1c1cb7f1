"""Who may author which event: one table, enforced by the server at ingest, by every desktop
before it applies an event, and by the LAN peer service (through the desktop's ingest).

A signature proves which device wrote an event; this table says whether that device (and
the user it names) was allowed to. For each event type it gives:

- the **author**: the centre's key in its own chain (``server:<scope>``), a branch admin
  (on a desk of the branch, or the centre), or any desk of the dossier's branch;
- the **scope**: the global scope ``*`` (national reference data) or a branch;
- whether the event belongs to a dossier;
- the **payload schema** (``core.domain.payloads``).

``check`` is the stateless part, the same everywhere: grammar of the identifiers, the
rule's author, scope and payload. The part that needs the branch's users (is the actor an
admin when the event is folded?) is ``admin_may`` and runs in the desktops' folds, in fold
order, so every replica reaches the same verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import ValidationError as SchemaError

from . import payloads as p
from .errors import N_, PermissionDenied, ValidationError
from .events import Event
from .workflow import TRANSITIONS, Action, Role

GLOBAL_SCOPE = "*"
CENTRE_PREFIX = "server:"
CENTRE_ACTOR = "central"
BOOTSTRAP_ACTOR = "system"  # the first admin a desk creates for itself at ``init``
CITIZEN_ACTOR = "citizen"  # a rating from the kiosk
RESERVED_DEVICE_IDS = frozenset({"server", "central", "centre", "system", "citizen"})

_TYPE = re.compile(r"^[a-z][a-z0-9_-]{0,30}\.[a-z][a-z0-9_-]{0,40}$")
_ACTOR = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_DEVICE = re.compile(p.DEVICE_ID_PATTERN)
_BRANCH_CODE = re.compile(r"^[A-Z0-9][A-Z0-9.]{0,30}$")


class Author(StrEnum):
    CENTRE = "centre"
    BRANCH_ADMIN = "branch-admin"
    BRANCH_DESK = "branch-desk"


class ScopeKind(StrEnum):
    GLOBAL = "global"
    BRANCH = "branch"


@dataclass(frozen=True)
class Rule:
    name: str
    author: Author
    scopes: frozenset[ScopeKind]
    payload: type[p.Payload]
    dossier: bool
    summary: str
    proof: bool = False  # carries the acting user's own signature (``core.domain.userkeys``)


class AuthorityRefused(PermissionDenied):
    """An event its author was not allowed to write; ``rule`` names the rule it broke."""

    exit_code = 9

    def __init__(self, rule: str, message: str, **params: Any) -> None:
        self.rule = rule
        super().__init__(message, **params)


class MalformedEvent(ValidationError):
    """An event whose identifiers or payload break the grammar or its type's schema."""

    exit_code = 9

    def __init__(self, rule: str, message: str, **params: Any) -> None:
        self.rule = rule
        super().__init__(message, **params)


_GLOBAL = frozenset({ScopeKind.GLOBAL})
_BRANCH = frozenset({ScopeKind.BRANCH})
_EITHER = _GLOBAL | _BRANCH


def _centre(name: str, scopes: frozenset[ScopeKind], payload: type[p.Payload]) -> Rule:
    summary = N_("only the centre may write this, in its own chain")
    return Rule(name, Author.CENTRE, scopes, payload, False, summary)


def _admin(payload: type[p.Payload]) -> Rule:
    summary = N_("only a branch admin on a desk of the branch, or the centre, may write this")
    return Rule("branch-admin", Author.BRANCH_ADMIN, _BRANCH, payload, False, summary, True)


def _step(payload: type[p.Payload], proof: bool = False) -> Rule:
    summary = N_("only a desk of the dossier's branch may write a dossier step")
    return Rule("dossier-step", Author.BRANCH_DESK, _BRANCH, payload, True, summary, proof)


# Steps whose role is a decision: they carry the deciding user's own signature.
PROVEN_ACTIONS = frozenset({Action.APPROVE, Action.REJECT, Action.REAPPOINT, Action.STOP})


_STEP_PAYLOADS: dict[Action, type[p.Payload]] = {
    Action.RECEIVE: p.Receipt,
    Action.REAPPOINT: p.Reappointment,
    Action.SEND_OUT: p.SendOut,
    Action.SEND_BACK: p.SendBack,
    Action.TAKE_BACK: p.TakeBack,
}

RULES: dict[str, Rule] = {
    "device.enrolled": _centre("centre-devices", _BRANCH, p.DeviceEnrolled),
    "device.revoked": _centre("centre-devices", _BRANCH, p.DeviceRevoked),
    "catalogue.published": _centre("centre-catalogue", _GLOBAL, p.CataloguePublished),
    "calendar.override_set": Rule(
        "calendar-override",
        Author.BRANCH_ADMIN,
        _EITHER,
        p.CalendarOverride,
        False,
        N_("national days off only by the centre; a branch's only by its admin or the centre"),
        True,
    ),
    "user.added": _admin(p.UserAdded),
    "user.password_set": _admin(p.UserPassword),
    "user.role_set": _admin(p.UserRole),
    "user.disabled": _admin(p.UserDisabled),
    "user.unlocked": _admin(p.UserUnlocked),
    "branch.setting_set": _admin(p.Setting),
    "dossier.note": _step(p.Note),
    "dossier.attach": _step(p.Attachment),
    "dossier.rate": _step(p.Rating),
    "dossier.resolve": _step(p.Resolution, proof=True),
    "dossier.edit": _step(p.FieldEdit),
    "dossier.fee_paid": _step(p.FeePaid),
    "dossier.submitted_online": _step(p.Receipt),
    # A dossier another unit sent here, accepted (``core.domain.transfers``).
    "dossier.transfer-in": _step(p.TransferIn),
    **{
        f"dossier.{a.value}": _step(_STEP_PAYLOADS.get(a, p.Step), a in PROVEN_ACTIONS)
        for a in Action
    },
}


def rule_for(event_type: str) -> Rule:
    rule = RULES.get(event_type)
    if rule is None:
        raise MalformedEvent(
            "unknown-type", N_("Event type {type} is not known"), type=_shown(event_type)
        )
    return rule


def is_centre_origin(origin: str) -> bool:
    return origin.startswith(CENTRE_PREFIX)


def check_device_id(device_id: str) -> None:
    """A device identifier that can be enrolled: never the centre's nor a reserved word."""
    if not _DEVICE.fullmatch(device_id) or device_id.lower() in RESERVED_DEVICE_IDS:
        raise AuthorityRefused(
            "reserved-identifier",
            N_("{device} cannot be a device identifier"),
            device=_shown(device_id),
        )


def check(event: Event, origin_branch: str | None = None) -> Rule:
    """Refuse `event` unless its type's rule allows its origin, scope and payload.

    `origin_branch` is the branch the receiver knows the origin device by (``None`` for
    the centre's chains, or where the caller checked it already).
    """
    rule = rule_for(event.type)
    _check_grammar(event)
    _check_scope(event, rule)
    _check_origin(event, rule, origin_branch)
    check_payload(event, rule)
    return rule


def _check_grammar(event: Event) -> None:
    if not _TYPE.fullmatch(event.type):
        raise MalformedEvent("grammar", N_("Event type {type} is malformed"), type=event.type)
    if not _ACTOR.fullmatch(event.actor):
        raise MalformedEvent(
            "grammar", N_("Event {event} names a malformed actor"), event=event.event_id
        )
    if event.branch != GLOBAL_SCOPE and not _BRANCH_CODE.fullmatch(event.branch):
        raise MalformedEvent(
            "grammar", N_("Event {event} names a malformed branch"), event=event.event_id
        )
    if event.dossier_id is not None and not _DEVICE.fullmatch(event.dossier_id):
        raise MalformedEvent(
            "grammar", N_("Event {event} names a malformed dossier"), event=event.event_id
        )
    origin = event.origin_device
    if not (_DEVICE.fullmatch(origin) or origin == CENTRE_PREFIX + event.branch):
        raise MalformedEvent(
            "grammar", N_("Event {event} names a malformed origin"), event=event.event_id
        )


def _check_scope(event: Event, rule: Rule) -> None:
    kind = ScopeKind.GLOBAL if event.branch == GLOBAL_SCOPE else ScopeKind.BRANCH
    if kind not in rule.scopes:
        raise AuthorityRefused(
            rule.name,
            N_("Event {event} ({type}) cannot be written in scope {scope}: {summary}"),
            event=event.event_id,
            type=event.type,
            scope=event.branch,
            summary=rule.summary,
        )
    if rule.dossier != (event.dossier_id is not None):
        message = (
            N_("Event {event} ({type}) must belong to a dossier")
            if rule.dossier
            else N_("Event {event} ({type}) must not belong to a dossier")
        )
        raise MalformedEvent("dossier-scope", message, event=event.event_id, type=event.type)


def _check_origin(event: Event, rule: Rule, origin_branch: str | None) -> None:
    centre = is_centre_origin(event.origin_device)
    national = event.branch == GLOBAL_SCOPE
    allowed = {
        Author.CENTRE: centre,
        Author.BRANCH_ADMIN: centre or not national,
        Author.BRANCH_DESK: not centre,
    }[rule.author]
    if allowed and not centre and origin_branch is not None:
        allowed = origin_branch == event.branch
    if not allowed:
        raise AuthorityRefused(
            rule.name,
            N_("Event {event} ({type}) was written by {origin}, but {summary}"),
            event=event.event_id,
            type=event.type,
            origin=event.origin_device,
            summary=rule.summary,
        )


def check_payload(event: Event, rule: Rule | None = None) -> None:
    schema = (rule or rule_for(event.type)).payload
    try:
        schema.model_validate(event.payload)
    except SchemaError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "payload"
        raise MalformedEvent(
            "payload-schema",
            N_("Event {event} ({type}): the payload is malformed at {field}: {problem}"),
            event=event.event_id,
            type=event.type,
            field=where,
            problem=first["msg"],
        ) from None


# A fold asks this for every step it applies: worked out once per type.
_STEP_ROLES: dict[str, frozenset[Role]] = {
    "dossier.resolve": frozenset({Role.LEADER}),
    **{f"dossier.{a.value}": TRANSITIONS[a].roles for a in PROVEN_ACTIONS},
}


def step_roles(event_type: str) -> frozenset[Role] | None:
    """The roles allowed to take a decision (a step that carries its actor's proof), or
    None for any other event."""
    return _STEP_ROLES.get(event_type)


def needs_proof(event: Event) -> bool:
    """Whether `event` must carry its actor's proof: a step that needs a role, written on
    a desk (the centre's key vouches for its own; a desk's first admin has no one above)."""
    rule = RULES.get(event.type)
    if rule is None or not rule.proof or is_centre_origin(event.origin_device):
        return False
    return not (event.actor == BOOTSTRAP_ACTOR and event.origin_seq == 1)


def admin_may(event: Event, roles: dict[str, str], disabled: set[str]) -> bool:
    """Whether a branch-admin event is honoured, given the users folded before it.

    The centre may; an enabled admin may; a user may change her own password; a desk's
    first event may create its first admin while no user of that name exists (``init``).
    """
    if is_centre_origin(event.origin_device):
        return True
    actor = event.actor
    if event.type == "user.added" and str(event.payload.get("username")) in roles:
        return False  # an existing user is changed by the events made for it, never replaced
    if actor == BOOTSTRAP_ACTOR:
        return event.type == "user.added" and event.origin_seq == 1
    if actor in disabled or actor not in roles:
        return False
    if event.type == "user.password_set" and event.payload.get("username") == actor:
        return True
    return roles[actor] == "admin"


def _shown(value: str) -> str:
    """An identifier as it may appear in a message: printable and short."""
    return "".join(ch if ch.isprintable() else "?" for ch in value[:64])
