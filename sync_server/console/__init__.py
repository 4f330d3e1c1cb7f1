"""The central web console (``/console``) and the citizens' lookup (``/tra-cuu``).

Server-rendered pages (Jinja2 templates, htmx and every style vendored in ``static/``:
nothing is fetched from outside, the console works on a closed network), behind the
console's own accounts and sessions. ``mount`` adds it all to the sync server's app,
with the API's docs page (``/docs``) served from vendored Swagger UI files.

routes     login, logout, language, the overview, the dossier search and detail
pages      statistics, users, reference data (catalogue, calendar), audit
stats      the Decision 766 figures, their exports and chart
reference  the catalogue in force and proposed, the calendar, a due preview
audit_job  the chain verification in the background, the security log
lookup     the citizens' lookup page
accounts   console accounts (Argon2id), roles, lockout
sessions   server-side sessions with expiry and their CSRF tokens
queries    what the pages read (limited to the account's branches)
shared     the Console (what handlers share), reading forms safely
seen       when each device last synchronised (a middleware on the API)
web        templates, language, cookies, security headers
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.responses import Response

from core.i18n import register_locale_dir

from . import lookup, pages, routes, shared
from .seen import SeenMiddleware
from .web import HERE, redirect

register_locale_dir(HERE / "locale")
STATIC = "/console/static"


def mount(app: FastAPI, engine: Engine, data_dir: Path, who_key: str) -> None:
    """Add the console, the lookup page and the offline docs page to `app`."""
    app.state.console = shared.Console(engine, data_dir)
    app.include_router(routes.router)
    app.include_router(pages.router)
    app.include_router(lookup.router)
    app.mount(STATIC, StaticFiles(directory=HERE / "static"), name="console-static")

    @app.exception_handler(shared.LoginRequired)
    async def _login(request: Request, err: Exception) -> Response:
        assert isinstance(err, shared.LoginRequired)
        return routes.login_required_response(request, err)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Một Cửa sync server — API",
            swagger_js_url=f"{STATIC}/swagger/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC}/swagger/swagger-ui.css",
            swagger_favicon_url=f"{STATIC}/swagger/favicon-32x32.png",
        )

    @app.get("/console", include_in_schema=False)
    async def console_root() -> Response:
        return redirect("/console/")

    app.add_middleware(SeenMiddleware, engine=engine, who_key=who_key)
