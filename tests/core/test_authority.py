"""The authority table: every event type has a rule, and each rule refuses what it must."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest

from core.domain import authority
from core.domain.events import Event, EventType
from core.domain.hlc import Timestamp
from core.domain.ids import new_uuid7
from core.domain.workflow import Action

DEVICE = "0193a1b2-0000-7000-8000-000000000001"
KEY = "A" * 43 + "="
MOMENT = "2026-11-23T09:00:00+07:00"


def event(type_: str, payload: dict[str, Any], **changes: Any) -> Event:
    base = Event(
        event_id=new_uuid7(),
        dossier_id=new_uuid7() if type_.startswith("dossier.") else None,
        branch="TAYHO",
        type=type_,
        payload=payload,
        actor="admin",
        origin_device=DEVICE,
        origin_seq=2,
        hlc=Timestamp(int(time.time() * 1000), 0).encode(),
    )
    return replace(base, **changes)


def refused_by(err: pytest.ExceptionInfo[Exception], rule: str) -> None:
    assert getattr(err.value, "rule", None) == rule, err.value


def test_every_event_type_written_by_the_code_has_a_rule() -> None:
    """GIVEN the event types the services and the centre write
    THEN each has exactly one rule in the table."""
    written = {v for k, v in vars(EventType).items() if k.isupper() and k != "DOSSIER_PREFIX"} | {
        EventType.for_action(a.value) for a in Action
    }
    written |= {"dossier.edit", "device.enrolled", "device.revoked", "catalogue.published"}
    assert written <= set(authority.RULES), written - set(authority.RULES)


@pytest.mark.parametrize(
    ("type_", "payload", "scope"),
    [
        ("device.enrolled", {"device_id": DEVICE, "branch": "TAYHO", "public_key": KEY}, "TAYHO"),
        ("device.revoked", {"device_id": DEVICE}, "TAYHO"),
        ("catalogue.published", {"procedures": [{"code": "X"}]}, "*"),
        ("calendar.override_set", {"day": "2026-12-24", "kind": "holiday", "reason": "x"}, "*"),
    ],
)
def test_centre_reference_data_from_a_desk_is_refused(
    type_: str, payload: dict[str, Any], scope: str
) -> None:
    """GIVEN reference data only the centre may write
    WHEN an ordinary desk's chain carries it
    THEN it is refused, naming the rule."""
    forged = event(type_, payload, branch=scope)
    with pytest.raises(authority.AuthorityRefused) as err:
        authority.check(forged, "TAYHO")
    assert err.value.rule in ("centre-devices", "centre-catalogue", "calendar-override")


def test_centre_chain_may_write_reference_data() -> None:
    payload = {"device_id": DEVICE, "branch": "TAYHO", "public_key": KEY}
    ok = event("device.enrolled", payload, origin_device="server:TAYHO", actor="central")
    assert authority.check(ok).name == "centre-devices"


def test_centre_chain_of_another_scope_is_refused() -> None:
    """The centre's chain of scope A cannot carry events of scope B."""
    payload = {"device_id": DEVICE}
    forged = event("device.revoked", payload, origin_device="server:OTHER", actor="central")
    with pytest.raises(authority.MalformedEvent) as err:
        authority.check(forged)
    refused_by(err, "grammar")


def test_dossier_step_from_the_centre_or_another_branch_is_refused() -> None:
    step = {"at": MOMENT, "note": ""}
    with pytest.raises(authority.AuthorityRefused) as err:
        authority.check(event("dossier.approve", step, origin_device="server:TAYHO"))
    refused_by(err, "dossier-step")
    with pytest.raises(authority.AuthorityRefused) as err:
        authority.check(event("dossier.approve", step), origin_branch="OTHER")
    refused_by(err, "dossier-step")
    assert authority.check(event("dossier.approve", step), "TAYHO").name == "dossier-step"


@pytest.mark.parametrize(
    ("type_", "payload", "field"),
    [
        ("dossier.receive", {"at": MOMENT}, "code"),
        ("dossier.rate", {"at": MOMENT, "score": "5"}, "score"),
        ("dossier.rate", {"at": MOMENT, "score": 9}, "score"),
        ("dossier.reappoint", {"at": MOMENT, "note": "x"}, "due_at"),
        ("dossier.resolve", {"at": MOMENT, "note": "x", "state": "nowhere"}, "state"),
        ("dossier.attach", {"at": MOMENT, "component": "a", "file": {"sha256": "x"}}, "file"),
        ("user.added", {"username": "Bad Name", "role": "admin", "password_hash": "h"}, "username"),
        ("user.role_set", {"username": "lan", "role": "king"}, "role"),
        ("catalogue.published", {"procedures": []}, "procedures"),
        ("dossier.approve", {"note": "no moment"}, "at"),
    ],
)
def test_malformed_payloads_are_refused(type_: str, payload: dict[str, Any], field: str) -> None:
    """GIVEN a payload missing a field its fold reads, or of the wrong type
    THEN it is refused, naming the field (the fold never sees it)."""
    origin = "server:*" if type_ == "catalogue.published" else DEVICE
    branch = "*" if type_ == "catalogue.published" else "TAYHO"
    bad = event(type_, payload, origin_device=origin, branch=branch)
    with pytest.raises(authority.MalformedEvent) as err:
        authority.check(bad)
    refused_by(err, "payload-schema")
    assert err.value.params["field"].startswith(field)


@pytest.mark.parametrize(
    "changes",
    [
        {"type": "dossier.no\x00te"},
        {"type": "nothing.known"},
        {"actor": "ad\x00min"},
        {"actor": "ADMIN\n"},
        {"branch": "TAY\x01HO"},
        {"origin_device": "dev ice"},
    ],
)
def test_identifiers_follow_a_strict_grammar(changes: dict[str, Any]) -> None:
    bad = event("dossier.note", {"at": MOMENT, "text": "x"}, **changes)
    with pytest.raises(authority.MalformedEvent):
        authority.check(bad)


@pytest.mark.parametrize("device_id", ["server:TAYHO", "server:*", "server", "Central", "a b", ""])
def test_reserved_identifiers_cannot_be_enrolled(device_id: str) -> None:
    with pytest.raises(authority.AuthorityRefused) as err:
        authority.check_device_id(device_id)
    refused_by(err, "reserved-identifier")


def test_admin_may() -> None:
    """GIVEN the users folded so far
    THEN only the centre, an enabled admin, a user for her own password, or a desk's own
    first event creating its first admin may change users."""
    roles = {"admin": "admin", "lan": "officer", "old": "admin"}
    disabled = {"old"}
    add = {"username": "new", "role": "leader", "password_hash": "h"}
    password = {"username": "admin", "password_hash": "h"}
    may = authority.admin_may
    assert may(event("user.added", add), roles, disabled)
    assert not may(event("user.added", add, actor="lan"), roles, disabled)
    assert not may(event("user.added", add, actor="old"), roles, disabled)
    assert not may(event("user.added", add, actor="ghost"), roles, disabled)
    assert not may(event("user.password_set", password, actor="lan"), roles, disabled)
    own = {"username": "lan", "password_hash": "h"}
    assert may(event("user.password_set", own, actor="lan"), roles, disabled)
    replacing = {"username": "admin", "role": "admin", "password_hash": "h"}
    assert not may(event("user.added", replacing), roles, disabled)
    assert may(event("user.added", replacing, origin_device="server:TAYHO"), roles, disabled)
    first = event("user.added", add, actor="system", origin_seq=1)
    assert may(first, {}, set())
    assert not may(replace(first, origin_seq=2), {}, set())
