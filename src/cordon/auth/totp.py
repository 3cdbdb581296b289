"""Time-based one-time passwords (RFC 6238, on HOTP of RFC 4226), for the second factor of people's logins.

A small, dependency-free implementation; `tests/auth/test_totp.py` checks it against the RFC 6238 test vectors.

>>> totp(b"12345678901234567890", 59, digits=8)
'94287082'
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Literal
from urllib.parse import quote, urlencode

Algorithm = Literal["sha1", "sha256", "sha512"]
STEP_S = 30


def hotp(key: bytes, counter: int, digits: int = 6, algorithm: Algorithm = "sha1") -> str:
    """RFC 4226: HMAC of the 8-byte counter, dynamically truncated to `digits` decimal digits."""
    mac = hmac.new(key, counter.to_bytes(8, "big"), getattr(hashlib, algorithm)).digest()
    offset = mac[-1] & 0x0F
    code = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFF_FFFF
    return str(code % 10**digits).zfill(digits)


def time_step(unix_time: float, step_s: int = STEP_S) -> int:
    """RFC 6238's T: whole time steps since the Unix epoch."""
    return int(unix_time // step_s)


def totp(key: bytes, unix_time: float, digits: int = 6, algorithm: Algorithm = "sha1", step_s: int = STEP_S) -> str:
    """RFC 6238: the HOTP of the current time step."""
    return hotp(key, time_step(unix_time, step_s), digits, algorithm)


def new_secret() -> str:
    """A fresh 160-bit secret, base32 without padding (as authenticator apps expect)."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def secret_bytes(secret: str) -> bytes:
    """The key bytes of a base32 secret (padding optional, case and spaces ignored)."""
    cleaned = secret.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def matching_step(
    secret: str, code: str, unix_time: float, window: int = 1, after_step: int | None = None
) -> int | None:
    """The time step whose code is `code`, within `window` steps either side of now, or None.

    A step at or before `after_step` (the last one used) never matches again: a code works once (RFC 6238 §5.2).
    """
    if not (code.isdigit() and len(code) == 6):
        return None
    key = secret_bytes(secret)
    now = time_step(unix_time)
    for step in range(now - window, now + window + 1):
        if after_step is not None and step <= after_step:
            continue
        if hmac.compare_digest(hotp(key, step), code):
            return step
    return None


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    """The `otpauth://` URI an authenticator app reads (usually from a QR code)."""
    label = quote(f"{issuer}:{username}", safe=":@")
    query = urlencode({"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": 6, "period": STEP_S})
    return f"otpauth://totp/{label}?{query}"
