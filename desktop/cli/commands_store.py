"""`motcua store status | encrypt | passphrase`: encryption at rest (docs/encryption.md).

The branch passphrase comes from ``MOTCUA_PASSPHRASE`` or is typed at the terminal (never
the command line); a new one for `store passphrase` from ``MOTCUA_NEW_PASSPHRASE``.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from core.domain.errors import N_, ValidationError
from core.services import storekey
from core.services.encryption import encrypt_store

from .framework import Context, ask_passphrase

NEW_PASSPHRASE_ENV = "MOTCUA_NEW_PASSPHRASE"


def register(sub: Any) -> None:
    store = sub.add_parser("store", help="the store's encryption at rest").add_subparsers(
        dest="verb", required=True
    )
    p = store.add_parser(
        "status", help="whether the store and scans are encrypted, and where the key is"
    )
    p.set_defaults(handler=cmd_status)
    p = store.add_parser(
        "encrypt",
        help="encrypt this desk's store, device key and scans in place (close the app first)",
    )
    p.set_defaults(handler=cmd_encrypt)
    p = store.add_parser(
        "passphrase",
        help="set or replace the branch passphrase that recovers the store key "
        "(new one in MOTCUA_NEW_PASSPHRASE)",
    )
    p.set_defaults(handler=cmd_passphrase)


def new_passphrase(*, required: bool, env_name: str = storekey.PASSPHRASE_ENV) -> str | None:
    """A new branch passphrase: from `env_name`, else typed twice at the terminal."""
    value = os.environ.get(env_name) or None
    if value is None:
        value = ask_passphrase(N_("New branch passphrase: "))
        if value is not None and value != ask_passphrase(N_("The same passphrase again: ")):
            raise ValidationError(N_("The two passphrases differ: nothing was changed"))
    if value is None and required:
        raise ValidationError(
            N_("Set {name} to the branch passphrase (this computer has no keystore)"),
            name=env_name,
        )
    return value


def cmd_status(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    if not storekey.is_encrypted(ctx.data_dir):
        return {"data_dir": str(ctx.data_dir), "encrypted": False}
    where = storekey.describe_keys(ctx.data_dir)
    return {
        "data_dir": str(ctx.data_dir),
        "encrypted": True,
        "keystore": where["keyring"] or "-",
        "passphrase": where["passphrase"],
    }


def cmd_encrypt(args: argparse.Namespace, ctx: Context) -> dict[str, object]:
    if storekey.is_encrypted(ctx.data_dir):  # resuming: the key made by the first run
        secret = storekey.passphrase_from_env()
    else:
        secret = new_passphrase(required=storekey.keystore() is None)
    return encrypt_store(ctx.data_dir, secret).as_dict()


def cmd_passphrase(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    branch = ctx.services
    if branch.store.key is None:
        raise ValidationError(N_("The store is not encrypted: run 'motcua store encrypt' first"))
    secret = new_passphrase(required=True, env_name=NEW_PASSPHRASE_ENV)
    assert secret is not None
    storekey.set_passphrase(ctx.data_dir, branch.store.key, secret)
    return {"data_dir": str(ctx.data_dir), "passphrase": True}
