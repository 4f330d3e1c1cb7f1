"""The console's statistics, users, reference data and audit pages.

Changes go through ``sync_server.branch_admin`` and ``identity.author_one``: events the
centre signs into a branch's chain (or the national one), which each desk applies at its
next sync; the console admin who asked rides in the payload as ``by``. An auditor sees
every page without its forms, and a change she posts anyway is refused (403); a branch
manager sees and changes her own branches only. Bad input is a message on the page,
nothing changed; never a 5xx.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.responses import Response

from core.domain.errors import N_, MotcuaError, ValidationError
from core.domain.signing import DeviceKey
from core.domain.workflow import Role
from core.reports import GROUPS
from sync_server import branch_admin
from sync_server import schema as t

from . import audit_job, queries, reference, stats
from .routes import EXPIRED, message, page, signed_in
from .sessions import Session
from .shared import console_of, read_form
from .web import SECURITY_HEADERS, csrf_ok, say

router = APIRouter(prefix="/console", include_in_schema=False)
READ_ONLY = N_("Your account reads only: nothing was changed.")
NO_AUDIT = N_("Only the central admin and auditors see the audit.")
NOT_YOURS = N_("You may not change branch {branch}.")
ROLES = [r.value for r in Role]


def server_key(request: Request) -> DeviceKey:
    key: DeviceKey = request.app.state.server.key
    return key


def by_of(session: Session) -> str:
    return f"console:{session.account.username}"


def error_text(request: Request, err: MotcuaError) -> str:
    return say(request, err.message, **err.params)


async def visible_branches(request: Request, session: Session) -> list[tuple[str, str]]:
    engine = console_of(request).engine
    return await run_in_threadpool(queries.branch_names, engine, session.account)


# --- statistics -----------------------------------------------------------------------------


def _stats_query(request: Request, session: Session, known: list[str]) -> stats.Query:
    return stats.parse_query(request.query_params, queries.now().date(), session.account, known)


@router.get("/stats")
async def stats_page(request: Request) -> Response:
    session = await signed_in(request)
    engine = console_of(request).engine
    branches = await visible_branches(request, session)
    params = request.query_params
    first, last = stats.this_month(queries.now().date())
    context: dict[str, Any] = {
        "branches": branches,
        "groups": list(GROUPS),
        "form": {
            "branch": params.get("branch", "")[:32],
            "from": params.get("from", first.isoformat())[:10],
            "to": params.get("to", last.isoformat())[:10],
            "by": params.get("by", "all")[:16],
            "early": params.get("early") == "1",
        },
        "result": None,
        "error": "",
    }
    try:
        query = _stats_query(request, session, [c for c, _ in branches])
        result = await run_in_threadpool(
            stats.report, engine, session.account, query, queries.now()
        )
    except MotcuaError as err:
        context.update(error=error_text(request, err), status=400)
        return page(request, "stats.html", session, **context)
    names = {p.code: p.name for p in await run_in_threadpool(reference.in_force, engine)}
    number = params.get("rows", "1")
    rows = stats.group_page(result, int(number) if number.isdigit() and len(number) < 7 else 1)
    context.update(
        result=result,
        rows=rows,
        bars=stats.bars(result),
        chart_width=stats.CHART_WIDTH,
        args=urlencode(
            {
                "branch": query.branch,
                "from": query.first.isoformat(),
                "to": query.last.isoformat(),
                "by": query.by,
                **({"early": "1"} if query.early_by_moment else {}),
            }
        ),
        procedure_names=names,
    )
    return page(request, "stats.html", session, **context)


@router.get("/stats/export.{kind}")
async def stats_export(request: Request, kind: str) -> Response:
    session = await signed_in(request)
    engine = console_of(request).engine
    if kind not in ("csv", "xlsx"):
        return message(request, N_("Export as CSV or XLSX."), 404, session)
    branches = await visible_branches(request, session)
    try:
        query = _stats_query(request, session, [c for c, _ in branches])
        result = await run_in_threadpool(
            stats.report, engine, session.account, query, queries.now()
        )
    except MotcuaError as err:
        return message(request, err.message, 400, session, **err.params)
    codes = stats.branches_for(engine, session.account, query.branch)
    name = f"thong-ke-766_{query.first.isoformat()}_{query.last.isoformat()}_{query.by}"
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}.{kind}"'}
    if kind == "csv":
        body = "\ufeff" + stats.as_csv(result, codes)  # the BOM: Excel reads it as UTF-8
        return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
    data = await run_in_threadpool(stats.as_xlsx, result, codes)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(data, media_type=xlsx, headers=headers)


@router.get("/stats/dossiers")
async def stats_dossiers(request: Request) -> Response:
    session = await signed_in(request)
    engine = console_of(request).engine
    branches = await visible_branches(request, session)
    group = request.query_params.get("group", "*")[:120]
    try:
        query = _stats_query(request, session, [c for c, _ in branches])
        rows = await run_in_threadpool(
            stats.drill, engine, session.account, query, group, queries.now()
        )
    except MotcuaError as err:
        return message(request, err.message, 400, session, **err.params)
    return page(
        request,
        "stats_dossiers.html",
        session,
        rows=rows[:500],
        more=max(0, len(rows) - 500),
        group=group,
        query=query,
        back=request.url.query,
    )


# --- users ----------------------------------------------------------------------------------


async def _users_page(
    request: Request,
    session: Session,
    branch: str,
    error: str = "",
    done: str = "",
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    engine = console_of(request).engine
    branches = await visible_branches(request, session)
    codes = [c for c, _ in branches]
    if not branch and codes:
        branch = codes[0]
    users: list[dict[str, Any]] = []
    if branch and branch not in codes:
        error = error or say(request, N_("You may not see branch {branch}."), branch=branch)
        status = 404 if status == 200 else status
        branch = ""
    elif branch:
        found = await run_in_threadpool(branch_admin.branch_users, engine, branch)
        users = sorted(found.values(), key=lambda u: u["username"])
    return page(
        request,
        "users.html",
        session,
        branches=branches,
        branch=branch,
        users=users,
        roles=ROLES,
        may_change=bool(branch) and session.account.may_change(branch),
        error=error,
        done=done,
        form=form or {},
        status=status,
    )


@router.get("/users")
async def users(request: Request) -> Response:
    session = await signed_in(request)
    return await _users_page(request, session, request.query_params.get("branch", "")[:32])


_USER_DONE = {
    "add": N_("User {user} added: each desk of the branch learns it at its next sync."),
    "role": N_("Role of {user} changed: each desk learns it at its next sync."),
    "disable": N_("User {user} disabled: each desk learns it at its next sync."),
    "enable": N_("User {user} enabled: each desk learns it at its next sync."),
    "reset": N_("Password of {user} reset: each desk learns it at its next sync."),
    "unlock": N_("User {user} unlocked: each desk learns it at its next sync."),
}


@router.post("/users")
async def users_change(request: Request) -> Response:
    session = await signed_in(request)
    engine = console_of(request).engine
    form = await read_form(request)
    if form is None or not csrf_ok(session.csrf, form.get("csrf")):
        return message(request, EXPIRED, 403, session)
    branch = form.get("branch", "")[:32]
    if not session.account.can_write:
        return message(request, READ_ONLY, 403, session)
    if branch not in [c for c, _ in await visible_branches(request, session)]:
        return message(request, N_("You may not see branch {branch}."), 404, session, branch=branch)
    if not session.account.may_change(branch):
        return message(request, NOT_YOURS, 403, session, branch=branch)
    op, name = form.get("op", ""), form.get("username", "").strip()
    key, by = server_key(request), by_of(session)
    kept = {k: v for k, v in form.items() if k in ("username", "full_name", "role")}

    def change() -> dict[str, Any]:
        if op == "add":
            return branch_admin.add_user(
                engine,
                key,
                branch,
                name,
                form.get("role", ""),
                form.get("full_name", ""),
                form.get("password", ""),
                by=by,
            )
        if op == "role":
            return branch_admin.set_role(engine, key, branch, name, form.get("role", ""), by=by)
        if op in ("disable", "enable"):
            return branch_admin.set_disabled(engine, key, branch, name, op == "disable", by=by)
        if op == "reset":
            return branch_admin.reset_password(
                engine, key, branch, name, form.get("password", ""), by=by
            )
        if op == "unlock":
            return branch_admin.unlock(engine, key, branch, name, by=by)
        raise _Unknown

    if op == "add" and form.get("role", "") not in ROLES:
        text = say(request, N_("Choose a role."))
        return await _users_page(request, session, branch, error=text, status=400, form=kept)
    try:
        await run_in_threadpool(change)
    except _Unknown:
        text = say(request, N_("Unknown action."))
        return await _users_page(request, session, branch, error=text, status=400, form=kept)
    except MotcuaError as err:
        text = error_text(request, err)
        return await _users_page(request, session, branch, error=text, status=400, form=kept)
    done = say(request, _USER_DONE[op], user=name.lower())
    return await _users_page(request, session, branch, done=done)


class _Unknown(Exception):
    pass


# --- reference data -------------------------------------------------------------------------


async def _reference_page(
    request: Request, session: Session, status: int = 200, **context: Any
) -> Response:
    engine = console_of(request).engine
    branches = await visible_branches(request, session)
    codes = [c for c, _ in branches]
    procedures = await run_in_threadpool(reference.in_force, engine)
    scopes = [t.GLOBAL_SCOPE, *codes]
    calendars = {}
    for scope in scopes:
        calendars[scope] = await run_in_threadpool(branch_admin.overrides, engine, scope)
    context.setdefault("error", "")
    context.setdefault("done", "")
    context.setdefault("proposal", None)
    context.setdefault("due", None)
    context.setdefault("due_form", {})
    context.setdefault("cal_form", {})
    context.setdefault("edit", "")
    context.setdefault("mode", "catalogue")
    return page(
        request,
        "reference.html",
        session,
        branches=branches,
        procedures=sorted(procedures, key=lambda p: (p.code, p.version)),
        calendars=calendars,
        national=t.GLOBAL_SCOPE,
        writable_scopes=[
            s
            for s in scopes
            if (
                session.account.may_change_national
                if s == t.GLOBAL_SCOPE
                else session.account.may_change(s)
            )
        ],
        status=status,
        **context,
    )


@router.get("/reference")
async def reference_page(request: Request) -> Response:
    session = await signed_in(request)
    params = request.query_params
    if "edit" in params:
        text = await run_in_threadpool(
            reference.procedure_json, console_of(request).engine, params["edit"][:40]
        )
        return await _reference_page(request, session, edit=text, mode="procedure")
    if "procedure" not in params:
        return await _reference_page(request, session)
    engine = console_of(request).engine
    due_form = {k: params.get(k, "")[:40] for k in ("branch", "procedure", "received")}
    branches = [c for c, _ in await visible_branches(request, session)]
    try:
        if due_form["branch"] and due_form["branch"] not in branches:
            raise ValidationError(N_("You may not see branch {branch}."), branch=due_form["branch"])
        received = reference.parse_moment_input(due_form["received"])
        due = await run_in_threadpool(
            reference.due_preview, engine, due_form["branch"], due_form["procedure"], received
        )
    except MotcuaError as err:
        return await _reference_page(
            request, session, 400, error=error_text(request, err), due_form=due_form
        )
    steps = [say(request, s.message, **s.params) for s in due.steps]
    return await _reference_page(
        request, session, due={"at": due.due_at.isoformat(), "steps": steps}, due_form=due_form
    )


@router.get("/reference/catalogue.json")
async def catalogue_json(request: Request) -> Response:
    await signed_in(request)
    text = await run_in_threadpool(reference.in_force_json, console_of(request).engine)
    headers = {**SECURITY_HEADERS, "Content-Disposition": 'attachment; filename="catalogue.json"'}
    return Response(text, media_type="application/json; charset=utf-8", headers=headers)


async def read_upload(request: Request) -> dict[str, str] | None:
    """A form with one big field or file (a catalogue document); None when unreadable."""
    try:
        form = await request.form(max_files=1, max_fields=10, max_part_size=reference.MAX_CATALOGUE)
    except (HTTPException, MultiPartException, ValueError, KeyError):
        return None
    found: dict[str, str] = {}
    for name, value in form.items():
        if isinstance(value, UploadFile):
            data = await value.read(reference.MAX_CATALOGUE + 1)
            if len(data) > reference.MAX_CATALOGUE:
                return None
            found[name] = data.decode("utf-8", errors="replace")
        else:
            found[name] = value[: reference.MAX_CATALOGUE]
    return found


@router.post("/reference/catalogue")
async def catalogue_change(request: Request) -> Response:
    session = await signed_in(request)
    engine = console_of(request).engine
    form = await read_upload(request)
    if form is None or not csrf_ok(session.csrf, form.get("csrf")):
        return message(request, EXPIRED, 403, session)
    if not session.account.may_change_national:
        return message(request, READ_ONLY, 403, session)
    text = form.get("file", "").strip() or form.get("document", "")
    mode = "procedure" if form.get("mode") == "procedure" else "catalogue"
    try:
        if form.get("op") == "publish":
            result = await run_in_threadpool(
                reference.publish,
                engine,
                server_key(request),
                text,
                form.get("allow_removals") == "1",
                by_of(session),
                mode,
            )
            done = say(
                request,
                N_("Catalogue published (event {event}): every desk applies it at its next sync."),
                event=result["event_id"],
            )
            return await _reference_page(request, session, done=done)
        proposal = await run_in_threadpool(reference.propose, engine, text, mode)
    except MotcuaError as err:
        return await _reference_page(
            request, session, 400, error=error_text(request, err), edit=text, mode=mode
        )
    return await _reference_page(request, session, proposal=proposal, edit=text, mode=mode)


@router.post("/reference/calendar")
async def calendar_change(request: Request) -> Response:
    session = await signed_in(request)
    engine = console_of(request).engine
    form = await read_form(request)
    if form is None or not csrf_ok(session.csrf, form.get("csrf")):
        return message(request, EXPIRED, 403, session)
    scope = form.get("scope", "")[:32]
    if not session.account.can_write:
        return message(request, READ_ONLY, 403, session)
    known = [t.GLOBAL_SCOPE, *(c for c, _ in await visible_branches(request, session))]
    if scope not in known:
        return message(request, N_("You may not see branch {branch}."), 404, session, branch=scope)
    allowed = (
        session.account.may_change_national
        if scope == t.GLOBAL_SCOPE
        else session.account.may_change(scope)
    )
    if not allowed:
        return message(request, NOT_YOURS, 403, session, branch=scope)
    kept = {k: form.get(k, "") for k in ("scope", "day", "kind", "reason")}
    kind = "none" if form.get("op") == "remove" else form.get("kind", "")
    try:
        if kind not in ("holiday", "workday", "none"):
            raise ValidationError(N_("Choose a day off or a working day."))
        day = reference.parse_day(form.get("day", ""))
        await run_in_threadpool(
            branch_admin.set_override,
            engine,
            server_key(request),
            scope,
            day,
            kind,
            form.get("reason", ""),
            by_of(session),
        )
    except MotcuaError as err:
        return await _reference_page(
            request, session, 400, error=error_text(request, err), cal_form=kept
        )
    done = say(
        request,
        N_("Calendar of {scope} changed for {day}: every desk applies it at its next sync."),
        scope=scope,
        day=day.strftime("%d/%m/%Y"),
    )
    return await _reference_page(request, session, done=done)


# --- audit ----------------------------------------------------------------------------------


def _may_audit(session: Session) -> bool:
    return session.account.every_branch


@router.get("/audit")
async def audit_page(request: Request) -> Response:
    session = await signed_in(request)
    if not _may_audit(session):
        return message(request, NO_AUDIT, 403, session)
    console = console_of(request)
    log = await run_in_threadpool(audit_job.security_log, console.engine)
    return page(request, "audit.html", session, run=console.audits.last, log=log)


@router.post("/audit")
async def audit_start(request: Request) -> Response:
    session = await signed_in(request)
    form = await read_form(request)
    if form is None or not csrf_ok(session.csrf, form.get("csrf")):
        return message(request, EXPIRED, 403, session)
    if not _may_audit(session):
        return message(request, NO_AUDIT, 403, session)
    console = console_of(request)
    await run_in_threadpool(
        console.audits.start,
        console.engine,
        server_key(request).public_b64,
        session.account.username,
    )
    log = await run_in_threadpool(audit_job.security_log, console.engine)
    return page(request, "audit.html", session, run=console.audits.last, log=log)


@router.get("/audit/progress")
async def audit_progress(request: Request) -> Response:
    session = await signed_in(request)
    if not _may_audit(session):
        return message(request, NO_AUDIT, 403, session)
    return page(request, "audit_run.html", session, run=console_of(request).audits.last)
