"""Fees and charges (phí, lệ phí) as rules, computed once at receipt.

A catalogue fee is a fixed amount per dossier unless it names a rule:

- ``per = "copy"``: the amount for each copy asked for;
- ``per = "page"``: tiers by page of each copy, capped per copy. Certified copies from the
  original (Circular 226/2016/TT-BTC): 2,000 đ a page, 1,000 đ from the third page, at most
  200,000 đ a copy — ``tiers = ((1, 2000), (3, 1000))``, ``cap_vnd = 200000``;
- ``online_vnd``: a lower amount for dossiers submitted online, where a circular sets one
  (residence registration, Circular 75/2022/TT-BTC: 20,000 đ, 10,000 đ online);
- ``exempt``: the named cases in which it is free (the officer picks one at receipt).

The computed lines are frozen on the receipt event (``fees``) with their total
(``fees_vnd``), so a later catalogue change never alters what the citizen was told.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from .errors import N_, ValidationError


class FeePer(StrEnum):
    DOSSIER = "dossier"
    COPY = "copy"
    PAGE = "page"


@dataclass(frozen=True)
class FeeRule:
    per: FeePer = FeePer.DOSSIER
    tiers: tuple[tuple[int, int], ...] = ()  # (from page, đồng a page), by ``per = page``
    cap_vnd: int | None = None  # at most this much for one copy
    online_vnd: int | None = None  # the amount for an online dossier
    exempt: tuple[str, ...] = ()  # cases in which the fee is not charged


@dataclass(frozen=True)
class FeeBasis:
    """What the officer states at receipt: the channel, the copies asked for (with their
    pages, for fees by the page), and an exemption case if one applies."""

    channel: str = "counter"
    copies: int = 1
    pages: tuple[int, ...] = ()  # pages of each copy (per page); one entry per copy
    exemption: str = ""


@dataclass(frozen=True)
class FeeLine:
    name: str
    amount_vnd: int
    detail: str = ""  # how it was computed, in Vietnamese (printed on form 01)

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "amount_vnd": self.amount_vnd, "detail": self.detail}


def page_fee(pages: int, tiers: Sequence[tuple[int, int]], cap: int | None) -> int:
    """One copy of ``pages`` pages: each page at the tier it falls in, capped."""
    total = sum(_tier_amount(page, tiers) for page in range(1, pages + 1))
    return min(total, cap) if cap is not None else total


def _tier_amount(page: int, tiers: Sequence[tuple[int, int]]) -> int:
    amount = 0
    for start, each in sorted(tiers):
        if page >= start:
            amount = each
    return amount


def fee_line(name: str, amount: int, rule: FeeRule, basis: FeeBasis) -> FeeLine:
    """One catalogue fee as charged on this dossier."""
    if basis.exemption and basis.exemption in rule.exempt:
        return FeeLine(name, 0, f"Miễn: {basis.exemption}")
    if rule.per is FeePer.PAGE:
        return _by_page(name, amount, rule, basis)
    each = amount
    detail = ""
    if basis.channel == "online" and rule.online_vnd is not None:
        each, detail = rule.online_vnd, "Nộp trực tuyến"
    if rule.per is FeePer.COPY:
        _check_copies(basis.copies)
        detail = ", ".join(filter(None, (detail, f"{basis.copies} bản × {_vnd(each)}")))
        return FeeLine(name, each * basis.copies, detail)
    return FeeLine(name, each, detail)


def _by_page(name: str, amount: int, rule: FeeRule, basis: FeeBasis) -> FeeLine:
    if not basis.pages:
        raise ValidationError(
            N_("Fee '{fee}' is charged by the page: give the pages of each copy"), fee=name
        )
    if any(p < 1 for p in basis.pages):
        raise ValidationError(N_("A copy has at least one page"))
    tiers = rule.tiers or ((1, amount),)
    per_copy = [page_fee(p, tiers, rule.cap_vnd) for p in basis.pages]
    detail = "; ".join(
        f"bản {i}: {p} trang, {_vnd(f)}"
        for i, (p, f) in enumerate(zip(basis.pages, per_copy, strict=True), 1)
    )
    return FeeLine(name, sum(per_copy), detail)


def _check_copies(copies: int) -> None:
    if not 1 <= copies <= 1000:
        raise ValidationError(N_("The number of copies must be from 1 to 1000"))


def check_exemption(exemption: str, rules: Sequence[FeeRule]) -> None:
    """An exemption must be a case some fee of the procedure names."""
    allowed = [case for rule in rules for case in rule.exempt]
    if exemption and exemption not in allowed:
        raise ValidationError(
            N_("No fee of this procedure is waived for '{case}'; the cases are: {cases}"),
            case=exemption,
            cases="; ".join(allowed) or "—",
        )


def _vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " đ"
