"""Settings → Document intake: the steps this desk runs on each scanned document, and the
digitising clerk's signing key (a PKCS#12 file, or a PKCS#11 token).

Each step can be turned off (its check box; saved in ``desktop.json`` at once); the
key's fields are saved with the Save button. The passphrase and the PIN are typed
hidden and kept in the store (``core.services.desk_secrets``), not in ``desktop.json``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from kivy.uix.widget import Widget

from core.documents.steps import SKIPPABLE, STEP_NAMES, Step
from core.domain.errors import N_
from core.i18n import _
from core.services import desk_secrets
from desktop import theme
from desktop.settings import SECRET_NAMES
from desktop.ui.widgets import Card, Check, Field, McButton, Text, fit_width, heading, muted, row

if TYPE_CHECKING:
    from desktop.services import Services

    from .settings import SettingsScreen

# desktop.json key → the field's caption; hidden ones are secrets.
KEY_FIELDS = (
    ("signing_key_file", N_("PKCS#12 key file (.p12, .pfx)"), False),
    ("signing_key_passphrase", N_("Passphrase of the key file"), True),
    ("signing_token_module", N_("PKCS#11 module of the token (.so, .dll)"), False),
    ("signing_token_label", N_("Token label"), False),
    ("signing_token_key", N_("Key label on the token"), False),
    ("signing_token_pin", N_("Token PIN"), True),
)


class IntakeSection:
    """Fills the Settings screen's document intake card."""

    def __init__(self, screen: SettingsScreen, card: Card) -> None:
        self.screen = screen
        self.card = card
        self.fields: dict[str, Field] = {}

    @property
    def services(self) -> Services:
        return self.screen.services

    def refresh(self) -> None:
        card, settings = self.card, self.services.settings
        card.clear_widgets()
        card.add_widget(heading(_("Document intake"), size=theme.FONT_LARGE))
        card.add_widget(
            muted(
                _(
                    "Each scanned document: blank pages left out, page checklist, PDF/A, "
                    "the clerk's signature, saved and recorded, then text recognition."
                )
            )
        )
        for step in SKIPPABLE:
            on = step.value not in settings.intake_skip
            check = Check(on, on_change=functools.partial(self.turn, step))
            card.add_widget(row(check, Text(_(STEP_NAMES[step]))))
        card.add_widget(muted(_("The signing key (a token, when set, is used before a file)")))
        self.fields = {}
        for name, caption, secret in KEY_FIELDS:
            entry = Field(_(caption), password=secret)
            kept = self.services.secrets.get(name, "") if secret else getattr(settings, name)
            entry.input.text = str(kept)
            self.fields[name] = entry
            card.add_widget(entry)
        save = McButton(_("Save the signing key"), self.save_key, variant="secondary")
        card.add_widget(row(Widget(), fit_width(save)))

    def turn(self, step: Step, on: bool) -> None:
        settings = self.services.settings
        skipped = [name for name in settings.intake_skip if name != step.value]
        settings.intake_skip = skipped if on else [*skipped, step.value]
        self.services.save_settings()

    def save_key(self) -> None:
        services = self.services
        typed = {name: entry.input.text.strip() for name, entry in self.fields.items()}
        secrets = {name: value for name, value in typed.items() if name in SECRET_NAMES}

        def done(_value: object) -> None:
            services.secrets.update(secrets)
            for name, value in typed.items():
                if name not in SECRET_NAMES:
                    setattr(services.settings, name, value)
            services.save_settings()
            self.screen.shell.report(_("Signing key saved."), "ok")

        self.screen.ops.write(lambda b: desk_secrets.write(b, secrets), done)
