"""The server's log: one JSON object per line on stderr (journald and log shippers read
it as is), with its start and every security event.

Security events are the refusals an operator must see: a bad or replayed signature, an
unknown, revoked or flagged device, a refused enrolment, a push against the authority
table, a rate limit. Each line names the kind, the status, the path, the client address
and the device when the request was signed.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

SECURITY = logging.getLogger("motcua.security")
SERVER = logging.getLogger("motcua.server")
SECURITY_STATUSES = frozenset({401, 403, 410, 429})
SECURITY_KINDS = frozenset({"malformed-event", "equivocation", "bad-signature", "bad-chain"})
_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def setup(level: int = logging.INFO) -> None:
    """JSON lines on stderr for the server's loggers (idempotent)."""
    root = logging.getLogger()
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))
    if any(isinstance(h.formatter, JsonLines) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    root.addHandler(handler)


def is_security(status: int, kind: str) -> bool:
    return status in SECURITY_STATUSES or kind in SECURITY_KINDS


def security(kind: str, status: int, **fields: Any) -> None:
    SECURITY.warning(kind, extra={"event": "security", "kind": kind, "status": status, **fields})


def started(**fields: Any) -> None:
    SERVER.info("server started", extra={"event": "start", **fields})
