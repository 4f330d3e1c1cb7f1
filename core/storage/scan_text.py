"""The words OCR read in each recorded scan, searchable like the dossier itself.

``scan_search`` (migration 0010) is an FTS5 table tokenised as ``dossier_search`` is:
one row a scan (its SHA-256), the dossier it belongs to, and its text folded
(``core.domain.text.fold``: no tone marks, đ → d), so a clerk finds a dossier by a word
of its scans typed with or without accents. Local to this desk, never synced.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, text

from core.domain.text import fold

_DELETE = text("DELETE FROM scan_search WHERE sha256 = :sha")
_INSERT = text("INSERT INTO scan_search (body, sha256, dossier_id) VALUES (:body, :sha, :dossier)")
_MATCH = text("SELECT DISTINCT dossier_id FROM scan_search WHERE scan_search MATCH :q LIMIT :limit")


def put(conn: Connection, sha256: str, dossier_id: str, body: str) -> None:
    """The text of one scan (a second reading replaces the first)."""
    conn.execute(_DELETE, {"sha": sha256})
    conn.execute(_INSERT, {"body": fold(body), "sha": sha256, "dossier": dossier_id})


def get(conn: Connection, shas: Sequence[str]) -> dict[str, str]:
    """The folded text of each of these scans that has been read."""
    if not shas:
        return {}
    marks = ", ".join(f":s{i}" for i in range(len(shas)))
    rows = conn.execute(
        text(f"SELECT sha256, body FROM scan_search WHERE sha256 IN ({marks})"),
        {f"s{i}": sha for i, sha in enumerate(shas)},
    )
    return {str(r[0]): str(r[1]) for r in rows}


def dossiers_matching(conn: Connection, query: str, limit: int) -> list[str]:
    """Ids of the dossiers whose scans hold every word of an FTS5 ``query``."""
    rows = conn.execute(_MATCH, {"q": query, "limit": limit})
    return [str(r[0]) for r in rows]
