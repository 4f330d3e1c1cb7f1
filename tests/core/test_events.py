"""Events: canonical encoding, hashing, signatures, the hybrid logical clock."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.domain import hlc
from core.domain.errors import ValidationError
from core.domain.events import Event, canonical_json, check_json_subset, jcs
from core.domain.signing import DeviceKey

json_subset = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53 - 1), 2**53 - 1) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(st.characters(max_codepoint=127), max_size=8), children, max_size=4
        )
    ),
    max_leaves=20,
)


@given(json_subset)
def test_fast_canonical_encoding_is_rfc8785_on_the_event_subset(value: object) -> None:
    """Strings (any Unicode, control characters included), integers, booleans, null, lists
    and objects with ASCII keys encode exactly as RFC 8785 says."""
    check_json_subset(value)
    assert canonical_json(value) == jcs(value)


any_text_keys = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53 - 1), 2**53 - 1) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(any_text_keys)
def test_canonical_encoding_is_the_standard_librarys_it_replaced(value: object) -> None:
    """Hashes stored before the encoder changed were over ``json``'s sorted compact form:
    orjson writes the same bytes (keys of any text sort by code point in both, as UTF-8
    bytes do), so no stored hash changes. A lone surrogate is refused by both."""
    try:
        before: bytes | None = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except UnicodeEncodeError:
        before = None
    if before is None:
        with pytest.raises(ValidationError):
            canonical_json(value)
    else:
        assert canonical_json(value) == before


@pytest.mark.parametrize("value", [1.5, {"ả": 1}, {"a": [{"b": 0.1}]}, {1: "x"}, 2**53])
def test_values_outside_the_subset_are_refused(value: object) -> None:
    with pytest.raises(ValidationError):
        check_json_subset(value)


def sample_event(**changes: object) -> Event:
    fields: dict[str, object] = {
        "event_id": "e1",
        "dossier_id": "d1",
        "branch": "TAYHO",
        "type": "dossier.note",
        "payload": {"text": "Đã gọi điện"},
        "actor": "lan",
        "origin_device": "dev",
        "origin_seq": 1,
        "hlc": hlc.Timestamp(1_700_000_000_000, 0).encode(),
    }
    fields.update(changes)
    return Event(**fields)  # type: ignore[arg-type]


def test_sealed_event_verifies_and_any_change_breaks_it() -> None:
    key = DeviceKey.generate()
    event = sample_event().sealed(key)
    assert event.hash_ok() and event.signature_ok(key.public_b64)
    altered = Event.from_wire({**event.to_wire(), "payload": {"text": "Đã gọi điện!"}})
    assert not altered.hash_ok()
    assert not event.signature_ok(DeviceKey.generate().public_b64)


def test_wire_round_trip_and_malformed_events() -> None:
    event = sample_event().sealed(DeviceKey.generate())
    assert Event.from_wire(event.to_wire()) == event
    with pytest.raises(ValidationError, match="Malformed event"):
        Event.from_wire({k: v for k, v in event.to_wire().items() if k != "actor"})
    with pytest.raises(ValidationError):
        Event.from_wire({**event.to_wire(), "payload": {"amount": 1.5}})


def test_hlc_ticks_and_observes() -> None:
    a = hlc.tick(hlc.ZERO, 1000)
    assert a == hlc.Timestamp(1000, 0)
    assert hlc.tick(a, 900) == hlc.Timestamp(1000, 1)  # the wall clock went backwards
    remote = hlc.Timestamp(5000, 3)
    seen = hlc.observe(a, remote, 1200)
    assert seen > remote and hlc.tick(seen, 1300) > seen
    assert hlc.Timestamp.decode(seen.encode()) == seen
    assert a.encode() < seen.encode()  # text order is clock order


def test_a_validated_wire_event_becomes_the_same_event() -> None:
    """``WireEvent.to_event`` builds the record without the dataclass's ``__init__``: the
    same event, equal field by field, still verifying; a partial set of fields is refused."""
    from core.sync.wire import WireEvent

    key = DeviceKey.generate()
    event = sample_event(parents=("p1", "p2")).sealed(key)
    built = WireEvent.model_validate(event.to_wire()).to_event()
    assert built == event and built.parents == ("p1", "p2") and built.extra == {}
    assert built.hash_ok() and built.signature_ok(key.public_b64)
    with pytest.raises(TypeError):
        Event.from_checked({"event_id": "e1"})


def test_a_body_that_cannot_be_encoded_is_a_refusal_not_a_crash() -> None:
    """An integer past 64 bits (the server refuses them past 2^53; a hostile server or
    peer might still send one): a clear error when hashing, a failed check when
    verifying — never an encoder's exception."""
    event = sample_event(payload={"n": 2**64})
    with pytest.raises(ValidationError):
        event.compute_hash()
    assert not event.hash_ok()
