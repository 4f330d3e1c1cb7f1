"""Events: the immutable source of truth for every change.

An event's ``hash`` is the SHA-256 of the RFC 8785 canonical JSON of every other field
but ``signature``; ``prev_hash`` chains a device's events; ``signature`` is the device's
Ed25519 signature of the hash. Anything stored or received can thus be re-checked.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import orjson
import rfc8785

from .errors import N_, ValidationError
from .hlc import Timestamp
from .signing import DeviceKey, verify_signature

SCHEMA_VERSION = 1
GENESIS_HASH = "0" * 64
MAX_SAFE_INT = 2**53 - 1  # RFC 8785 (I-JSON) integers


class EventType:
    """Event type names. Dossier transitions are ``dossier.<action>``."""

    DOSSIER_PREFIX = "dossier."
    NOTE = "dossier.note"
    ATTACH = "dossier.attach"
    RATE = "dossier.rate"
    RESOLVE = "dossier.resolve"
    USER_ADDED = "user.added"
    USER_PASSWORD = "user.password_set"
    USER_ROLE = "user.role_set"
    USER_DISABLED = "user.disabled"
    USER_UNLOCKED = "user.unlocked"
    CALENDAR_OVERRIDE = "calendar.override_set"
    SETTING = "branch.setting_set"

    @staticmethod
    def for_action(action: str) -> str:
        return f"dossier.{action}"


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) encoding of an event body.

    Event bodies hold strings, integers, booleans, null, lists and objects with ASCII keys
    (``check_json_subset``); for that subset JCS is exactly sorted-key compact JSON without
    ASCII escaping, which orjson writes about ten times faster than the standard library's
    C encoder and many times faster than the general ``rfc8785`` implementation (a test
    keeps all three equal over generated bodies, control characters and all).
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as err:  # an integer past 64 bits, a lone surrogate...
        raise ValidationError(
            N_("An event body cannot be encoded: {detail}"), detail=str(err)
        ) from None


def check_json_subset(value: Any, depth: int = 0) -> None:
    """Refuse what the canonical encoding does not cover: floats, non-ASCII keys, depth."""
    if depth > 16:
        raise ValidationError(N_("Event payload is nested too deeply"))
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise ValidationError(N_("Event payload keys must be ASCII text"))
            check_json_subset(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_json_subset(item, depth + 1)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INT:
        raise ValidationError(N_("Event payload holds an integer beyond 2^53"))
    elif not (value is None or isinstance(value, str | bool | int)):
        raise ValidationError(
            N_("Event payload holds an unsupported value: {kind}"), kind=type(value).__name__
        )


def jcs(value: Any) -> bytes:
    """The general RFC 8785 encoder, for values outside the event subset (and for tests)."""
    return bytes(rfc8785.dumps(value))


@dataclass(frozen=True)
class Event:
    event_id: str
    dossier_id: str | None
    branch: str
    type: str
    payload: Mapping[str, Any]
    actor: str
    origin_device: str
    origin_seq: int
    hlc: str
    parents: tuple[str, ...] = ()
    prev_hash: str = GENESIS_HASH
    hash: str = ""
    signature: str = ""
    schema_version: int = SCHEMA_VERSION
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def timestamp(self) -> Timestamp:
        return Timestamp.decode(self.hlc)

    def hashed_fields(self) -> dict[str, Any]:
        """Every field the hash covers (all but hash and signature), as plain JSON values."""
        return {
            "event_id": self.event_id,
            "dossier_id": self.dossier_id,
            "branch": self.branch,
            "type": self.type,
            "payload": self.payload,
            "actor": self.actor,
            "origin_device": self.origin_device,
            "origin_seq": self.origin_seq,
            "hlc": self.hlc,
            "parents": list(self.parents),
            "prev_hash": self.prev_hash,
            "schema_version": self.schema_version,
        }

    def compute_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.hashed_fields())).hexdigest()

    def sealed(self, key: DeviceKey) -> Event:
        """This event with its hash and signature filled in."""
        digest = self.compute_hash()
        sealed = copy.copy(self)  # not dataclasses.replace: this is on the receive path
        object.__setattr__(sealed, "hash", digest)
        object.__setattr__(sealed, "signature", key.sign(bytes.fromhex(digest)))
        return sealed

    def hash_ok(self) -> bool:
        try:
            return self.hash == self.compute_hash()
        except ValidationError:  # a body no honest device could have hashed
            return False

    def signature_ok(self, public_b64: str) -> bool:
        return verify_signature(public_b64, self.signature, bytes.fromhex(self.hash))

    def to_wire(self) -> dict[str, Any]:
        body = self.hashed_fields()
        body["hash"] = self.hash
        body["signature"] = self.signature
        return body

    @classmethod
    def from_checked(cls, values: dict[str, Any]) -> Event:
        """An event from field values a wire model has already validated (every field but
        ``extra``, ``parents`` a tuple), built without the frozen dataclass's ``__init__``:
        setting each field through ``object.__setattr__`` costs several times what
        checking the event's hash does, and a pull builds thousands per page."""
        if values.keys() != _CHECKED_FIELDS:
            raise TypeError(f"Event fields expected, got {sorted(values)}")
        event = object.__new__(cls)
        event.__dict__.update(values)
        event.__dict__["extra"] = {}
        return event

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> Event:
        try:
            event = cls(
                event_id=str(body["event_id"]),
                dossier_id=body["dossier_id"],
                branch=str(body["branch"]),
                type=str(body["type"]),
                payload=dict(body["payload"]),
                actor=str(body["actor"]),
                origin_device=str(body["origin_device"]),
                origin_seq=int(body["origin_seq"]),
                hlc=str(body["hlc"]),
                parents=tuple(body["parents"]),
                prev_hash=str(body["prev_hash"]),
                hash=str(body["hash"]),
                signature=str(body["signature"]),
                schema_version=int(body["schema_version"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ValidationError(N_("Malformed event: {detail}"), detail=str(err)) from None
        check_json_subset(event.hashed_fields())
        return event


_CHECKED_FIELDS = frozenset(f.name for f in fields(Event)) - {"extra"}


def vouched(event: Event, later: Sequence[Event], key: str) -> bool:
    """Whether `event` is signed by its origin (`key`): by its own signature, or by the
    signature of a later event of its chain (`later`, in order) that the hash chain binds
    to it. A run's inner events carry only the chain's word (``docs/sync.md``), and the
    newest event's signature covers every hash before it."""
    if not key or not event.hash_ok():
        return False
    current = event
    for following in later:
        if current.signature_ok(key):
            return True
        if following.prev_hash != current.hash or not following.hash_ok():
            return False
        current = following
    return current.signature_ok(key)


def fold_order(event: Event) -> tuple[str, str, int]:
    """The order in which a dossier's events are folded on every replica.

    HLC order extends causality (an effect's clock is always past its cause's), and the
    origin and sequence break ties, so every replica folds the same events the same way.
    """
    return (event.hlc, event.origin_device, event.origin_seq)


def sort_for_fold(events: Sequence[Event]) -> list[Event]:
    return sorted(events, key=fold_order)
