"""Page counts per component, checked against the procedure's checklist after scanning."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from core.domain.catalogue import Component


class PageIssueKind(StrEnum):
    MISSING = "missing"  # a mandatory component has no page
    TOO_FEW = "too_few"  # fewer pages than the checklist expects
    TOO_MANY = "too_many"
    UNKNOWN = "unknown"  # pages filed under a component the procedure does not have


@dataclass(frozen=True)
class PageIssue:
    kind: PageIssueKind
    component: str
    expected: int
    scanned: int


def check_pages(
    components: Sequence[Component],
    scanned: Mapping[str, int],
    expected_pages: Mapping[str, int] | None = None,
) -> list[PageIssue]:
    """What is wrong with the scanned page counts; empty when all is well.

    ``scanned`` maps component keys to non-blank pages scanned; ``expected_pages``
    (optional) the page count the clerk or checklist expects for a component.
    """
    expected_pages = expected_pages or {}
    issues = [issue for comp in components if (issue := _check(comp, scanned, expected_pages))]
    known = {comp.key for comp in components}
    issues += [
        PageIssue(PageIssueKind.UNKNOWN, key, 0, count)
        for key, count in scanned.items()
        if key not in known and count
    ]
    return issues


def _check(
    comp: Component, scanned: Mapping[str, int], expected: Mapping[str, int]
) -> PageIssue | None:
    count = scanned.get(comp.key, 0)
    want = expected.get(comp.key)
    if want is None:
        if comp.mandatory and count == 0:
            return PageIssue(PageIssueKind.MISSING, comp.key, 1, 0)
        return None
    if count < want:
        kind = PageIssueKind.MISSING if count == 0 else PageIssueKind.TOO_FEW
        return PageIssue(kind, comp.key, want, count)
    if count > want:
        return PageIssue(PageIssueKind.TOO_MANY, comp.key, want, count)
    return None
