"""The console's pages: login and logout, the overview, the dossier search and detail.

Every page but the login needs a live session (else: to the login page, and back after).
Every form carries a CSRF token — the session's, or for the login form the anonymous
cookie's — and a form without it is refused with a page that says so, nothing done.
Handlers never answer a 5xx for what a browser sends: a form that cannot be read, an
unknown branch or dossier, a search with nothing searchable, each is a message on a page.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from core.domain.errors import N_, AuthenticationFailed
from core.sync import blobs

from .. import projections
from . import accounts, queries, sessions
from .shared import LoginRequired, address, console_of, read_form
from .web import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    anonymous_csrf,
    csrf_ok,
    redirect,
    render,
    safe_next,
    say,
    secure,
    with_language,
)

_SHA = re.compile(r"^[0-9a-f]{64}$")
EXPIRED = N_("The form has expired or did not come from this console: reload it and try again.")


router = APIRouter(prefix="/console", include_in_schema=False)


async def signed_in(request: Request) -> sessions.Session:
    console = console_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    session = await run_in_threadpool(sessions.find_session, console.engine, token)
    if session is None:
        raise LoginRequired(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
    request.state.session = session
    # The console shows every push so far: what the background folder has not reached
    # yet is folded now (nothing to do, one query, when it is up to date).
    await run_in_threadpool(projections.settle, console.engine)
    return session


def page(request: Request, name: str, session: sessions.Session | None, **context: Any) -> Response:
    status = context.pop("status", 200)
    return render(
        request,
        name,
        {
            "user": session.account if session else None,
            "csrf": session.csrf if session else "",
            **context,
        },
        status,
    )


def message(
    request: Request,
    msgid: str,
    status: int,
    session: sessions.Session | None = None,
    **params: Any,
) -> Response:
    """A page that says what went wrong, in the request's language."""
    return page(request, "message.html", session, text=say(request, msgid, **params), status=status)


def login_required_response(request: Request, err: LoginRequired) -> Response:
    return redirect(f"/console/login?next={quote(err.back)}")


# --- login, logout, language ------------------------------------------------------------------


@router.get("/login")
async def login_form(request: Request) -> Response:
    back = safe_next(request.query_params.get("next"))
    return page(
        request,
        "login.html",
        None,
        back=back,
        error="",
        username="",
        form_csrf=anonymous_csrf(request),
    )


@router.post("/login")
async def login(request: Request) -> Response:
    console = console_of(request)
    form = await read_form(request)
    csrf = anonymous_csrf(request)

    def again(msgid: str, status: int, **params: Any) -> Response:
        return page(
            request,
            "login.html",
            None,
            back=safe_next((form or {}).get("next")),
            error=say(request, msgid, **params),
            username=(form or {}).get("username", "")[:64],
            form_csrf=csrf,
            status=status,
        )

    if form is None:
        return again(N_("The form could not be read: reload the page and try again."), 400)
    if not csrf_ok(request.cookies.get(CSRF_COOKIE, ""), form.get("csrf")):
        return again(
            N_("The form has expired: it was sent again with a fresh token, try once more."), 403
        )
    username, password = form.get("username", "").strip(), form.get("password", "")
    if not username or not password:
        return again(N_("Enter your user name and password."), 400)
    keys = [f"address {address(request)}"]
    wait = console.login_addresses.wait_s(keys)
    if wait:
        return again(
            N_("Too many failed logins from this address: try again in {minutes} min."),
            429,
            minutes=-(-wait // 60),
        )
    try:
        account = await run_in_threadpool(console.logins.check, username, password)
    except AuthenticationFailed as err:
        console.login_addresses.failed(keys)
        reason = err.message.format(**err.params) if err.params else err.message
        await run_in_threadpool(
            accounts.record_failed_login, console.engine, username, address(request), reason
        )
        return again(err.message, 401, **err.params)
    token = await run_in_threadpool(sessions.open_session, console.engine, account)
    response = redirect(safe_next(form.get("next")))
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure(request), path="/"
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    console = console_of(request)
    session = await signed_in(request)
    form = await read_form(request)
    if form is None or not csrf_ok(session.csrf, form.get("csrf")):
        return message(
            request,
            EXPIRED,
            403,
            session,
        )
    await run_in_threadpool(
        sessions.close_session, console.engine, request.cookies.get(SESSION_COOKIE)
    )
    response = redirect("/console/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{lang}")
async def switch_language(request: Request, lang: str) -> Response:
    chosen = "en" if lang == "en" else "vi"
    return with_language(redirect(safe_next(request.query_params.get("next"))), chosen, request)


# --- pages --------------------------------------------------------------------------------------


@router.get("/")
async def overview(request: Request) -> Response:
    session = await signed_in(request)
    console = console_of(request)
    search = request.query_params.get("q", "")[:64]
    number = request.query_params.get("page", "1")
    chosen = int(number) if number.isdigit() and len(number) < 7 else 1
    view = await run_in_threadpool(
        functools.partial(
            queries.overview, console.engine, session.account, page=chosen, search=search
        )
    )
    disk = await run_in_threadpool(queries.disk, console.data_dir, console.disk_usage)
    return page(
        request,
        "overview.html",
        session,
        branches=view.lines,
        view=view,
        search=search,
        disk=disk,
        now=queries.now().isoformat(),
    )


@router.get("/dossiers")
async def dossiers(request: Request) -> Response:
    session = await signed_in(request)
    console = console_of(request)
    query = request.query_params.get("q", "")[:100]
    branch = request.query_params.get("branch", "")[:32]
    error, status = "", 200
    found: list[queries.Found] = []
    if branch and not session.account.sees(branch):
        error, status = say(request, N_("You may not see branch {branch}."), branch=branch), 404
    else:
        found = await run_in_threadpool(
            queries.search, console.engine, session.account, query, branch
        )
        if query.strip() and not found:
            error = say(request, N_("No dossier matches “{query}”."), query=query)
    visible = await run_in_threadpool(queries.branch_names, console.engine, session.account)
    return page(
        request,
        "dossiers.html",
        session,
        query=query,
        branch=branch,
        branches=visible,
        found=found,
        error=error,
        status=status,
    )


@router.get("/dossiers/{branch}/{dossier_id}")
async def dossier(request: Request, branch: str, dossier_id: str) -> Response:
    session = await signed_in(request)
    console = console_of(request)
    found = await run_in_threadpool(
        queries.dossier, console.engine, session.account, branch[:32], dossier_id[:64]
    )
    if found is None:
        return message(request, N_("No such dossier, or not in your branches."), 404, session)
    return page(
        request,
        "dossier.html",
        session,
        view=found.view,
        steps=found.steps,
        scans=found.scans,
        control=found.control,
    )


@router.get("/dossiers/{branch}/{dossier_id}/files/{sha256}")
async def dossier_file(request: Request, branch: str, dossier_id: str, sha256: str) -> Response:
    """A scanned file of a dossier, shown in the browser: only a file attached to that
    dossier, of a branch the account sees, whose bytes that branch uploaded."""
    session = await signed_in(request)
    console = console_of(request)
    sha = sha256.lower()
    ok = bool(_SHA.match(sha)) and await run_in_threadpool(
        queries.attached, console.engine, session.account, branch[:32], dossier_id[:64], sha
    )
    if not ok:
        return message(request, N_("No such file, or not on the server yet."), 404, session)
    path = blobs.blob_path(console.data_dir / "blobs", sha)
    return FileResponse(
        path,
        media_type="application/pdf",
        headers={"Content-Disposition": "inline", "X-Content-Type-Options": "nosniff"},
    )
