"""Office printing through CUPS `lp` (cups-client), with no print server running here."""

from __future__ import annotations

import pytest

from core.ports import PrinterProblem
from hardware.printers.system import CupsPrinters


def test_lp_failure_becomes_a_clear_printer_problem() -> None:
    """GIVEN the real `lp` client and a printer name CUPS does not know
    WHEN a PDF is printed to it
    THEN a PrinterProblem names the printer and carries lp's own explanation."""
    cups = CupsPrinters()
    assert cups.usable()
    with pytest.raises(PrinterProblem, match=r"Printer cups:no-such-printer failed: lp: "):
        cups.print_pdf("cups:no-such-printer", b"%PDF-1.7\n%%EOF\n", title="test")
