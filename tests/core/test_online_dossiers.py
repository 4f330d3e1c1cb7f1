"""Online dossiers (status 1): imported from the portal's JSON, received or refused by an
officer, counted in the online channel."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.domain.errors import IncompleteDossier, NotFoundError, ValidationError
from core.domain.timeutil import parse_moment
from core.domain.workflow import Action, State
from core.reports import ontime_report
from core.services.online import OnlineService, portal_moment

from .conftest import World

PORTAL = {
    "MaHoSo": "G22.120-261120-0007",
    "MaTTHC": "1.004873",  # HT-XNHN in the shipped catalogue
    "NgayNopHoSo": "20261120200000",  # Friday 20/11/2026 20:00, after closing
    "ChuHoSo": "Nguyễn Văn An",
    "SoGiayToChuHoSo": "001090012345",
    "NgaySinhChuHoSo": "1990-05-12",
    "DiaChiThuongTruChuHoSo": "12 Xuân Diệu, phường Tây Hồ, Hà Nội",
    "SoDienThoaiChuHoSo": "0912345678",
    "EmailChuHoSo": "an@example.vn",
    "TaiLieuNop": [
        {"MaThanhPhanHoSo": "to-khai", "TenTepDinhKem": "tokhai.pdf"},
        {"MaThanhPhanHoSo": "giay-to-tuy-than", "TenTepDinhKem": "cccd.pdf"},
    ],
    "HinhThucNhanKetQua": 0,
    "DuocThanhToanTrucTuyen": 1,
}


def imported(world: World, **changes: Any) -> str:
    views, _ = OnlineService(world.branch).import_dossiers(
        world.users["lan"], {**PORTAL, **changes}
    )
    return str(views[0].code)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20261120200000", "2026-11-20T20:00:00+07:00"),  # the portal's digits, Vietnam time
        ("2026-11-20T13:00:00Z", "2026-11-20T20:00:00+07:00"),  # ISO with an offset
        ("2026-11-20T20:00", "2026-11-20T20:00:00+07:00"),  # bare ISO is Vietnam time
    ],
)
def test_portal_moments(text: str, expected: str) -> None:
    assert portal_moment(text).isoformat() == expected


def test_import_enters_status_1_counted_nowhere_yet(world: World) -> None:
    """GIVEN a portal dossier WHEN imported THEN it is status 1, online, not yet counted as
    received (a report of November sees no dossier)."""
    world.clock.set("2026-11-23T08:00")
    code = imported(world)
    view = world.branch.dossiers.get(code)
    assert (view.state, view.national_status, view.channel) == (State.SUBMITTED, 1, "online")
    assert view.extra.get("unit") == "working_days"
    report = ontime_report(
        [world.branch.dossiers.events(code)],
        parse_moment("2026-11-01T00:00"),
        parse_moment("2026-11-30T23:59"),
        parse_moment("2026-11-23T08:00"),
    )
    assert report.overall.total == 0


def test_import_twice_records_once(world: World) -> None:
    first = imported(world)
    assert imported(world) == first
    assert len(world.branch.dossiers.events(first)) == 1


def test_receive_counts_from_the_officer_and_the_online_channel(world: World) -> None:
    """GIVEN an imported dossier (submitted Friday 20:00) WHEN the officer receives it on
    Monday 23/11/2026 09:00 THEN the appointment counts from 09:00 Monday: HT-XNHN is 3
    working days = 24 h; Monday 09:00–17:00 gives 6 h, Tuesday 24/11 is a holiday (2026
    rule), Wednesday 8 h (14), Thursday 8 h (22), Friday 07:00 + 2 h = 27/11 09:00; the fee
    is the online one (15,000 đ: no lower amount set for HT-XNHN); the dossier is counted
    received in November, in the online channel."""
    code = imported(world)
    view, _ = OnlineService(world.branch).receive(
        world.users["lan"], code, at=parse_moment("2026-11-23T09:00")
    )
    assert view.state is State.RECEIVED
    assert view.received_at == "2026-11-23T09:00:00+07:00"
    assert view.due_at == view.deadline_at == "2026-11-27T09:00:00+07:00"
    assert view.fees_vnd == 15000
    report = ontime_report(
        [world.branch.dossiers.events(code)],
        parse_moment("2026-11-01T00:00"),
        parse_moment("2026-11-30T23:59"),
        parse_moment("2026-11-24T08:00"),
        group_by="channel",
    )
    assert report.overall.received == 1
    assert report.overall.as_dict()["channels"]["online"] == 1


def test_refused_online_dossier_is_not_counted(world: World) -> None:
    code = imported(world)
    world.act("lan", code, "refuse", note="Hồ sơ không đúng thẩm quyền", at="2026-11-23T09:00")
    view = world.branch.dossiers.get(code)
    assert (view.state, view.national_status) == (State.REFUSED, 3)


def test_incomplete_online_dossier_needs_the_override(world: World) -> None:
    code = imported(world, TaiLieuNop=[{"MaThanhPhanHoSo": "to-khai"}])
    service = OnlineService(world.branch)
    with pytest.raises(IncompleteDossier):
        service.receive(world.users["lan"], code)
    view, _ = service.receive(world.users["lan"], code, override_incomplete="Xuất trình tại quầy")
    assert view.state is State.RECEIVED


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"MaHoSo": ""}, ValidationError),
        ({"MaTTHC": "9.999999"}, NotFoundError),
        ({"SoGiayToChuHoSo": "123"}, ValidationError),
        ({"HinhThucNhanKetQua": 1}, ValidationError),  # by post without the address
        ({"NgayNopHoSo": "20991231090000"}, ValidationError),  # ahead of the desk's clock
        ({"NgayNopHoSo": "19990101090000"}, ValidationError),  # more than two years back
    ],
)
def test_import_refuses_bad_dossiers(world: World, changes: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        imported(world, **changes)


def test_only_a_submitted_dossier_is_received_online(world: World) -> None:
    code = world.receive().code
    with pytest.raises(Exception, match="not allowed"):
        OnlineService(world.branch).receive(world.users["lan"], code)
    assert Action.RECEIVE  # the workflow's own refusal names the action


def test_the_documented_example_imports(world: World, tmp_path: Any) -> None:
    """The example in docs/forms.md is a file the command takes."""
    path = tmp_path / "online.json"
    path.write_text(json.dumps([PORTAL]), encoding="utf-8")
    views, changes = OnlineService(world.branch).import_dossiers(
        world.users["lan"], json.loads(path.read_text(encoding="utf-8"))
    )
    assert len(views) == 1 and changes.events_added == 1


def test_a_submission_a_little_ahead_of_the_desks_clock_is_imported(world: World) -> None:
    """The portal's clock is not the desk's: a dossier submitted 7 h "after" the desk's
    time (a PC keeping local time as UTC) is imported, as the fold of every desk takes it."""
    code = imported(world, NgayNopHoSo="20261123160000")  # the desk shows 23/11 09:00
    assert world.branch.dossiers.get(code).received_at == "2026-11-23T16:00:00+07:00"
