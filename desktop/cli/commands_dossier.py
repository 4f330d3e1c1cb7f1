"""`motcua dossier receive|act|show|list|search|timeline|note`."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.documents.steps import Step
from core.domain.errors import N_, IncompleteDossier, ValidationError
from core.domain.timeutil import parse_moment
from core.domain.workflow import TRANSFER_ACTIONS, Action
from core.i18n import describe
from core.services import documents
from core.services.dossiers import Intake

from . import render
from .framework import Context, emit

if TYPE_CHECKING:
    from core.services.branch import Branch


def register(sub: Any) -> None:
    dossier = sub.add_parser("dossier", help="receive and process dossiers").add_subparsers(
        dest="verb", required=True
    )

    p = dossier.add_parser("receive", help="receive a dossier at the counter")
    p.add_argument("--procedure", required=True, help="the procedure's code (motcua catalog list)")
    p.add_argument("--applicant", required=True, type=Path, help="JSON file of applicant fields")
    p.add_argument("--received", help="ISO date-time (default: now)")
    p.add_argument(
        "--component", action="append", default=[], help="supplied component (key, number or name)"
    )
    p.add_argument(
        "--override-incomplete",
        default="",
        metavar="REASON",
        help="receive it with documents missing: the reason, recorded",
    )
    p.add_argument(
        "--return-method",
        default="counter",
        choices=["counter", "postal"],
        help="how the citizen gets the result",
    )
    p.add_argument("--postal-address", default="", help="address for a postal return")
    p.add_argument(
        "--channel",
        default="counter",
        choices=["counter", "online", "postal"],
        help="how the dossier came in",
    )
    p.add_argument("--copies", type=int, default=1, help="copies asked for (fees by the copy)")
    p.add_argument(
        "--pages",
        type=int,
        action="append",
        default=[],
        help="pages of one copy (fees by the page); once per copy",
    )
    p.add_argument("--fee-exemption", default="", help="the case that waives a fee")
    p.set_defaults(handler=cmd_receive)

    p = dossier.add_parser(
        "attach",
        help="attach scanned pages (PDF or image files) to a document of a dossier, through "
        "the intake's steps: blank pages, checklist, PDF/A, signature, then OCR",
    )
    p.add_argument("code", help="the dossier's code")
    p.add_argument(
        "component",
        help="the document's key, number or name, or 'result' for the electronic result",
    )
    p.add_argument("file", type=Path, nargs="+", help="PDF, JPEG, PNG or TIFF files, in order")
    p.add_argument(
        "--no-ocr", action="store_true", help="do not read the text now (Settings may turn it off)"
    )
    p.set_defaults(handler=cmd_attach)

    p = dossier.add_parser("act", help="take a workflow action")
    p.add_argument("code", help="the dossier's code")
    p.add_argument(
        "action",
        choices=[a.value for a in Action if a is not Action.RECEIVE and a not in TRANSFER_ACTIONS],
        help="the action to take",
    )
    p.add_argument("--note", default="", help="the reason or remark recorded with the step")
    p.add_argument("--at", help="ISO date-time (default: now)")
    p.add_argument("--to", default="", help="receiver of a hand-over (transfer)")
    p.add_argument("--due", help="new appointment (reappoint)")
    p.add_argument(
        "--repeat-reason",
        default="",
        help="a second re-appointment: the leader's reason for it (reappoint)",
    )
    p.add_argument(
        "--payment-method",
        default="",
        choices=["", "counter", "online", "bank"],
        help="how the citizen paid (pay): online payments are counted in the statistics",
    )
    p.add_argument("--postal-address", default="", help="address for a postal return")
    p.set_defaults(handler=cmd_act)

    for verb, handler, what in (
        ("show", cmd_show, N_("a dossier's record")),
        ("timeline", cmd_timeline, N_("a dossier's steps, in order")),
    ):
        p = dossier.add_parser(verb, help=what)
        p.add_argument("code", help="the dossier's code")
        p.set_defaults(handler=handler)
    p = dossier.add_parser("list", help="the dossiers, newest first")
    p.add_argument("--status", help="internal state name (e.g. processing)")
    p.add_argument("--limit", type=int, default=200, help="at most this many dossiers")
    p.set_defaults(handler=cmd_list)
    p = dossier.add_parser("search", help="find dossiers by code, name, ID number or phone")
    p.add_argument("text", help="the words to look for")
    p.set_defaults(handler=cmd_search)
    p = dossier.add_parser("note", help="add a note to a dossier")
    p.add_argument("code", help="the dossier's code")
    p.add_argument("text", help="the note's text")
    p.set_defaults(handler=cmd_note)
    from .commands_sync import add_resolve

    add_resolve(dossier)


def _read_applicant(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError(N_("Applicant file not found: {path}"), path=str(path)) from None
    except json.JSONDecodeError as err:  # where, not the parser's English words
        raise ValidationError(
            N_("Applicant file is not valid JSON: line {line}, column {column}"),
            line=err.lineno,
            column=err.colno,
        ) from None
    except UnicodeDecodeError:
        raise ValidationError(
            N_("Applicant file is not UTF-8 text: {path}"), path=str(path)
        ) from None
    except OSError:  # a folder, a file this user may not read
        raise ValidationError(N_("Applicant file cannot be read: {path}"), path=str(path)) from None
    if not isinstance(data, dict):
        raise ValidationError(N_("Applicant file must hold a JSON object"))
    return data


def cmd_receive(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    user = ctx.services.login(*ctx.acting_user())
    intake = Intake(
        procedure_code=args.procedure,
        applicant=_read_applicant(args.applicant),
        components=args.component,
        received_at=parse_moment(args.received) if args.received else None,
        override_incomplete=args.override_incomplete,
        return_method=args.return_method,
        postal_address=args.postal_address,
        channel=args.channel,
        fee_copies=args.copies,
        fee_pages=tuple(args.pages),
        fee_exemption=args.fee_exemption,
    )
    try:
        view, _changes = ctx.services.dossiers.receive(user, intake)
    except IncompleteDossier as err:
        # The guidance is the useful output: print it, then fail with the reason.
        procedure = ctx.services.dossiers.procedure(args.procedure)
        guidance = {
            "outcome": "supplement_guidance",
            "procedure": procedure.code,
            "procedure_name": procedure.name,
            "missing": err.missing,
            "message": describe(err),
        }
        emit(guidance, ctx.as_json)
        raise
    return render.dossier(view)


def cmd_act(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    user = ctx.services.login(*ctx.acting_user())
    details = {"to": args.to, "postal_address": args.postal_address}
    if args.repeat_reason:
        details["repeat_reason"] = args.repeat_reason
    if args.payment_method:
        details["payment_method"] = args.payment_method
    if args.due:
        details["due_at"] = args.due
    elif args.action == Action.REAPPOINT.value:
        raise ValidationError(N_("A new appointment needs --due"))
    view, _ = ctx.services.dossiers.act(
        user,
        args.code,
        Action(args.action),
        note=args.note,
        at=parse_moment(args.at) if args.at else None,
        details=details,
    )
    return render.dossier(view)


def cmd_attach(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    """The desktop's document pipeline, run here and now: the pages read from the files,
    the steps before any write, the file kept and recorded in one transaction, then the
    OCR (waited for: there is no background here) and its text added to the search."""
    from core.documents.ocr import ocr_available
    from core.services import desk_secrets, intake_pipeline
    from desktop import pages
    from desktop.documents import step_settings
    from desktop.settings import DesktopSettings

    branch = ctx.services
    user = branch.login(*ctx.acting_user())
    view = branch.dossiers.get(args.code)
    found = pages.import_files(list(args.file))
    settings = step_settings(DesktopSettings.load(ctx.data_dir), desk_secrets.read_all(branch))
    if args.no_ocr:
        settings = replace(settings, skip=settings.skip | {Step.OCR})
    key = intake_pipeline.component_key(view, args.component)
    scans = {key: [page.page for page in found]}
    components = intake_pipeline.components_of(view)
    prepared = intake_pipeline.prepare(user, view.code, components, scans, settings)
    (file,) = prepared.files
    documents.attach_file(branch, user, view.code, file)
    engine = ocr_available()
    prepared.recorded(engine)
    return {
        **render.dossier(branch.dossiers.get(args.code)),
        "steps": [render.step(result) for result in prepared.results()[key]],
        "ocr": _read_now(branch, view.id, prepared.ocr) if engine else [],
    }


def _read_now(branch: Branch, dossier_id: str, pdfs: dict[str, bytes]) -> list[dict[str, Any]]:
    """Each file's OCR, read by the worker and its text recorded for the dossier's
    search; a failed reading is said and leaves the scan attached (already recorded)."""
    from core.documents.ocr_jobs import OcrQueue, OcrState

    queue = OcrQueue()
    read: list[dict[str, Any]] = []
    try:
        for sha, pdf in pdfs.items():
            job = queue.wait(queue.submit(pdf))
            if job.state is OcrState.DONE:
                documents.record_text(branch, dossier_id, sha, job.text or "")
                read.append({"file": sha[:12], "words": len((job.text or "").split())})
            else:
                error = describe(job.error) if job.error is not None else job.state.value
                read.append({"file": sha[:12], "error": error})
    finally:
        queue.close()
    return read


def cmd_show(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    ctx.services.login(*ctx.acting_user())
    return render.dossier(ctx.services.dossiers.get(args.code))


def cmd_timeline(args: argparse.Namespace, ctx: Context) -> list[dict[str, Any]]:
    ctx.services.login(*ctx.acting_user())
    result: list[dict[str, Any]] = ctx.services.dossiers.timeline(args.code)
    return result


def cmd_list(args: argparse.Namespace, ctx: Context) -> list[dict[str, Any]]:
    ctx.services.login(*ctx.acting_user())
    return [render.dossier_line(v) for v in ctx.services.dossiers.browse(args.status, args.limit)]


def cmd_search(args: argparse.Namespace, ctx: Context) -> list[dict[str, Any]]:
    ctx.services.login(*ctx.acting_user())
    return [render.dossier_line(v) for v in ctx.services.dossiers.search(args.text)]


def cmd_note(args: argparse.Namespace, ctx: Context) -> dict[str, str]:
    user = ctx.services.login(*ctx.acting_user())
    ctx.services.dossiers.note(user, args.code, args.text)
    return {"code": args.code, "note": args.text}
