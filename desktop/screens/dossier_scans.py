"""Dossier detail → a document's pages added after the receipt: the same intake steps.

Files are read on the device thread, the document steps (blank pages, checklist,
PDF/A, signature) run on the documents worker, the file is kept and recorded on the
writer (one transaction), then its OCR is queued. A refusal is said in the status bar
and records nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from core.domain.dossier import DossierView
from core.i18n import _, tr
from core.services import documents, intake_pipeline
from core.services.intake_pipeline import Prepared
from desktop import pages
from desktop.documents import step_settings
from desktop.ui.files import FileDialog

if TYPE_CHECKING:
    from .dossier import DossierScreen


class ScanAdder:
    """Adds imported pages to one document of the dossier the screen shows."""

    def __init__(self, screen: DossierScreen) -> None:
        self.screen = screen

    def ask(self, view: DossierView, key: str) -> None:
        """The file dialog for the document ``key``; the chosen files are added."""
        settings = self.screen.services.settings
        start = Path(settings.extra.get("import_folder", "") or Path.home())
        dialog = FileDialog(
            _("Import pages from files"),
            start,
            pages.FILE_PATTERNS,
            lambda paths: self.add(view, key, paths),
        )
        dialog.bind(on_dismiss=lambda *_args: self._closed(dialog))
        self.screen.dialog = dialog
        dialog.open()

    def _closed(self, dialog: FileDialog) -> None:
        if self.screen.dialog is dialog:
            self.screen.dialog = None

    def add(self, view: DossierView, key: str, paths: list[Path]) -> None:
        screen = self.screen
        screen.dialog = None
        user = screen.user
        assert user is not None
        settings = step_settings(screen.services.settings, screen.services.secrets)
        components = intake_pipeline.components_of(view)

        def prepare(found: list[pages.Page]) -> None:
            scans = {key: [page.page for page in found]}
            screen.ops.documents(
                lambda: intake_pipeline.prepare(user, view.code, components, scans, settings),
                record,
            )

        def record(prepared: Prepared) -> None:
            (file,) = prepared.files
            screen.ops.write(
                lambda b: documents.attach_file(b, user, view.code, file),
                lambda _none: recorded(prepared),
            )

        def recorded(prepared: Prepared) -> None:
            for sha, pdf in prepared.ocr.items():
                screen.ops.recognise(view.id, sha, pdf)
            pages_added = sum(file.pages for file in prepared.files)
            screen.shell.report(tr("{n} pages added", n=pages_added), "ok")

        screen.shell.report(_("Checking the pages and making the documents' files…"), "info")
        screen.ops.device(lambda: pages.import_files(paths), prepare)
