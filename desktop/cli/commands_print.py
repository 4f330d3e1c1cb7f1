"""`motcua print slip CODE --form NN`, `print book --from --to`, `print unit …`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.cli.parser import day
from core.domain.errors import N_, ValidationError
from core.domain.timeutil import parse_moment

from .framework import Context


def register(sub: Any) -> None:
    printing = sub.add_parser("print", help="print national forms").add_subparsers(
        dest="verb", required=True
    )
    p = printing.add_parser("slip", help="a dossier's form 01, 02, 03, 04, 05 or 06 as PDF")
    p.add_argument("code", help="the dossier's code")
    p.add_argument(
        "--form",
        required=True,
        choices=["01", "02", "03", "04", "05", "06"],
        help="the form's number",
    )
    _target(p)
    p.add_argument("--copies", type=int, default=1, help="copies to print")
    p.set_defaults(handler=cmd_print_slip)

    p = printing.add_parser("book", help="the dossier tracking book (form 07) for a period")
    p.add_argument("--from", dest="start", type=day, required=True, help="first day, dd/mm/yyyy")
    p.add_argument("--to", dest="end", type=day, required=True, help="last day, dd/mm/yyyy")
    p.add_argument("--format", default="pdf", choices=["pdf", "xlsx"], help="file format")
    p.add_argument("--out", type=Path, required=True, help="write the file here")
    p.set_defaults(handler=cmd_print_book)

    p = printing.add_parser(
        "unit", help="set the agency block, place and phones printed on the forms (admin)"
    )
    p.add_argument("--parent", help="the parent body, e.g. UBND tỉnh Thái Nguyên")
    p.add_argument("--name", help="the centre or branch as printed (default: the branch name)")
    p.add_argument("--place", help="the place on the date line, e.g. Tân Lập")
    p.add_argument("--hotline", help="the hotline printed on form 01")
    p.add_argument("--phone", help="the counter's phone, for the supplement request")
    p.add_argument(
        "--lookup-url",
        help="the centre's public address (https://…): form 01's QR links to its /tra-cuu page"
        " ('' for none)",
    )
    p.add_argument(
        "--officer-phone",
        nargs=2,
        action="append",
        default=[],
        metavar=("USERNAME", "PHONE"),
        help="an officer's phone, for the supplement requests she signs",
    )
    p.set_defaults(handler=cmd_print_unit)


def _target(p: Any) -> None:
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", type=Path, help="write the PDF here")
    target.add_argument("--printer", help="send it to this office printer (CUPS / Windows)")


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as err:
        raise ValidationError(
            N_("Cannot write {path}: {detail}"), path=str(path), detail=err.strerror
        ) from None


def cmd_print_slip(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    ctx.services.login(*ctx.acting_user())
    pdf = ctx.services.slips.render(args.code, args.form)
    if args.out:
        _write(args.out, pdf)
        return {"code": args.code, "form": args.form, "out": str(args.out), "bytes": len(pdf)}
    from hardware.printers import available_printers

    job = available_printers().print_pdf(args.printer, pdf, copies=args.copies, title=args.code)
    return {"code": args.code, "form": args.form, "printer": args.printer, "job": job}


def cmd_print_book(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    ctx.services.login(*ctx.acting_user())
    start = parse_moment(f"{args.start.isoformat()}T00:00:00")
    end = parse_moment(f"{args.end.isoformat()}T23:59:59")
    slips = ctx.services.slips
    data = slips.render_book(start, end, args.format)
    _write(args.out, data)
    entries = len(slips.book(start, end).entries)
    return {
        "form": "07",
        "from": args.start.isoformat(),
        "to": args.end.isoformat(),
        "entries": entries,
        "out": str(args.out),
        "bytes": len(data),
    }


def cmd_print_unit(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    user = ctx.services.login(*ctx.acting_user())
    values = {
        key: value
        for key, value in (
            ("parent", args.parent),
            ("name", args.name),
            ("place", args.place),
            ("hotline", args.hotline),
            ("phone", args.phone),
            ("lookup_url", args.lookup_url),
        )
        if value is not None
    }
    values.update({f"phone.{name}": phone for name, phone in args.officer_phone})
    if not values:
        raise ValidationError(N_("Nothing to set: give at least one option"))
    slips = ctx.services.slips
    slips.set_unit(user, **values)
    return dict(sorted(slips.settings().items()))
