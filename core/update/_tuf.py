"""python-tuf and securesystemslib names, in one place: their packages re-export them
without ``__all__``, which mypy's strict mode does not accept as an export."""

from securesystemslib.signer import CryptoSigner, Signer  # type: ignore[attr-defined]
from tuf.api.metadata import (  # type: ignore[attr-defined]
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.ngclient import Updater  # type: ignore[attr-defined]
from tuf.repository import Repository  # type: ignore[attr-defined]

__all__ = [
    "CryptoSigner",
    "MetaFile",
    "Metadata",
    "Repository",
    "Root",
    "Signer",
    "Snapshot",
    "TargetFile",
    "Targets",
    "Timestamp",
    "Updater",
]
