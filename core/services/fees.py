"""Fees at receipt and the fee receipts recorded against a dossier.

``charge`` turns the procedure's catalogue fees into the lines frozen on the receipt event
(``core.domain.fees``). ``record_receipt`` records a fee receipt (biên lai thu phí, lệ phí):
a ``dossier.fee_paid`` event, which commutes with every other step and is read back from
the dossier's events by ``receipts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.domain.catalogue import Fee, Procedure
from core.domain.errors import N_, ValidationError
from core.domain.fees import FeeBasis, FeeLine, FeePer, check_exemption, fee_line
from core.domain.timeutil import iso
from core.domain.workflow import Role

from .changes import Changes
from .users import User

if TYPE_CHECKING:
    from .branch import Branch

FEE_PAID = "dossier.fee_paid"
PAYMENT_METHODS = ("cash", "transfer", "online")


def charge(procedure: Procedure, basis: FeeBasis) -> tuple[FeeLine, ...]:
    """The fees of one dossier of ``procedure``, line by line. A fee by the page whose
    pages were not given is shown at its catalogue price, saying so (the officer records
    the fee receipt for the amount actually charged)."""
    check_exemption(basis.exemption, [fee.rule for fee in procedure.fees])
    return tuple(_line(f, basis) for f in procedure.fees)


def _line(fee: Fee, basis: FeeBasis) -> FeeLine:
    if fee.rule.per is FeePer.PAGE and not basis.pages and basis.exemption not in fee.rule.exempt:
        return FeeLine(fee.name, fee.amount_vnd, "Đơn giá một trang; chưa ghi số trang")
    return fee_line(fee.name, fee.amount_vnd, fee.rule, basis)


def receipt_fields(procedure: Procedure, basis: FeeBasis) -> dict[str, Any]:
    """What the receipt event carries: the total, each line, the exemption applied."""
    lines = charge(procedure, basis)
    fields: dict[str, Any] = {
        "fees_vnd": sum(line.amount_vnd for line in lines),
        "fees": [line.as_dict() for line in lines],
    }
    if basis.exemption:
        fields["fee_exemption"] = basis.exemption
    return fields


@dataclass(frozen=True)
class FeeReceipt:
    number: str  # the receipt's own number (ký hiệu, số biên lai)
    amount_vnd: int
    method: str
    at: str
    actor: str
    note: str = ""


class FeeService:
    def __init__(self, branch: Branch) -> None:
        self.branch = branch

    def record_receipt(
        self,
        user: User,
        code: str,
        number: str,
        amount_vnd: int,
        method: str = "cash",
        note: str = "",
    ) -> Changes:
        """Record a fee receipt against the dossier (an officer, at the counter)."""
        user.require(Role.OFFICER)
        if not number.strip():
            raise ValidationError(N_("A fee receipt needs its number"))
        if amount_vnd < 0:
            raise ValidationError(N_("A fee receipt's amount cannot be negative"))
        if method not in PAYMENT_METHODS:
            raise ValidationError(
                N_("Unknown {what}: {value}"), what=N_("payment method"), value=method
            )
        view = self.branch.dossiers.get(code)
        payload = {
            "at": iso(self.branch.clock()),
            "number": number.strip(),
            "amount_vnd": amount_vnd,
            "method": method,
            "note": note.strip(),
        }
        return self.branch.record(view.id, user.username, FEE_PAID, payload)

    def receipts(self, code: str) -> list[FeeReceipt]:
        return [
            FeeReceipt(
                str(e.payload["number"]),
                int(e.payload["amount_vnd"]),
                str(e.payload.get("method", "cash")),
                str(e.payload["at"]),
                e.actor,
                str(e.payload.get("note", "")),
            )
            for e in self.branch.dossiers.events(code)
            if e.type == FEE_PAID
        ]


def fee_lines(payload_fees: Sequence[Any]) -> tuple[FeeLine, ...]:
    """The fee lines a receipt event froze (none on receipts older than fee rules)."""
    return tuple(
        FeeLine(str(f["name"]), int(f["amount_vnd"]), str(f.get("detail", "")))
        for f in payload_fees
    )
