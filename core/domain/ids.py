"""Typed identifiers and UUIDv7 generation."""

from __future__ import annotations

from typing import NewType

import uuid6

DossierId = NewType("DossierId", str)
EventId = NewType("EventId", str)
DeviceId = NewType("DeviceId", str)
UserName = NewType("UserName", str)
BranchCode = NewType("BranchCode", str)


def new_uuid7() -> str:
    """A time-ordered UUID (RFC 9562 version 7) as its canonical string."""
    return str(uuid6.uuid7())
