"""`motcua print slip CODE --form NN (--out FILE.pdf | --printer ID)`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.domain.errors import N_, ValidationError

from .framework import Context


def register(sub: Any) -> None:
    printing = sub.add_parser("print", help="print national forms").add_subparsers(
        dest="verb", required=True
    )
    p = printing.add_parser("slip", help="a dossier's form 01, 02, 03, 04 or 06 as PDF")
    p.add_argument("code")
    p.add_argument("--form", required=True, choices=["01", "02", "03", "04", "06"])
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", type=Path, help="write the PDF here")
    target.add_argument("--printer", help="send it to this office printer (CUPS / Windows)")
    p.add_argument("--copies", type=int, default=1)
    p.set_defaults(handler=cmd_print_slip)


def cmd_print_slip(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    ctx.services.login(*ctx.acting_user())
    pdf = ctx.services.slips.render(args.code, args.form)
    if args.out:
        try:
            args.out.write_bytes(pdf)
        except OSError as err:
            raise ValidationError(
                N_("Cannot write {path}: {detail}"), path=str(args.out), detail=err.strerror
            ) from None
        return {"code": args.code, "form": args.form, "out": str(args.out), "bytes": len(pdf)}
    from hardware.printers import available_printers

    job = available_printers().print_pdf(args.printer, pdf, copies=args.copies, title=args.code)
    return {"code": args.code, "form": args.form, "printer": args.printer, "job": job}
