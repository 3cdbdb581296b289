"""argon2id password hashing and RFC 6238 TOTP, against the RFC's own test vectors."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from cordon.auth import totp
from cordon.auth.passwords import Passwords
from cordon.errors import CordonError
from cordon.settings import AuthSettings

# RFC 6238, Appendix B: the seeds are the ASCII strings below, repeated to the hash's length
SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC6238 = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("unix_time", "sha1", "sha256", "sha512"), RFC6238)
def test_totp_matches_the_rfc_6238_vectors(unix_time: int, sha1: str, sha256: str, sha512: str) -> None:
    assert totp.totp(SEEDS["sha1"], unix_time, 8, "sha1") == sha1
    assert totp.totp(SEEDS["sha256"], unix_time, 8, "sha256") == sha256
    assert totp.totp(SEEDS["sha512"], unix_time, 8, "sha512") == sha512


def test_hotp_matches_the_rfc_4226_vectors() -> None:
    expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]
    assert [totp.hotp(SEEDS["sha1"], counter) for counter in range(10)] == expected


def test_a_code_matches_within_the_window_once() -> None:
    secret = totp.new_secret()
    key = totp.secret_bytes(secret)
    assert len(key) == 20
    now = 1_800_000_000.0
    code = totp.totp(key, now)
    step = totp.matching_step(secret, code, now)
    assert step == totp.time_step(now)
    assert totp.matching_step(secret, code, now + 30) == step  # one step late: still accepted (clock drift)
    assert totp.matching_step(secret, code, now + 90) is None  # three steps late: refused
    assert totp.matching_step(secret, code, now, after_step=step) is None  # the same code twice: refused
    assert totp.matching_step(secret, "12345", now) is None
    assert totp.matching_step(secret, "abcdef", now) is None


def test_the_provisioning_uri_carries_what_an_authenticator_needs() -> None:
    secret = totp.new_secret()
    uri = urlparse(totp.provisioning_uri(secret, "jdupont", "Cordon PZ"))
    assert (uri.scheme, uri.netloc, unquote(uri.path)) == ("otpauth", "totp", "/Cordon PZ:jdupont")
    query = {k: v[0] for k, v in parse_qs(uri.query).items()}
    assert query == {"secret": secret, "issuer": "Cordon PZ", "algorithm": "SHA1", "digits": "6", "period": "30"}
    assert base64.b32decode(secret + "=" * (-len(secret) % 8)) == totp.secret_bytes(secret)


def test_passwords_are_argon2id_with_the_configured_defaults() -> None:
    """The real defaults (RFC 9106: t=3, 64 MiB, p=4): the one test that pays for them."""
    defaults = AuthSettings()
    passwords = Passwords(
        defaults.argon2_time_cost, defaults.argon2_memory_kib, defaults.argon2_parallelism, defaults.password_min_length
    )
    stored = passwords.hash("correct horse battery staple")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "correct horse" not in stored
    assert passwords.hash("correct horse battery staple") != stored  # salted
    assert passwords.verify(stored, "correct horse battery staple")
    assert not passwords.verify(stored, "correct horse battery stapler")
    assert not passwords.verify("not a hash", "correct horse battery staple")
    assert not passwords.verify(None, "correct horse battery staple")
    assert not passwords.needs_rehash(stored)
    cheaper = Passwords(time_cost=1, memory_kib=1024, parallelism=1, min_length=40)
    assert cheaper.needs_rehash(stored)
    rehashed = cheaper.rehash("correct horse battery staple")  # shorter than today's policy: still re-hashed
    assert rehashed.startswith("$argon2id$v=19$m=1024,t=1,p=1$") and cheaper.verify(
        rehashed, "correct horse battery staple"
    )


@pytest.mark.parametrize("weak", ["short", "            ", ""])
def test_weak_passwords_are_refused(weak: str) -> None:
    with pytest.raises(CordonError) as refused:
        Passwords(time_cost=1, memory_kib=1024, parallelism=1).hash(weak)
    assert (refused.value.code, refused.value.status) == ("weak_password", 422)
