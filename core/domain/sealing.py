"""Sealing small secrets and files' records with the store key (encryption at rest).

An encrypted desk has one random 256-bit *store key* (see ``core.services.storekey``).
SQLCipher takes it as is; everything else uses a key derived from it for one purpose
(HKDF-SHA256), so a key never serves two ciphers:

- ``DEVICE_KEY``: the device's signing key file, sealed whole;
- ``BLOBS``: the scans and result files (``core.sync.sealed``), in records.

A sealed value is ``SEALED_MAGIC | nonce (12) | AES-256-GCM ciphertext+tag``; the
associated data names what it is, so a sealed value cannot stand in for another.
Pure computation: no I/O here.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import N_, ValidationError

KEY_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16
SEALED_MAGIC = b"MOTCUA-SEALED-1\n"
DEVICE_KEY = b"motcua device key v1"
BLOBS = b"motcua blobs v1"


def new_key() -> bytes:
    return os.urandom(KEY_LEN)


def subkey(store_key: bytes, purpose: bytes) -> bytes:
    """The key for one `purpose`, derived from the store key."""
    return HKDF(hashes.SHA256(), KEY_LEN, salt=None, info=purpose).derive(store_key)


def is_sealed(data: bytes) -> bool:
    return data.startswith(SEALED_MAGIC)


def seal(key: bytes, data: bytes, purpose: bytes) -> bytes:
    nonce = os.urandom(NONCE_LEN)
    return SEALED_MAGIC + nonce + AESGCM(key).encrypt(nonce, data, purpose)


def unseal(key: bytes, sealed: bytes, purpose: bytes) -> bytes:
    """The sealed bytes, or ValidationError when the key is not theirs or they changed."""
    body = sealed[len(SEALED_MAGIC) :]
    if not is_sealed(sealed) or len(body) < NONCE_LEN + TAG_LEN:
        raise ValidationError(N_("Not a sealed value"))
    try:
        return AESGCM(key).decrypt(body[:NONCE_LEN], body[NONCE_LEN:], purpose)
    except InvalidTag:
        raise ValidationError(N_("The store key does not open this sealed value")) from None
