"""Fee rules (core.domain.fees), each case computed by hand in its comment."""

from __future__ import annotations

import pytest

from core.domain.errors import ValidationError
from core.domain.fees import FeeBasis, FeePer, FeeRule, fee_line, page_fee
from core.services.catalogue import shipped_catalogue
from core.services.fees import charge

CERTIFIED = FeeRule(per=FeePer.PAGE, tiers=((1, 2000), (3, 1000)), cap_vnd=200000)


@pytest.mark.parametrize(
    ("pages", "expected"),
    [
        (1, 2000),  # 1 × 2,000
        (2, 4000),  # 2 × 2,000
        (3, 5000),  # 2 × 2,000 + 1 × 1,000
        (10, 12000),  # 4,000 + 8 × 1,000
        (198, 200000),  # 4,000 + 196 × 1,000 = 200,000: exactly the cap
        (199, 200000),  # 4,000 + 197 × 1,000 = 201,000 → capped at 200,000
        (250, 200000),  # 252,000 → 200,000
    ],
)
def test_certified_copy_by_page(pages: int, expected: int) -> None:
    assert page_fee(pages, CERTIFIED.tiers, CERTIFIED.cap_vnd) == expected


@pytest.mark.parametrize(
    ("rule", "amount", "basis", "expected"),
    [
        # three copies of 1, 3 and 250 pages: 2,000 + 5,000 + 200,000 (cap) = 207,000
        (CERTIFIED, 2000, FeeBasis(pages=(1, 3, 250)), 207000),
        # residence registration: 20,000 at the counter, 10,000 online (Circular 75/2022)
        (FeeRule(online_vnd=10000), 20000, FeeBasis(channel="counter"), 20000),
        (FeeRule(online_vnd=10000), 20000, FeeBasis(channel="online"), 10000),
        # a postal dossier pays the counter amount: only "online" is lower
        (FeeRule(online_vnd=10000), 20000, FeeBasis(channel="postal"), 20000),
        # business registration free online: 50,000 → 0
        (FeeRule(online_vnd=0), 50000, FeeBasis(channel="online"), 0),
        # extract copies by the copy: 3 × 8,000 = 24,000
        (FeeRule(per=FeePer.COPY), 8000, FeeBasis(copies=3), 24000),
        # an exemption the rule names: free
        (
            FeeRule(exempt=("Người thuộc hộ nghèo",)),
            15000,
            FeeBasis(exemption="Người thuộc hộ nghèo"),
            0,
        ),
        # an exemption this fee does not name: charged
        (FeeRule(), 15000, FeeBasis(exemption="Người thuộc hộ nghèo"), 15000),
        # the page fee ignores the online amount: by the page whatever the channel
        (CERTIFIED, 2000, FeeBasis(channel="online", pages=(2,)), 4000),
    ],
)
def test_fee_rules(rule: FeeRule, amount: int, basis: FeeBasis, expected: int) -> None:
    assert fee_line("phí", amount, rule, basis).amount_vnd == expected


def test_page_fee_needs_the_pages_of_a_copy() -> None:
    with pytest.raises(ValidationError):
        fee_line("phí", 2000, CERTIFIED, FeeBasis(pages=()))
    with pytest.raises(ValidationError):
        fee_line("phí", 2000, CERTIFIED, FeeBasis(pages=(0,)))


@pytest.mark.parametrize(
    ("code", "basis", "expected"),
    [
        ("CT-BSBC", FeeBasis(pages=(1, 3)), 7000),  # 2,000 + 5,000
        ("CTR-TT", FeeBasis(channel="online"), 10000),
        ("CTR-TTR", FeeBasis(channel="online"), 7000),
        ("CTR-TT", FeeBasis(exemption="Người khuyết tật"), 0),
        # 50,000 free online + publication 100,000 (no online amount)
        ("KD-DNTNHH1", FeeBasis(channel="online"), 100000),
        ("KD-DNTNHH1", FeeBasis(), 150000),
        ("HT-TLBS", FeeBasis(copies=2), 16000),  # 2 × 8,000
        ("HT-KS", FeeBasis(), 0),  # free
    ],
)
def test_catalogue_fees(code: str, basis: FeeBasis, expected: int) -> None:
    procedure = next(p for p in reversed(shipped_catalogue()) if p.code == code)
    assert sum(line.amount_vnd for line in charge(procedure, basis)) == expected


def test_an_exemption_must_be_one_of_the_procedures_cases() -> None:
    procedure = next(p for p in shipped_catalogue() if p.code == "CT-CK")
    with pytest.raises(ValidationError, match="cases"):
        charge(procedure, FeeBasis(exemption="Người thuộc hộ nghèo"))


def test_national_codes_in_the_catalogue() -> None:
    codes = {p.code: p.national_code for p in shipped_catalogue()}
    assert codes["HT-KS"] == "1.001193" and codes["HT-XNHN"] == "1.004873"
