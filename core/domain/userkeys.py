"""Users' own keys: an actor proved, not claimed.

Every user has an Ed25519 key. Its public half travels in the user's events; its private
half travels too, but sealed under the user's password (Argon2id derives the key that
AES-256-GCM seals it with), so any desk the user logs in to can unseal it and no desk can
without the password. The steps that need a role (``authority.Rule.proof``) carry the
acting user's signature — the *proof* — over what the step says, so a desk cannot write a
leader's approval, or an admin's password reset, under their name without them.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import N_, AuthenticationFailed
from .events import Event, canonical_json
from .signing import DeviceKey, verify_signature

PROOF = "proof"
_SCHEME = "argon2id-aesgcm"
# Argon2id's RFC 9106 second recommendation (as argon2-cffi's PasswordHasher defaults).
_TIME, _MEMORY_KIB, _LANES = 3, 65536, 4


def _kek(password: str, salt: bytes, time: int, memory: int, lanes: int) -> bytes:
    return hash_secret_raw(password.encode(), salt, time, memory, lanes, 32, Type.ID)


def seal(key: DeviceKey, password: str) -> str:
    """The private key, sealed under `password` (self-describing, base64 parts)."""
    salt, nonce = os.urandom(16), os.urandom(12)
    raw = key.private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    sealed = AESGCM(_kek(password, salt, _TIME, _MEMORY_KIB, _LANES)).encrypt(nonce, raw, None)
    parts = [_SCHEME, str(_TIME), str(_MEMORY_KIB), str(_LANES)]
    parts += [base64.b64encode(p).decode() for p in (salt, nonce, sealed)]
    return "$".join(parts)


def unseal(sealed: str, password: str) -> DeviceKey:
    try:
        scheme, time, memory, lanes, *rest = sealed.split("$")
        salt, nonce, box = (base64.b64decode(p) for p in rest)
        if scheme != _SCHEME:
            raise ValueError(scheme)
        kek = _kek(password, salt, int(time), int(memory), int(lanes))
        raw = AESGCM(kek).decrypt(nonce, box, None)
    except (ValueError, InvalidTag):
        raise AuthenticationFailed(
            N_("This user's key cannot be opened with this password")
        ) from None
    return DeviceKey(Ed25519PrivateKey.from_private_bytes(raw))


def _digest(
    type_: str,
    branch: str,
    dossier_id: str | None,
    actor: str,
    parents: Sequence[str],
    payload: Mapping[str, Any],
) -> bytes:
    body = {k: v for k, v in payload.items() if k != PROOF}
    claim = {
        "type": type_,
        "branch": branch,
        "dossier_id": dossier_id,
        "actor": actor,
        "parents": list(parents),
        "payload": body,
    }
    return hashlib.sha256(canonical_json(claim)).digest()


def prove(
    key: DeviceKey,
    type_: str,
    branch: str,
    dossier_id: str | None,
    actor: str,
    parents: Sequence[str],
    payload: Mapping[str, Any],
) -> str:
    """The acting user's signature over what the event says (its payload without proof)."""
    return key.sign(_digest(type_, branch, dossier_id, actor, parents, payload))


def proof_ok(public_keys: Sequence[str], event: Event) -> bool:
    """Whether `event` carries a proof made with one of `public_keys`."""
    proof = event.payload.get(PROOF)
    if not isinstance(proof, str) or not public_keys:
        return False
    digest = _digest(
        event.type, event.branch, event.dossier_id, event.actor, event.parents, event.payload
    )
    return any(verify_signature(key, proof, digest) for key in public_keys)
