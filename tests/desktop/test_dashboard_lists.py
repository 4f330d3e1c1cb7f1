"""The dashboard's lists: appointments still ahead, and the overdue dossiers apart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from core.domain.timeutil import parse_moment
from core.services.branch import Branch
from desktop import queries
from tests.sync.fixtures import add_clerks, receive


def test_an_overdue_dossier_is_listed_apart_from_the_coming_appointments(
    tmp_path: Path,
) -> None:
    """GIVEN a dossier whose appointment has passed and one received later, still ahead
    WHEN the dashboard's lists are read
    THEN the first is only in the overdue list, the second only in the coming one."""
    desk = Branch.init(tmp_path / "desk", "TAYHO", "Tây Hồ", ("admin", "admin-pass-1"))
    add_clerks(desk)
    late = receive(desk)
    moment = parse_moment(late.due_at) + timedelta(minutes=1)
    desk.clock = lambda: moment  # the first appointment has just passed
    ahead = receive(desk)
    assert parse_moment(ahead.due_at) > moment
    assert [v.code for v in queries.overdue(desk)] == [late.code]
    assert [v.code for v in queries.due_soon(desk)] == [ahead.code]
    desk.close()
