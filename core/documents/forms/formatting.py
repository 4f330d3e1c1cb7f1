"""Vietnamese conventions for dates, times and money on printed forms."""

from __future__ import annotations

from datetime import date, datetime

from core.domain.timeutil import to_vietnam


def vn_date(value: date | datetime) -> str:
    """05/02/2027"""
    if isinstance(value, datetime):
        value = to_vietnam(value)
    return f"{value:%d/%m/%Y}"


def vn_time(value: datetime) -> str:
    """14:05 (24-hour)"""
    return f"{to_vietnam(value):%H:%M}"


def vn_moment(value: datetime) -> str:
    """ "14 giờ 05 phút, ngày 05/02/2027" as the national forms write it."""
    local = to_vietnam(value)
    return f"{local:%H} giờ {local:%M} phút, ngày {local:%d/%m/%Y}"


def date_line(place: str, value: date | datetime) -> str:
    """ "Tân Lập, ngày 05 tháng 02 năm 2027" (the dateline under the national motto)."""
    if isinstance(value, datetime):
        value = to_vietnam(value).date()
    prefix = f"{place}, ngày" if place else "Ngày"
    return f"{prefix} {value:%d} tháng {value:%m} năm {value:%Y}"


def vnd(amount: int) -> str:
    """50000 → "50.000 đ" (dot groups thousands)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,}".replace(",", ".") + " đ"


def count(value: int) -> str:
    """A paper count in a table cell: blank for none, two digits otherwise ("01")."""
    return f"{value:02d}" if value else ""
