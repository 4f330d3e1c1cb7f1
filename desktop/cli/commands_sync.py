"""`motcua enroll`, `motcua sync`, `motcua conflicts list`, `motcua dossier resolve`."""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from core.services import conflicts
from core.services import sync as sync_service
from core.sync.agent import Progress, SyncSummary

from . import render
from .framework import Context


def register(sub: Any) -> None:
    p = sub.add_parser("enroll", help="bind this desktop to its branch on the sync server")
    p.add_argument("--server", required=True, help="server URL, e.g. https://motcua.example.vn")
    p.add_argument("--code", required=True, help="one-time enrolment code from the central admin")
    p.add_argument("--label", default="", help="a name for this desktop (counter, room)")
    p.set_defaults(handler=cmd_enroll)

    p = sub.add_parser("sync", help="exchange events and files with the sync server")
    p.add_argument("--server", default=None, help="server URL (default: the enrolled one)")
    p.add_argument("--once", action="store_true", help="one exchange, then exit")
    p.add_argument("--interval", type=float, default=60.0, help="seconds between exchanges")
    p.add_argument("--progress", action="store_true", help="print progress on stderr")
    p.set_defaults(handler=cmd_sync)

    group = sub.add_parser("conflicts", help="dossiers in conflict").add_subparsers(
        dest="verb", required=True
    )
    p = group.add_parser("list")
    p.set_defaults(handler=cmd_conflicts_list)


def add_resolve(dossier: Any) -> None:
    """`motcua dossier resolve CODE --keep EVENT_ID | --state S --note TEXT`."""
    p = dossier.add_parser("resolve", help="resolve a dossier's conflict (leader)")
    p.add_argument("code")
    choice = p.add_mutually_exclusive_group(required=True)
    choice.add_argument("--keep", default="", metavar="EVENT_ID")
    choice.add_argument("--state", default="", metavar="STATE")
    p.add_argument("--note", required=True)
    p.set_defaults(handler=cmd_resolve)


def cmd_enroll(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    return sync_service.enroll(ctx.services, args.server, args.code, args.label)


def _print_progress(progress: Progress) -> None:
    total = f"/{progress.total}" if progress.total else ""
    print(f"{progress.phase}: {progress.done}{total} {progress.unit}", file=sys.stderr)


def cmd_sync(args: argparse.Namespace, ctx: Context) -> dict[str, Any] | None:
    agent = sync_service.agent_for(ctx.services, args.server)
    report = _print_progress if args.progress else None
    if args.once:
        summary = agent.sync_once(report)
        return {**summary.as_dict(), "pending_events": agent.status().pending_events}
    done = threading.Event()

    def show(summary: SyncSummary) -> None:
        from .framework import emit

        emit(summary.as_dict(), ctx.as_json)

    agent.listeners.append(show)
    agent.start(interval_s=args.interval)
    try:
        done.wait()
    finally:
        agent.stop()
    return None


def cmd_conflicts_list(args: argparse.Namespace, ctx: Context) -> list[dict[str, Any]]:
    ctx.services.login(*ctx.acting_user())
    return conflicts.list_conflicts(ctx.services)


def cmd_resolve(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    user = ctx.services.login(*ctx.acting_user())
    view, _ = conflicts.resolve(
        ctx.services, user, args.code, keep=args.keep, state=args.state, note=args.note
    )
    return render.dossier(view)
