"""How the command line shows moments: dd/mm/yyyy HH:MM in Vietnam's time, whatever
offset the record was written with (the server writes UTC)."""

from __future__ import annotations

import pytest

from core.cli.output import moment, render


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("2026-12-04T13:15:00+00:00", "04/12/2026 20:15"),  # the server's UTC
        ("2026-12-04T20:15:00+07:00", "04/12/2026 20:15"),  # a desk's moment
        ("2026-12-31T18:30:00Z", "01/01/2027 01:30"),  # past midnight in Hanoi
        ("2026-12-04T09:00", "04/12/2026 09:00"),  # no offset: as written
        ("2026-12-04", "04/12/2026"),
        ("not a moment", "not a moment"),
    ],
)
def test_a_moment_is_shown_in_vietnams_time(text: str, shown: str) -> None:
    assert moment(text) == shown


def test_a_table_of_devices_shows_when_they_enrolled_in_vietnams_time() -> None:
    shown = render([{"device_id": "d1", "enrolled_at": "2026-12-04T13:15:00.123+00:00"}], {})
    assert "04/12/2026 20:15" in shown and "13:15" not in shown
