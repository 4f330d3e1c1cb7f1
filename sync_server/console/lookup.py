"""``/tra-cuu``: a citizen looks up a dossier without logging in, on a phone.

The dossier code and the lookup key printed on the slip (or the citizen ID number), or
the slip's QR text (``MC1|code|key``) typed or pasted into the code field. Form 01's QR,
when the branch has a public address, opens ``/tra-cuu?code=…``: the code is filled in,
the key or ID is still asked for. A wrong key and an unknown code get the same answer,
after the same work. Each address may fail ``LOOKUP_FAILURES`` times in
``LOOKUP_WINDOW_S``, and look up ``LOOKUPS`` times in it, then waits (``shared.Console``).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from core.domain.codes import looks_like_code
from core.domain.errors import N_, MotcuaError
from core.domain.lookup import CODE_PARAM, LOOKUP_PATH, PREFIX, parse_slip_payload
from core.domain.workflow import State

from .. import projections
from . import labels, queries
from .shared import address, console_of, read_form
from .web import CSRF_COOKIE, anonymous_csrf, csrf_ok, render, say

_SECRET = re.compile(r"^[A-Z0-9]{6,16}$")
NOT_FOUND = N_(
    "No dossier matches this code and key. Check both on your slip, or ask at the counter."
)

router = APIRouter(include_in_schema=False)


def _page(request: Request, status: int = 200, **context: Any) -> Response:
    base = {"code": "", "error": "", "result": None, "csrf": anonymous_csrf(request)}
    return render(request, "lookup.html", base | context, status)


@router.get(LOOKUP_PATH)
async def lookup_form(request: Request) -> Response:
    code = request.query_params.get(CODE_PARAM, "")[:40].strip().upper()
    return _page(request, code=code if looks_like_code(code) else "")


def _read(form: dict[str, str]) -> tuple[str, str] | str:
    """(code, secret) from the form, or the msgid saying what is wrong with it."""
    code = form.get("code", "").strip().upper()
    secret = re.sub(r"[\s.-]", "", form.get("secret", "")).upper()
    if code.startswith(PREFIX + "|"):
        try:
            slip = parse_slip_payload(code)
        except MotcuaError:
            return N_("This is not the code of a Một Cửa slip.")
        code, secret = slip.code.upper(), slip.token.upper()
    if not code:
        return N_("Enter the dossier code printed on your slip.")
    if not looks_like_code(code):
        return N_("A dossier code looks like TAYHO-261123-0001: check it on your slip.")
    if not secret:
        return N_("Enter the lookup key printed on your slip, or your citizen ID number.")
    if not _SECRET.match(secret):
        return N_("The lookup key has 8 letters and digits; a citizen ID has 12 digits.")
    return code, secret


@router.post(LOOKUP_PATH)
async def lookup(request: Request) -> Response:
    form = await read_form(request)
    if form is None:
        return _page(request, 400, error=say(request, N_("The form could not be read.")))
    typed = form.get("code", "")[:40]
    if not csrf_ok(request.cookies.get(CSRF_COOKIE, ""), form.get("csrf")):
        message = N_("The page had expired: please press Look up again.")
        return _page(request, 403, code=typed, error=say(request, message))
    read = _read(form)
    if isinstance(read, str):
        return _page(request, 400, code=typed, error=say(request, read))
    keys = [f"address {address(request)}"]
    console = console_of(request)
    wait = max(console.lookup_failures.wait_s(keys), console.lookups.wait_s(keys))
    if wait:
        message = N_("Too many lookups from this connection: please try again in {minutes} min.")
        return _page(request, 429, code=typed, error=say(request, message, minutes=-(-wait // 60)))
    console.lookups.failed(keys)  # every lookup counts towards the address's limit
    code, secret = read
    await run_in_threadpool(projections.settle, console.engine)  # every push so far
    view = await run_in_threadpool(queries.for_citizen, console.engine, code, secret)
    if view is None:
        console.lookup_failures.failed(keys)
        return _page(request, 404, code=typed, error=say(request, NOT_FOUND))
    state = State(view.state)
    result = {
        "code": view.code,
        "procedure": view.procedure_name,
        "status": say(request, labels.CITIZEN_STATUS[state]),
        "appointment": labels.moment(view.due_at) if state in labels.SHOW_APPOINTMENT else "",
        "next": say(request, labels.NEXT_STEP[state]),
        "received": labels.moment(view.received_at),
        "paused": bool(view.paused_since),
    }
    return _page(request, code="", result=result)
