"""The payload of every event type, as a typed model: the one schema the server checks at
ingest and every desktop checks before applying (``core.domain.authority`` names which
model goes with which type).

Each model lists the fields the folds and services read, with their types; a payload that
lacks one or holds the wrong type is refused before it can reach a fold. Unknown extra
fields are kept (a newer desktop may add one) but never read. Types are strict: ``"5"`` is
not a score and ``true`` is not a number.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from .timeutil import VIETNAM
from .workflow import State

# Identifiers that name things across replicas: no spaces, no control characters, no ':'
# (``server:<scope>`` is the centre's own origin and can never be a device).
DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
MOMENT_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)$"
DAY_PATTERN = r"^\d{4}-\d{2}-\d{2}$"

DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
Username = Annotated[str, StringConstraints(pattern=USERNAME_PATTERN)]
Sha256 = Annotated[str, StringConstraints(pattern=SHA256_PATTERN)]


_DAY_S = 86_400
_MAX_OFFSET_S = 14 * 3600  # no time zone is further from UTC


def _real_moment(text: str) -> str:
    """A moment the folds and reports can read: the pattern admits 2026-99-99, an offset
    of 99 minutes, and moments no clock reaches (year 9999 at +07:00 overflows). Checked
    for every moment of every event received (a catch-up holds tens of thousands), so
    the usual case costs one parse: the exact Vietnam-time year only near the bounds."""
    moment = datetime.fromisoformat(text)  # ValueError: pydantic reports the field
    offset = moment.utcoffset()
    seconds = 0 if offset is None else offset.days * _DAY_S + offset.seconds
    if offset is None or abs(seconds) > _MAX_OFFSET_S or seconds % 900:
        raise ValueError("an offset no time zone has")
    if 1912 < moment.year < 9998:
        return text
    # Vietnam time kept mean solar offsets (+07:06:30: seconds, which the pattern
    # refuses) until May 1911; past 9998 the conversion overflows.
    try:
        local_year = moment.astimezone(VIETNAM).year
    except OverflowError:  # not a ValueError: pydantic would let it through as a crash
        local_year = 9999
    if not 1911 < local_year < 9999:
        raise ValueError("a moment out of the calendar's range")
    return text


def _real_day(text: str) -> str:
    date.fromisoformat(text)
    return text


Moment = Annotated[str, StringConstraints(pattern=MOMENT_PATTERN), AfterValidator(_real_moment)]
Day = Annotated[str, StringConstraints(pattern=DAY_PATTERN), AfterValidator(_real_day)]
PublicKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{43}=$")]
Line = Annotated[str, StringConstraints(max_length=500)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]
Count = Annotated[int, Field(ge=0, le=10_000)]
Role = Literal["officer", "specialist", "leader", "admin"]


Proof = Annotated[str, StringConstraints(min_length=1, max_length=200)]
SealedKey = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class Payload(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    # The acting user's signature, on the steps that need a role (``core.domain.userkeys``).
    proof: Proof | None = None


# --- dossier steps ---------------------------------------------------------------------------


class ProcedureRef(Payload):
    code: Line
    version: Annotated[int, Field(ge=1)]
    name: Line
    field: Line
    unit: Line = "working_days"


class DueMoment(Payload):
    due_at: Moment
    counting_from: Moment | None = None
    steps: list[dict[str, Any]]
    nominal_at: Moment | None = None


class ComponentEntry(Payload):
    key: Line
    name: Line
    mandatory: bool
    supplied: bool
    originals: Count = 0
    certified_copies: Count = 0
    copies: Count = 0


class FeeCharged(Payload):
    name: Line
    amount_vnd: Annotated[int, Field(ge=0)]
    detail: Line = ""


class Receipt(Payload):
    """``dossier.receive``: the record the fold starts a dossier from."""

    at: Moment
    code: Line
    procedure: ProcedureRef
    applicant: dict[str, Line]
    channel: Literal["counter", "online", "postal"] = "counter"
    components: list[ComponentEntry]
    fees_vnd: Annotated[int, Field(ge=0)] = 0
    return_method: Literal["counter", "postal"] = "counter"
    postal_address: Line = ""
    due: DueMoment
    lookup_token: Line
    override_incomplete: Line = ""
    fees_paid_online: bool = False
    # Fees computed at receipt by their rules (``core.domain.fees``): one line per fee.
    fees: list[FeeCharged] = Field(default_factory=list)
    fee_exemption: Line = ""
    # An online dossier (status 1): the national portal's own code for it.
    portal_code: Line = ""


class Step(Payload):
    """Every other workflow action (``dossier.<action>``).

    The end of a wait for the citizen (``supplement``, ``pay``) carries both appointments
    as moved (``due_at`` shown, ``deadline_at`` judged on) and the explanation lines to
    add; a re-appointment carries its lines too (``core.domain.due``).
    """

    at: Moment
    note: LongText = ""
    to: Line = ""
    postal_address: Line = ""
    order_number: Line = ""
    due_at: Moment | None = None
    previous_due_at: Moment | None = None
    deadline_at: Moment | None = None
    nominal_at: Moment | None = None
    due_steps: list[dict[str, Any]] | None = None
    repeat_reason: LongText = ""
    payment_method: Line = ""
    missing: list[Line] = Field(default_factory=list)  # a supplement's components (form 02)


class Reappointment(Step):
    """``dossier.reappoint``: the new appointment is required."""

    due_at: Moment


class FeePaid(Payload):
    """``dossier.fee_paid``: a fee receipt (biên lai thu phí, lệ phí) against the dossier."""

    at: Moment
    number: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    amount_vnd: Annotated[int, Field(ge=0)]
    method: Literal["cash", "transfer", "online"] = "cash"
    note: Line = ""


class Note(Payload):
    at: Moment
    text: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]


class AttachedFile(Payload):
    sha256: Sha256
    pages: Count
    size: Annotated[int, Field(ge=0)]
    media_type: Line
    name: Line


class Attachment(Payload):
    at: Moment
    component: Line
    file: AttachedFile


class Rating(Payload):
    at: Moment
    score: Annotated[int, Field(ge=1, le=5)]
    complaint: bool = False


StateName = Annotated[str, StringConstraints(pattern=f"^({'|'.join(s.value for s in State)})?$")]


class Resolution(Payload):
    at: Moment
    note: LongText
    keep: Line = ""
    state: StateName = ""
    fields: dict[str, Line] = Field(default_factory=dict)


class FieldEdit(Payload):
    at: Moment | None = None
    field: Line
    value: Line


# --- between units (``core.domain.transfers``) -----------------------------------------------

BranchCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9.]{0,30}$")]
DossierId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
WireEvent = dict[str, Any]  # an event as it travels (``Event.to_wire``), checked on its own


class Snapshot(Payload):
    """The dossier as the sending unit holds it: what the receiving unit starts from."""

    code: Line
    procedure: ProcedureRef
    applicant: dict[str, Line]
    channel: Literal["counter", "online", "postal"] = "counter"
    components: list[dict[str, Any]]
    fees_vnd: Annotated[int, Field(ge=0)] = 0
    return_method: Literal["counter", "postal"] = "counter"
    postal_address: Line = ""
    received_at: Moment
    received_by: Line
    due_at: Moment
    deadline_at: Moment
    due_explanation: list[dict[str, Any]] = Field(default_factory=list)
    lookup_token: Line


class SendOut(Step):
    """``dossier.send-out``: the dossier goes to unit `to_branch` for processing; the result
    comes back here (``origin``) or is returned there (``destination``)."""

    to_branch: BranchCode
    return_at: Literal["origin", "destination"] = "origin"
    snapshot: Snapshot


class SendBack(Step):
    """``dossier.send-back``: a transferred-in dossier handed back with its outcome."""

    to_branch: BranchCode
    origin_dossier: DossierId
    origin_code: Line = ""
    outcome: Literal["finished", "stopped", "returned", "declined"]
    end_at: Moment | None = None
    returned_at: Moment | None = None  # the citizen got the result at the sending unit
    result_files: list[AttachedFile] = Field(default_factory=list)


class TransferIn(Payload):
    """``dossier.transfer-in``: the receiving unit accepts an offer; it carries the
    sender's signed ``send-out`` and the centre's enrolment of the sending desk, so every
    replica checks it on its own."""

    at: Moment
    offer: WireEvent
    enrolment: WireEvent


class TakeBack(Step):
    """``dossier.take-back``: the sending unit takes the dossier back, with the other unit's
    signed ``send-back`` and the centre's enrolment of the desk that wrote it."""

    reply: WireEvent
    enrolment: WireEvent


# --- branch reference data -------------------------------------------------------------------


class UserAdded(Payload):
    """A user, her password verifier and her key: the public half, and the private half
    sealed under her password (absent from users created before keys existed)."""

    username: Username
    full_name: Line = ""
    role: Role
    password_hash: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    public_key: PublicKey | None = None
    sealed_key: SealedKey | None = None


class UserPassword(Payload):
    """A new password: its verifier, and the user's key sealed under it (a new key when an
    admin resets it: the admin cannot open the old one)."""

    username: Username
    password_hash: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    public_key: PublicKey | None = None
    sealed_key: SealedKey | None = None


class UserRole(Payload):
    username: Username
    role: Role


class UserDisabled(Payload):
    username: Username
    disabled: bool = True


class UserUnlocked(Payload):
    """Clears the failed logins that locked an account, on every desk."""

    username: Username


class CalendarOverride(Payload):
    day: Day
    kind: Literal["holiday", "workday", "none"]
    reason: Line = ""


class Setting(Payload):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    value: LongText


# --- the centre's reference data -----------------------------------------------------------


class DeviceEnrolled(Payload):
    """A device the centre enrolled, with the first admin its ``init`` created (whose key
    the centre thereby vouches for across the branch)."""

    device_id: DeviceId
    branch: Line
    public_key: PublicKey
    label: Line = ""
    admin_username: Username | None = None
    admin_key: PublicKey | None = None


class DeviceRevoked(Payload):
    device_id: DeviceId


class CataloguePublished(Payload):
    """The procedures in force; each is parsed strictly when applied (a malformed entry is
    named there)."""

    procedures: Annotated[list[dict[str, Any]], Field(min_length=1)]
