"""What every console page shares: templates, language, CSRF tokens, cookies, headers.

Pages are Jinja2 templates rendered on the server; the few scripts are vendored under
``static/`` (htmx), so the console works on a network with no way out. Messages in the
templates are English msgids, translated with ``_`` from this package's catalogue
(``console/locale``); Vietnamese is the default, English is a cookie away.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from core.i18n import number, own_first, percent

from . import labels

HERE = Path(__file__).parent
LOCALE = HERE / "locale"
LANG_COOKIE = "motcua_lang"
CSRF_COOKIE = "motcua_csrf"  # the anonymous forms' token (login, citizens' lookup)
SESSION_COOKIE = "motcua_session"
_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@pass_context
def _number(context: Context, value: float, digits: int = 0) -> str:
    """``{{ n|num }}``: a count or an amount in the page's language (1.234 / 1,234)."""
    return number(value, digits, context.get("lang"))


@pass_context
def _percent(context: Context, value: float, digits: int = 2) -> str:
    """``{{ rate|pct }}``: a rate in percent in the page's language (95,50 % / 95.50%)."""
    return percent(value, digits, context.get("lang"))


env.filters["moment"] = labels.moment
env.filters["day"] = labels.day
env.filters["num"] = _number
env.filters["pct"] = _percent


def language(request: Request) -> str:
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else "vi"


def gettext_for(lang: str) -> Any:
    # The console's own catalogue first: the desktop's (loaded in the same process by
    # tests, or by a future embedding) translates some of the same msgids for its screens.
    return own_first(LOCALE, lang).gettext


def anonymous_csrf(request: Request) -> str:
    """The anonymous forms' token: the cookie's, or a new one (set by ``render``)."""
    token = request.cookies.get(CSRF_COOKIE, "")
    if not (16 <= len(token) <= 64 and token.isascii()):
        token = request.state.__dict__.setdefault("new_csrf", secrets.token_urlsafe(24))
    return token


def csrf_ok(expected: str, sent: object) -> bool:
    return isinstance(sent, str) and bool(expected) and hmac.compare_digest(expected, sent)


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    lang = language(request)
    _ = gettext_for(lang)
    page = env.get_template(name).render(
        _=_,
        lang=lang,
        path=request.url.path,
        here=quote(request.url.path + (f"?{request.url.query}" if request.url.query else "")),
        state_label=lambda s: _(labels.state_label(s)),
        event_label=lambda e: _(labels.event_label(e)),
        field_label=lambda f: _(labels.FIELD_LABELS.get(f, f)),
        role_label=lambda r: _(labels.ROLE_LABELS.get(r, r)),
        channel_label=lambda c: _(labels.CHANNEL_LABELS.get(c, c)),
        **context,
    )
    response = HTMLResponse(page, status_code=status, headers=SECURITY_HEADERS)
    new = request.state.__dict__.get("new_csrf")
    if new:
        response.set_cookie(
            CSRF_COOKIE, new, httponly=True, samesite="strict", secure=secure(request)
        )
    return response


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def safe_next(target: object, default: str = "/console/") -> str:
    """A local path to go back to (never another site: no scheme, no //host)."""
    if (
        isinstance(target, str)
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and len(target) < 512
    ):
        return target
    return default


def with_language(response: Response, lang: str, request: Request) -> Response:
    response.set_cookie(
        LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", secure=secure(request)
    )
    return response


def say(request: Request, msgid: str, **params: Any) -> str:
    """A message in the request's language, its parameters filled in."""
    text: str = gettext_for(language(request))(msgid)
    return text.format(**params) if params else text
