"""Dossier codes stay unique across every desktop of a unit, even fully offline."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.codes import MAX_NUMBER, CodeSpace, block_range, format_code, looks_like_code
from core.domain.errors import CodeSpaceExhausted, ValidationError


def issue(space: CodeSpace, day: date, count: int, counters: dict[date, int]) -> list[str]:
    codes = []
    for _ in range(count):
        number = space.next_number(counters.get(day, 0))
        counters[day] = number
        codes.append(format_code(space.unit, day, number))
    return codes


@settings(max_examples=80, deadline=None)
@given(width=st.sampled_from([10, 100, 500, 1000]), data=st.data())
def test_offline_desktops_never_share_a_code(width: int, data: st.DataObject) -> None:
    """GIVEN a unit whose desktops hold disjoint blocks (as the centre assigns them) and never
    talk to each other WHEN they receive dossiers in any interleaving over several days, some
    running out of numbers THEN no two dossiers of the unit ever share a code."""
    block_count = CodeSpace("HN", (0,), width).block_count
    per_desk = 2 if block_count >= 4 else 1
    n_desks = data.draw(st.integers(1, min(12, block_count // per_desk)))
    blocks = data.draw(st.permutations(range(block_count)))
    spaces = [
        CodeSpace("HN", tuple(blocks[i * per_desk : (i + 1) * per_desk]), width)
        for i in range(n_desks)
    ]
    counters: list[dict[date, int]] = [{} for _ in spaces]
    receipts = data.draw(
        st.lists(st.tuples(st.integers(0, n_desks - 1), st.integers(0, 2)), max_size=400)
    )
    seen: set[str] = set()
    exhausted = 0
    for desk, offset in receipts:
        day = date(2026, 11, 23) + timedelta(days=offset)
        try:
            (code,) = issue(spaces[desk], day, 1, counters[desk])
        except CodeSpaceExhausted:
            exhausted += 1
            continue
        assert code not in seen
        seen.add(code)
    assert len(seen) + exhausted == len(receipts)


def test_blocks_partition_the_daily_numbers() -> None:
    width = 500
    numbers = [
        n for b in range(CodeSpace("HN", (0,), width).block_count) for n in block_range(b, width)
    ]
    assert numbers == list(range(1, MAX_NUMBER + 1))


def test_a_desk_moves_to_its_next_block_then_runs_out() -> None:
    space = CodeSpace("HN", (3, 7), width=10)
    counters: dict[date, int] = {}
    day = date(2026, 11, 23)
    codes = issue(space, day, 20, counters)
    assert codes[0] == "HN-261123-0030" and codes[9] == "HN-261123-0039"
    assert codes[10] == "HN-261123-0070" and codes[-1] == "HN-261123-0079"
    with pytest.raises(CodeSpaceExhausted):
        space.next_number(counters[day])


def test_code_format_and_recognition() -> None:
    assert format_code("TAYHO", date(2027, 2, 3), 7) == "TAYHO-270203-0007"
    assert looks_like_code("tayho-270203-0007")
    assert not looks_like_code("Nguyễn Văn An")


@pytest.mark.parametrize("unit", ["", "tay ho", "TÂY-HỒ"])
def test_bad_unit_codes_are_refused(unit: str) -> None:
    with pytest.raises(ValidationError):
        CodeSpace(unit, (0,))


def test_blocks_outside_the_space_are_refused() -> None:
    with pytest.raises(ValidationError):
        CodeSpace("HN", (20,), width=500)
