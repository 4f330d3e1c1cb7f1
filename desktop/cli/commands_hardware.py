"""`motcua devices`, `motcua scan`, `motcua decode`: hardware from the command line.

Devices are found as the desktop finds them: ``hardware.scanners.available_scanners``,
``hardware.printers.available_printers`` and the USB bus for receipt printers.

Branch IT uses these to check a counter's scanners, printers and code readers without
the desktop app; every answer is available as JSON with the global ``--json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from core.documents.images import is_blank, to_image
from core.documents.pdfa import DocumentInfo, content_address, pages_to_pdfa
from core.domain.errors import N_, MotcuaError, ValidationError
from core.domain.lookup import parse_slip_payload
from core.ports import ColorMode, ScannedPage, ScanSettings, Source


def register(sub: Any) -> None:
    devices = sub.add_parser("devices", help="list scanners, printers and USB devices")
    devices.add_argument("--escl", action="append", default=[], help="eSCL scanner address")
    devices.add_argument("--folder", action="append", type=Path, default=[], help="scan folder")
    devices.add_argument("--no-discover", action="store_true", help="skip the mDNS search")
    devices.set_defaults(handler=cmd_devices)

    scan = sub.add_parser("scan", help="scan pages into one PDF/A file")
    scan.add_argument("--device", required=True, help="device id from `motcua devices`")
    scan.add_argument(
        "--source",
        choices=[s.value for s in Source],
        default="flatbed",
        help="where the pages are fed from",
    )
    scan.add_argument("--resolution", type=int, default=300, help="dots per inch")
    scan.add_argument(
        "--mode", choices=[m.value for m in ColorMode], default="gray", help="colour mode"
    )
    scan.add_argument("--duplex", action="store_true", help="scan both sides of each page")
    scan.add_argument("--title", default="", help="document title stored in the PDF")
    scan.add_argument("--out", required=True, type=Path, help="PDF file to write")
    scan.set_defaults(handler=cmd_scan)

    decode = sub.add_parser("decode", help="read QR codes and barcodes from an image")
    decode.add_argument("image", type=Path, help="an image file (PNG, JPEG or TIFF)")
    decode.set_defaults(handler=cmd_decode)


def cmd_devices(args: argparse.Namespace, ctx: Any) -> dict[str, Any]:
    return {
        "scanners": _scanners(args),
        "printers": _printers(),
        "receipt_printers": _receipt_printers(),
        "usb": _usb(),
    }


def _scanners(args: argparse.Namespace) -> list[dict[str, Any]] | dict[str, str]:
    from hardware.scanners import available_scanners

    try:
        hub = available_scanners(args.escl, args.folder, discover=not args.no_discover)
        return [vars(info) for info in hub.devices()]
    except MotcuaError as err:
        return {"error": str(err)}


def _printers() -> list[dict[str, Any]] | dict[str, str]:
    from hardware.printers import available_printers

    try:
        return [vars(p) for p in available_printers().printers()]
    except MotcuaError as err:
        return {"error": str(err)}


def _receipt_printers() -> list[dict[str, Any]] | dict[str, str]:
    """ESC/POS printers on the USB bus (serial and network ones are named by address)."""
    from hardware.printers.receipt import receipt_printers

    try:
        return [vars(p) for p in receipt_printers()]
    except MotcuaError as err:
        return {"error": str(err)}


def _usb() -> list[dict[str, Any]] | dict[str, str]:
    from hardware.devices.usb import UsbWatcher

    try:
        return [
            {
                "id": d.id,
                "kinds": sorted(d.kinds),
                "vendor": d.manufacturer,
                "product": d.product,
                "ipp_usb": d.ipp_usb,
                "accessible": d.accessible,
            }
            for d in UsbWatcher().snapshot()
        ]
    except MotcuaError as err:
        return {"error": str(err)}


def cmd_scan(args: argparse.Namespace, ctx: Any) -> dict[str, Any]:
    from hardware.scanners import available_scanners

    settings = ScanSettings(args.resolution, ColorMode(args.mode), Source(args.source), args.duplex)
    hub = available_scanners(discover=False, escl_addresses=_escl_of(args.device))
    result = hub.scan(args.device, settings, on_page=_progress)
    if result.pages:
        _write(args, result.pages)
    if result.problem is not None:
        raise result.problem
    if not result.pages:
        raise ValidationError(N_("No page was scanned"))
    return _summary(args.out, result.pages)


def _escl_of(device: str) -> list[str]:
    return [device] if device.startswith("escl:") else []


def _progress(page: ScannedPage) -> None:
    print(f"page {page.number} scanned", file=sys.stderr, flush=True)


def _write(args: argparse.Namespace, pages: tuple[ScannedPage, ...]) -> None:
    pdf = pages_to_pdfa(pages, DocumentInfo(title=args.title or args.out.stem))
    args.out.write_bytes(pdf)


def _summary(out: Path, pages: tuple[ScannedPage, ...]) -> dict[str, Any]:
    data = out.read_bytes()
    return {
        "out": str(out),
        "pages": len(pages),
        "blank_pages": [p.number for p in pages if is_blank(to_image(p))],
        "bytes": len(data),
        "sha256": content_address(data),
    }


def cmd_decode(args: argparse.Namespace, ctx: Any) -> list[dict[str, Any]]:
    from hardware.codes.image_decode import decode_file

    if not args.image.is_file():  # not "no code found": there is no image to look at
        raise ValidationError(N_("File not found: {path}"), path=str(args.image))
    return [_interpret(d.text) | {"symbology": d.symbology} for d in decode_file(args.image)]


def _interpret(text: str) -> dict[str, Any]:
    from hardware.codes.citizen_id import parse_citizen_qr

    try:
        slip = parse_slip_payload(text)
        return {"text": text, "kind": "slip", "dossier_code": slip.code, "token": slip.token}
    except ValidationError:
        pass
    try:
        person = parse_citizen_qr(text)
        return {"text": text, "kind": "citizen_id"} | {
            k: str(v) if v is not None else "" for k, v in vars(person).items()
        }
    except ValidationError:
        return {"text": text, "kind": "other"}
