"""Receiving at the counter: completeness, applicant checks, codes and the frozen due moment."""

from __future__ import annotations

import pytest

from core.domain.errors import IncompleteDossier, NotFoundError, PermissionDenied, ValidationError
from core.domain.workflow import State
from core.services.dossiers import Intake
from core.storage import event_store

from .conftest import APPLICANT, World


def count_events(world: World) -> int:
    with world.branch.store.read() as conn:
        return event_store.count(conn)


def test_complete_dossier_is_received_with_code_due_and_explanation(world: World) -> None:
    """GIVEN every mandatory component WHEN the officer receives on Mon 23/11/2026 09:00
    THEN the dossier is received, coded TAYHO-261123-0001, due Fri 27/11 09:00 (24/11 off)."""
    view = world.receive("HT-XNHN", received_at=world.clock())
    assert view.state is State.RECEIVED and view.national_status == 2
    assert view.code == "TAYHO-261123-0001"
    assert view.due_at == "2026-11-27T09:00:00+07:00"
    assert view.due_explanation[-1]["params"]["moment"] == "09:00 27/11/2026"
    assert len(view.lookup_token) == 8


def test_incomplete_dossier_gives_supplement_guidance_and_stores_nothing(world: World) -> None:
    before = count_events(world)
    with pytest.raises(IncompleteDossier) as caught:
        world.receive("HT-XNHN", components=[])
    assert "Tờ khai cấp Giấy xác nhận tình trạng hôn nhân theo mẫu" in caught.value.missing
    assert count_events(world) == before


def test_officer_can_override_incompleteness_with_a_reason(world: World) -> None:
    view = world.receive("HT-XNHN", components=[], override_incomplete="Công dân cam kết bổ sung")
    assert view.state is State.RECEIVED
    assert view.override_reason == "Công dân cam kết bổ sung"
    assert not any(c["supplied"] for c in view.components if c["mandatory"])


def test_codes_count_up_per_day_and_restart_the_next_day(world: World) -> None:
    codes = [world.receive().code for _ in range(3)]
    world.clock.set("2026-11-25T08:00")
    codes.append(world.receive().code)
    assert codes == [
        "TAYHO-261123-0001",
        "TAYHO-261123-0002",
        "TAYHO-261123-0003",
        "TAYHO-261125-0001",
    ]


def test_dossier_pins_the_procedure_version(world: World) -> None:
    view = world.receive("HT-KS")
    # Version 2 settles it within the working day (docs/calendar.md).
    assert (view.procedure_code, view.procedure_version) == ("HT-KS", 2)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("id_number", "12345", "12 digits"),
        ("id_number", "001290012345", "birth year"),
        ("date_of_birth", "12/05/1990", "yyyy-mm-dd"),
        ("date_of_birth", "2090-01-01", "plausible"),
        ("phone", "12345", "10 digits"),
        ("email", "not-an-email", "email"),
        ("full_name", "  ", "required"),
    ],
)
def test_applicant_errors_are_specific_and_store_nothing(
    world: World, field: str, value: str, fragment: str
) -> None:
    before = count_events(world)
    with pytest.raises(ValidationError, match=fragment):
        world.receive(applicant={**APPLICANT, field: value})
    assert count_events(world) == before


def test_phone_is_normalised_and_unknown_fields_refused(world: World) -> None:
    assert (
        world.receive(applicant={**APPLICANT, "phone": "+84 912.345.678"}).applicant["phone"]
        == "0912345678"
    )
    with pytest.raises(ValidationError, match="Unknown applicant fields"):
        world.receive(applicant={**APPLICANT, "nickname": "An"})


def test_unknown_procedure_and_component_are_refused(world: World) -> None:
    with pytest.raises(NotFoundError):
        world.receive("XX-NOPE", components=["1"])
    with pytest.raises(ValidationError, match="no component"):
        world.receive("HT-XNHN", components=["not-a-component"])


def test_only_officers_receive(world: World) -> None:
    intake = Intake(procedure_code="HT-KS", applicant=APPLICANT, components=["1"])
    with pytest.raises(PermissionDenied):
        world.branch.dossiers.receive(world.users["minh"], intake)


def test_postal_return_needs_an_address(world: World) -> None:
    with pytest.raises(ValidationError, match="postal address"):
        world.receive(return_method="postal")
    view = world.receive(return_method="postal", postal_address="Số 5 Lạc Long Quân, Tây Hồ")
    assert view.return_method == "postal"


def test_same_day_procedure_uses_its_cutoff(world: World) -> None:
    """Birth registration: that day's closing when received before 15:00, the next working
    day's closing after (Wednesday 15:30 → Thursday 17:00)."""
    world.clock.set("2026-11-25T15:30")
    view = world.receive("HT-KS")
    assert view.due_at == "2026-11-26T17:00:00+07:00"


def test_catalogue_has_at_least_25_real_procedures_across_fields(world: World) -> None:
    procedures = world.branch.procedures()
    assert len(procedures) >= 25
    fields = {p.field.value for p in procedures.values()}
    assert {
        "civil_status",
        "certification",
        "land",
        "construction",
        "business",
        "investment",
        "finance",
        "agriculture",
        "justice",
    } <= fields
    assert all(any(c.mandatory for c in p.components) for p in procedures.values())
