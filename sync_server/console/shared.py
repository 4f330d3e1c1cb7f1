"""What the console's handlers share: the ``Console`` (``app.state.console``), the
client's address, and reading a form without ever failing on what a browser sends."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from sqlalchemy import Engine
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from sync_server.limits import Attempts

from . import queries
from .accounts import Logins
from .audit_job import Audits

LOGIN_FAILURES_PER_ADDRESS = 20  # failed logins from one address …
LOGIN_WINDOW_S = 600.0  # … within this window → wait
LOOKUP_FAILURES = 10  # failed citizens' lookups from one address …
LOOKUPS = 60  # … or lookups of any outcome …
LOOKUP_WINDOW_S = 600.0  # … within this window → wait
_MAX_FIELD = 200


@dataclass
class Console:
    """Counted in the process's memory, as the enrolment's attempts: each process (and
    each instance behind a load balancer) keeps its own."""

    engine: Engine
    data_dir: Path
    disk_usage: queries.DiskUsage = field(default=shutil.disk_usage)
    logins: Logins = field(init=False)
    login_addresses: Attempts = field(init=False)
    lookup_failures: Attempts = field(init=False)
    lookups: Attempts = field(init=False)
    audits: Audits = field(default_factory=Audits)

    def __post_init__(self) -> None:
        self.logins = Logins(self.engine)
        self.login_addresses = Attempts(LOGIN_FAILURES_PER_ADDRESS, LOGIN_WINDOW_S)
        self.lookup_failures = Attempts(LOOKUP_FAILURES, LOOKUP_WINDOW_S)
        self.lookups = Attempts(LOOKUPS, LOOKUP_WINDOW_S)


class LoginRequired(Exception):
    def __init__(self, back: str) -> None:
        super().__init__(back)
        self.back = back


def console_of(request: Request) -> Console:
    found: Console = request.app.state.console
    return found


def address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def read_form(request: Request) -> dict[str, str] | None:
    """The form's text fields (at most 20, each cut to 200 characters); None when the
    body is not a form that can be read."""
    try:
        form = await request.form(max_files=0, max_fields=20)
    except (HTTPException, MultiPartException, ValueError, KeyError):
        return None
    return {k: v[:_MAX_FIELD] for k, v in form.items() if isinstance(v, str)}
