"""Signed requests: every call after enrolment carries the device's Ed25519 signature.

The signed message binds the method, the path with its query, the moment, a fresh nonce
and the SHA-256 of the body, so a captured request cannot be altered, and the server
refuses it when it is replayed (nonce seen) or stale (moment outside the window).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from core.domain.signing import DeviceKey, verify_signature

HEADER_DEVICE = "X-Motcua-Device"
HEADER_TIME = "X-Motcua-Time"
HEADER_NONCE = "X-Motcua-Nonce"
HEADER_SIGNATURE = "X-Motcua-Signature"
# The SHA-256 the signature covers, sent ahead of the body: a receiver checks the
# signature from the headers alone and reads no body a forger sent.
HEADER_DIGEST = "X-Motcua-Digest"
WINDOW_MS = 5 * 60 * 1000


def request_message(
    method: str, path: str, time_ms: int, nonce: str, body: bytes, digest: str | None = None
) -> bytes:
    """The signed text; `digest` (hex SHA-256 of the body) when the body is streamed."""
    digest = digest or hashlib.sha256(body).hexdigest()
    return f"motcua-v1\n{method.upper()}\n{path}\n{time_ms}\n{nonce}\n{digest}".encode()


def sign_request(
    key: DeviceKey,
    device_id: str,
    method: str,
    path: str,
    body: bytes,
    now_ms: int,
    digest: str | None = None,
) -> dict[str, str]:
    """The headers that authenticate one request (`digest`: of a streamed body)."""
    nonce = secrets.token_hex(16)
    digest = digest or hashlib.sha256(body).hexdigest()
    signature = key.sign(request_message(method, path, now_ms, nonce, body, digest))
    return {
        HEADER_DEVICE: device_id,
        HEADER_TIME: str(now_ms),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: signature,
        HEADER_DIGEST: digest,
    }


@dataclass(frozen=True)
class SignedRequest:
    device_id: str
    time_ms: int
    nonce: str
    signature: str


def read_headers(headers: Mapping[str, str]) -> SignedRequest | None:
    """The signature headers, or None when any is missing or malformed."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        device = lowered[HEADER_DEVICE.lower()]
        time_ms = int(lowered[HEADER_TIME.lower()])
        nonce = lowered[HEADER_NONCE.lower()]
        signature = lowered[HEADER_SIGNATURE.lower()]
    except (KeyError, ValueError):
        return None
    if not (0 < len(nonce) <= 64 and 0 < len(device) <= 64 and len(signature) <= 128):
        return None
    return SignedRequest(device, time_ms, nonce, signature)


def verify_request(
    signed: SignedRequest,
    public_key: str,
    method: str,
    path: str,
    body: bytes,
    digest: str | None = None,
) -> bool:
    """Check a request's signature; `digest`: the body's SHA-256 hashed as it streamed."""
    message = request_message(method, path, signed.time_ms, signed.nonce, body, digest)
    return verify_signature(public_key, signed.signature, message)


def declared_digest(headers: Mapping[str, str]) -> str | None:
    """The body digest a request declares (64 lowercase hex digits), or None."""
    lowered = {k.lower(): v for k, v in headers.items()}
    digest = lowered.get(HEADER_DIGEST.lower(), "")
    hexdigits = "0123456789abcdef"
    return digest if len(digest) == 64 and all(c in hexdigits for c in digest) else None


def fresh(signed: SignedRequest, now_ms: int) -> bool:
    return abs(now_ms - signed.time_ms) <= WINDOW_MS
