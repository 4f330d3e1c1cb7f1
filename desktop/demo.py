"""A demo branch with users and sample dossiers in every state (for `make run` and the tour).

python -m desktop.demo DATA_DIR     creates it when DATA_DIR holds no store yet
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

from core.domain.timeutil import VIETNAM
from core.domain.workflow import Action
from core.services.branch import DB_NAME, Branch
from core.services.dossiers import Intake
from core.services.users import User

UNIT = "TAYHO"
BRANCH_NAME = "Trung tâm Phục vụ hành chính công phường Tây Hồ"
PASSWORD = "motcua-demo"
USERS = (
    ("admin", "admin", "Quản trị chi nhánh"),
    ("canbo1", "officer", "Nguyễn Văn An"),
    ("chuyenvien1", "specialist", "Trần Thị Bình"),
    ("lanhdao1", "leader", "Lê Văn Cường"),
)
NAMES = (
    "Phạm Thị Hương",
    "Hoàng Văn Dũng",
    "Vũ Thị Lan",
    "Đặng Quốc Khánh",
    "Bùi Thị Ngọc",
    "Đỗ Minh Tuấn",
    "Ngô Thị Thu",
    "Dương Văn Hải",
    "Lý Thị Mai",
    "Trịnh Công Sơn",
)
STREETS = ("Xuân Diệu", "Âu Cơ", "Lạc Long Quân", "Thụy Khuê", "Yên Phụ", "Tô Ngọc Vân")
PROCEDURES = (
    "HT-KS",
    "HT-KH",
    "HT-XNHN",
    "CT-BSBC",
    "DD-DKTC",
    "KD-HKDTL",
    "CTR-TTR",
    "TP-LLTP",
    "XD-GPNO",
)
# how far each sample goes: a prefix of this path (plus side tracks)
PATH = (Action.TRANSFER, Action.START, Action.SUBMIT, Action.APPROVE, Action.FINISH, Action.RETURN)


def applicant(rng: random.Random, index: int) -> dict[str, str]:
    year = rng.randint(1960, 1999)
    number = f"001{'1' if index % 2 else '0'}{year % 100:02d}{rng.randint(0, 999999):06d}"
    return {
        "full_name": NAMES[index % len(NAMES)],
        "id_number": number,
        "date_of_birth": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "phone": f"09{rng.randint(10000000, 99999999)}",
        "address": f"{rng.randint(1, 200)} {STREETS[index % len(STREETS)]}, Tây Hồ, Hà Nội",
    }


def create(data_dir: Path, count: int = 36, seed: int = 7) -> Branch:
    branch = Branch.init(data_dir, UNIT, BRANCH_NAME, ("admin", PASSWORD))
    populate(branch, count, seed)
    return branch


def populate(branch: Branch, count: int = 36, seed: int = 7) -> None:
    """Demo users and sample dossiers in a store whose admin password is PASSWORD."""
    admin = branch.login("admin", PASSWORD)
    for name, role, full in USERS[1:]:
        branch.admin.add_user(admin, name, role, PASSWORD, full)
    users = {role: branch.login(name, PASSWORD) for name, role, _f in USERS}
    rng = random.Random(seed)
    now = datetime.now(VIETNAM)
    for index in range(count):
        received = (now - timedelta(days=rng.randint(0, 25))).replace(
            hour=rng.randint(7, 10), minute=rng.randint(0, 59), second=0, microsecond=0
        )
        if index < 4:
            received = now.replace(hour=7, minute=30 + index * 5, second=0, microsecond=0)
        received = min(received, now)  # early in the morning, today's hours are ahead
        code = PROCEDURES[index % len(PROCEDURES)]
        procedure = branch.procedures()[code]
        intake = Intake(
            code, applicant(rng, index), [c.key for c in procedure.components], received_at=received
        )
        view, _changes = branch.dossiers.receive(users["officer"], intake)
        advance(branch, users, view.code, received, index % 8, now, rng)


def advance(
    branch: Branch,
    users: dict[str, User],
    code: str,
    received: datetime,
    steps: int,
    now: datetime,
    rng: random.Random,
) -> None:
    at = received
    actors = {
        Action.TRANSFER: "officer",
        Action.START: "specialist",
        Action.SUBMIT: "specialist",
        Action.APPROVE: "leader",
        Action.FINISH: "specialist",
        Action.RETURN: "officer",
    }
    for action in PATH[: steps if steps < 7 else 2]:
        at = min(at + timedelta(hours=rng.randint(1, 30)), now)
        details = {"to": "chuyenvien1"} if action is Action.TRANSFER else {}
        branch.dossiers.act(users[actors[action]], code, action, at=at, details=details)
    if steps == 7:  # a supplement request on a dossier being processed
        at = min(at + timedelta(hours=1), now)
        branch.dossiers.act(
            users["officer"],
            code,
            Action.REQUEST_SUPPLEMENT,
            note="Thiếu bản sao giấy tờ tùy thân",
            at=at,
        )


def ensure(data_dir: Path) -> bool:
    """Create the demo branch, or fill a fresh store (`motcua init`) with the demo users and
    sample dossiers; leave a store that has them alone. True when something was added."""
    if not (data_dir / DB_NAME).exists():
        create(data_dir).close()
        return True
    branch = Branch.open(data_dir)
    try:
        if any(u["username"] == USERS[1][0] for u in branch.admin.list_users()):
            return False
        populate(branch)
        return True
    finally:
        branch.close()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    created = ensure(Path(argv[0]))
    print("demo data added" if created else "demo data already present", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
