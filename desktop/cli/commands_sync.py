"""`motcua enroll`, `motcua sync [--peer HOST:PORT]`, `motcua peers`, `motcua conflicts list`,
`motcua dossier resolve`."""

from __future__ import annotations

import argparse
import errno
import sys
import threading
from typing import Any

from core.cli.parser import port
from core.domain.errors import N_, MotcuaError, StoreError
from core.services import conflicts, peers
from core.services import sync as sync_service
from core.sync.agent import Progress, SyncSummary
from desktop.sync_status import revoked_answer

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
    p.add_argument(
        "--peer",
        default=None,
        metavar="HOST:PORT",
        help="exchange with a desktop of this branch on the LAN instead of the server",
    )
    p.set_defaults(handler=cmd_sync)

    p = sub.add_parser("peers", help="desktops of this branch on the LAN")
    p.add_argument("--add", default=None, metavar="HOST:PORT", help="remember a peer by address")
    p.add_argument(
        "--browse", type=float, default=2.0, help="seconds to listen for mDNS announcements"
    )
    p.add_argument("--serve", action="store_true", help="serve the exchange and announce it")
    p.add_argument("--host", default="0.0.0.0", help="address to serve on (with --serve)")
    p.add_argument("--port", type=port, default=8471, help="port to serve on (with --serve)")
    p.set_defaults(handler=cmd_peers)

    group = sub.add_parser("conflicts", help="dossiers in conflict").add_subparsers(
        dest="verb", required=True
    )
    p = group.add_parser("list", help="the dossiers in conflict")
    p.set_defaults(handler=cmd_conflicts_list)


def add_resolve(dossier: Any) -> None:
    """`motcua dossier resolve CODE --keep EVENT_ID | --state S --note TEXT`."""
    p = dossier.add_parser("resolve", help="resolve a dossier's conflict (leader)")
    p.add_argument("code", help="the dossier's code")
    choice = p.add_mutually_exclusive_group(required=True)
    choice.add_argument(
        "--keep",
        default="",
        metavar="EVENT_ID",
        help="keep the value this event wrote (motcua conflicts list)",
    )
    choice.add_argument("--state", default="", metavar="STATE", help="set this state instead")
    p.add_argument("--note", required=True, help="the leader's reason")
    p.set_defaults(handler=cmd_resolve)


def cmd_enroll(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    return sync_service.enroll(ctx.services, args.server, args.code, args.label)


def _print_progress(progress: Progress) -> None:
    total = f"/{progress.total}" if progress.total else ""
    print(f"{progress.phase}: {progress.done}{total} {progress.unit}", file=sys.stderr)


def cmd_sync(args: argparse.Namespace, ctx: Context) -> dict[str, Any] | None:
    if args.peer:
        return peers.sync_with_peer(ctx.services, args.peer).as_dict()
    agent = sync_service.agent_for(ctx.services, args.server)
    report = _print_progress if args.progress else None
    if args.once:
        try:
            summary = agent.sync_once(report)
        except MotcuaError as err:
            if revoked_answer(err):  # as the app does: this desk records no new event
                ctx.services.mark_revoked()
            raise
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


def cmd_peers(args: argparse.Namespace, ctx: Context) -> Any:
    if args.add:
        return peers.add_peer(ctx.services, args.add)
    if args.serve:
        from .framework import emit

        service = _serve(ctx, args.host, args.port)
        emit({"serving": f"{args.host}:{service.port}"}, ctx.as_json)
        sys.stdout.flush()
        try:
            threading.Event().wait()
        finally:
            service.stop()
        return None
    return peers.list_peers(ctx.services, browse_s=args.browse)


def _serve(ctx: Context, host: str, port_number: int) -> peers.PeerService:
    try:
        return peers.PeerService(ctx.services).start(host, port_number)
    except OSError as err:
        if err.errno != errno.EADDRINUSE:
            raise
        raise StoreError(  # the server's words for the same refusal
            N_("Port {port} on {host} is already in use by another program"),
            port=port_number,
            host=host,
        ) from None


def cmd_conflicts_list(args: argparse.Namespace, ctx: Context) -> list[dict[str, Any]]:
    ctx.services.login(*ctx.acting_user())
    return conflicts.list_conflicts(ctx.services)


def cmd_resolve(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    user = ctx.services.login(*ctx.acting_user())
    view, _ = conflicts.resolve(
        ctx.services, user, args.code, keep=args.keep, state=args.state, note=args.note
    )
    return render.dossier(view)
