"""What every `motcua` subcommand shares: its context, output and error handling.

A command module exposes ``register(subparsers)``; each subcommand sets ``handler`` with
``parser.set_defaults(handler=fn)`` where ``fn(args, ctx) -> object``. The returned object
(a dict, a list, or a string) is printed as JSON with ``--json`` and as text otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from core.domain.errors import MotcuaError
from core.i18n import describe

Handler = Callable[[argparse.Namespace, "Context"], Any]


def default_data_dir() -> Path:
    env = os.environ.get("MOTCUA_DATA_DIR")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("motcua", "MotCua"))


@dataclass
class Context:
    data_dir: Path
    as_json: bool
    _services: Any = field(default=None, repr=False)

    @property
    def services(self) -> Any:
        """The branch services over the data dir, opened on first use."""
        if self._services is None:
            from core.services.branch import Branch

            self._services = Branch.open(self.data_dir)
        return self._services

    def acting_user(self) -> tuple[str, str]:
        return os.environ.get("MOTCUA_USER", ""), os.environ.get("MOTCUA_PASSWORD", "")

    def close(self) -> None:
        if self._services is not None:
            self._services.close()


def emit(result: Any, as_json: bool) -> None:
    if result is None:
        return
    if as_json:
        json.dump(result, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    elif isinstance(result, str):
        print(result)
    else:
        print(render_text(result))


def render_text(value: Any, indent: int = 0) -> str:
    """A readable plain-text rendering of nested dicts and lists."""
    pad = "  " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{key}:")
                lines.append(render_text(item, indent + 1))
            else:
                lines.append(f"{pad}{key}: {item}")
        return "\n".join(lines)
    if isinstance(value, list):
        return "\n".join(
            render_text(item, indent) + ("\n" if isinstance(item, dict) else "") for item in value
        ).rstrip("\n")
    return f"{pad}{value}"


def run_handler(handler: Handler, args: argparse.Namespace, ctx: Context) -> int:
    """Run one subcommand: errors become one clear line on stderr and a non-zero exit."""
    try:
        emit(handler(args, ctx), ctx.as_json)
    except MotcuaError as err:
        print(f"motcua: {describe(err)}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("motcua: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: nothing more to say, and nothing lost.
        sys.stderr.close()
        return 0
    finally:
        ctx.close()
    return 0
