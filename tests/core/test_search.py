"""Search by code, citizen ID, phone and name, blind to Vietnamese diacritics and case."""

from __future__ import annotations

import pytest

from core.domain.errors import ValidationError
from core.domain.text import fold, words
from core.services.queries import fts_query

from .conftest import APPLICANT, World

PEOPLE = [
    ("Nguyễn Văn An", "001090012345", "0912345678"),
    ("Đặng Thị Hồng", "001185012346", "0987654321"),
    ("Nguyễn Văn Anh", "001092012347", "0901111222"),
    ("Trần Quốc Đạt", "079088012348", "0933444555"),
]


@pytest.fixture
def people(world: World) -> dict[str, str]:
    codes = {}
    for name, id_number, phone in PEOPLE:
        year = "19" + id_number[4:6]
        applicant = {
            **APPLICANT,
            "full_name": name,
            "id_number": id_number,
            "phone": phone,
            "date_of_birth": f"{year}-01-15",
        }
        codes[name] = world.receive(applicant=applicant).code
    return codes


def names(world: World, query: str) -> list[str]:
    return sorted(v.applicant["full_name"] for v in world.branch.dossiers.search(query))


def test_fold() -> None:
    assert fold("Nguyễn Văn Đặng") == "nguyen van dang"
    assert words("ĐẶNG-thị  HỒNG!") == ["dang", "thi", "hong"]


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("nguyen van an", ["Nguyễn Văn An", "Nguyễn Văn Anh"]),  # last word is a prefix
        ("Nguyễn Văn An", ["Nguyễn Văn An", "Nguyễn Văn Anh"]),
        ("NGUYEN VAN ANH", ["Nguyễn Văn Anh"]),
        ("dang", ["Đặng Thị Hồng"]),
        ("đặng hồng", ["Đặng Thị Hồng"]),
        ("dat", ["Trần Quốc Đạt"]),
        ("001185012346", ["Đặng Thị Hồng"]),
        ("0933444555", ["Trần Quốc Đạt"]),
        ("09334", ["Trần Quốc Đạt"]),
        ("le van tam", []),
    ],
)
def test_search_finds_people(world: World, query: str, expected: list[str]) -> None:
    assert names(world, query) == expected


def test_search_by_code(world: World, people: dict[str, str]) -> None:
    code = people["Đặng Thị Hồng"]
    assert names(world, code) == ["Đặng Thị Hồng"]
    assert names(world, code.lower()) == ["Đặng Thị Hồng"]
    assert names(world, "TAYHO-261123-9999") == []


def test_search_sees_changes_of_state(world: World, people: dict[str, str]) -> None:
    code = people["Nguyễn Văn An"]
    world.act("lan", code, "transfer")
    (hit,) = world.branch.dossiers.search("001090012345")
    assert hit.state.value == "transferred"


@pytest.mark.parametrize("query", ["", "   ", "!!!", '"*'])
def test_empty_or_symbol_queries_are_refused_clearly(query: str) -> None:
    with pytest.raises(ValidationError):
        fts_query(query)


def test_query_syntax_cannot_be_injected(world: World, people: dict[str, str]) -> None:
    """FTS operators typed by a clerk are plain words, never query syntax."""
    assert names(world, 'nguyen OR "dang') == []
    assert names(world, "nguyen NOT an") == []
