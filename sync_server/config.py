"""Where the server's configuration comes from, in one place.

In order, the first that sets a value wins: the command line (``--data-dir``), the
process environment, the env file (``/etc/motcua/server.env`` by default, another with
``--env-file`` or ``MOTCUA_SERVER_ENV_FILE``), the defaults. The env file holds
``NAME=value`` lines (``#`` comments, optional quotes), as systemd's ``EnvironmentFile``
reads them, so the service and an admin's command see the same settings.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.domain.errors import N_, ValidationError

from .db import ENV_FOLD, ENV_KEY_FILE, Settings

DEFAULT_ENV_FILE = Path("/etc/motcua/server.env")
ENV_ENV_FILE = "MOTCUA_SERVER_ENV_FILE"
ENV_DATA_DIR = "MOTCUA_SERVER_DATA_DIR"
DEFAULT_DATA_DIR = Path("motcua-server-data")
KNOWN = ("DATABASE_URL", ENV_DATA_DIR, ENV_KEY_FILE, "MOTCUA_DB_CONNECTIONS", ENV_FOLD)


@dataclass(frozen=True)
class Config:
    settings: Settings
    env_file: Path | None  # the file read, None when there was none
    sources: Mapping[str, str]  # setting → where it came from

    def describe(self) -> dict[str, Any]:
        """What the server runs with (the database URL without its password)."""
        from sqlalchemy.engine import make_url

        return {
            "data_dir": str(self.settings.data_dir.resolve()),
            "database": make_url(self.settings.database_url).render_as_string(hide_password=True),
            "key_file": str(self.settings.key_file),
            "fold": self.settings.fold,
            "env_file": str(self.env_file) if self.env_file else None,
            "sources": dict(self.sources),
        }


def read_env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines; a malformed line is refused with its number."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ValidationError(N_("Cannot read the env file {path}"), path=str(path)) from err
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not name.strip().isidentifier():
            raise ValidationError(
                N_("The env file {path} has a malformed line {line}"), path=str(path), line=number
            )
        try:
            parts = shlex.split(value, posix=True) if value.strip() else [""]
        except ValueError:
            raise ValidationError(
                N_("The env file {path} has a malformed line {line}"), path=str(path), line=number
            ) from None
        values[name.strip()] = " ".join(parts)
    return values


def load(data_dir: Path | None, env_file: Path | None = None) -> Config:
    chosen_file = env_file or _env_file_from_environment()
    from_file = read_env_file(chosen_file) if chosen_file else {}
    sources: dict[str, str] = {}

    def pick(name: str) -> str | None:
        if name in os.environ:
            sources[name] = "environment"
            return os.environ[name]
        if name in from_file:
            sources[name] = "env file"
            return from_file[name]
        return None

    if data_dir is not None:
        sources[ENV_DATA_DIR] = "command line"
        directory = data_dir
    else:
        directory = Path(pick(ENV_DATA_DIR) or DEFAULT_DATA_DIR)
    for name in (ENV_KEY_FILE, "MOTCUA_DB_CONNECTIONS", ENV_FOLD):
        value = pick(name)
        if value is not None and name not in os.environ:
            os.environ[name] = value  # Settings and the serve workers read these
    settings = Settings.from_env(directory, pick("DATABASE_URL"))
    return Config(settings, chosen_file, sources)


def _env_file_from_environment() -> Path | None:
    named = os.environ.get(ENV_ENV_FILE)
    if named:
        return Path(named)
    return DEFAULT_ENV_FILE if DEFAULT_ENV_FILE.is_file() else None
