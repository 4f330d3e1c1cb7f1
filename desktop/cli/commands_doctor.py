"""`motcua doctor`: every check of a desk, each with a fix in plain words.

The store, key, server and LAN checks are ``core.services.doctor``'s; scanners and
printers are found as the desktop finds them (``desktop.composition``), so a missing
driver shows here exactly as it would in the app: a warning, not a crash.
"""

from __future__ import annotations

import argparse
from typing import Any

from core.cli.parser import port, seconds
from core.domain.errors import N_, CheckFailed, MotcuaError, StoreError
from core.i18n import describe, tr
from core.services import doctor

from .framework import Context, emit


def register(sub: Any) -> None:
    p = sub.add_parser(
        "doctor", help="check the store, key, disk, server, clock, devices and LAN of this desk"
    )
    p.add_argument("--port", type=port, default=doctor.PEER_PORT, help="the LAN peer port to check")
    p.add_argument("--timeout", type=seconds, default=5.0, help="seconds to wait for the server")
    p.add_argument("--offline", action="store_true", help="do not ask the server")
    p.add_argument(
        "--no-devices", action="store_true", help="do not look for scanners and printers"
    )
    p.add_argument("--no-lan", action="store_true", help="do not check the peer port and mDNS")
    p.set_defaults(handler=cmd_doctor)


LEVELS = {doctor.OK: N_("ok"), doctor.WARNING: N_("warning"), doctor.FAILURE: N_("failure")}


def cmd_doctor(args: argparse.Namespace, ctx: Context) -> Any:
    extra = [] if args.no_devices else [("scanners", _scanners(ctx)), ("printers", _printers(ctx))]
    findings = doctor.run(
        ctx.data_dir,
        server=not args.offline,
        lan=not args.no_lan,
        peer_port=args.port,
        timeout=args.timeout,
        extra=extra,
    )
    shown = [_shown(f, ctx.as_json) for f in findings]
    result: Any = shown
    if ctx.as_json:  # scripts read the verdict; people read the table
        worst = doctor.worst(findings)
        result = {"ok": worst != doctor.FAILURE, "worst": worst, "findings": shown}
    failures = [f for f in findings if f.level == doctor.FAILURE]
    if not failures:
        return result
    emit(result, ctx.as_json)
    first = failures[0]
    error = StoreError if first.check in doctor.STORE_CHECKS else CheckFailed
    raise error(
        N_("Doctor found {count} failures; first, {check}: {found}"),
        count=len(failures),
        check=first.check,
        found=tr(first.found, **first.params),
    )


def _shown(finding: doctor.Finding, as_json: bool) -> dict[str, Any]:
    return {
        "check": finding.check,
        "level": finding.level if as_json else tr(LEVELS[finding.level]),
        "found": tr(finding.found, **finding.params),
        "fix": tr(finding.fix, **finding.params) if finding.fix else "",
    }


def _settings(ctx: Context) -> Any:
    from desktop.settings import DesktopSettings

    return DesktopSettings.load(ctx.data_dir)


def _scanners(ctx: Context) -> doctor.Check:
    def check() -> list[doctor.Finding]:
        from desktop.composition import find_scanners

        try:
            devices = find_scanners(_settings(ctx)).devices()
        except MotcuaError as err:
            return [
                doctor.warning(
                    "scanners",
                    N_("No scanner can be used: {error}"),
                    N_(
                        "Install the scanner's driver (SANE on Linux, WIA/TWAIN on Windows) or "
                        "add a network scanner by address in Settings; 'motcua devices' lists "
                        "what this computer sees"
                    ),
                    error=describe(err),
                )
            ]
        return [_counted("scanners", len(devices), ", ".join(_names(devices)))]

    return check


def _printers(ctx: Context) -> doctor.Check:
    def check() -> list[doctor.Finding]:
        from desktop.composition import find_printers

        try:
            printers = find_printers(_settings(ctx)).printers()
        except MotcuaError as err:
            return [
                doctor.warning(
                    "printers",
                    N_("No printer can be used: {error}"),
                    N_(
                        "Install CUPS (Linux) or the printer's driver (Windows) and add the "
                        "printer; slips can still be saved as PDF"
                    ),
                    error=describe(err),
                )
            ]
        return [_counted("printers", len(printers), ", ".join(_names(printers)))]

    return check


def _names(devices: Any) -> list[str]:
    return [str(getattr(d, "name", "") or getattr(d, "id", "")) for d in devices]


def _counted(check: str, count: int, names: str) -> doctor.Finding:
    if count:
        return doctor.ok(check, N_("{count} found: {names}"), count=count, names=names)
    return doctor.warning(
        check,
        N_("None answers"),
        N_("Check that the device is switched on and plugged in, then run 'motcua devices'"),
    )
