"""The day's secret: made for an open local day, kept (0600) for a restart within the day, destroyed for good
once the day is over; tokens link within a day and never across days."""

from __future__ import annotations

import hashlib
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from cordon.flows.secrets import ALIKE_PERSON, SECRET_BYTES, DaySecrets, token_of
from cordon.plates import lookalike_key
from tests.flows.conftest import Clock

TZ = "Europe/Brussels"


def test_a_token_is_stable_within_a_day_and_unrelated_across_days(clock: Clock) -> None:
    secrets = DaySecrets(TZ, clock=clock)
    first = secrets.token("2026-11-26", "1ABC234")
    assert first is not None and len(first) == 16
    assert secrets.token("2026-11-26", "1ABC234") == first
    assert secrets.token("2026-11-26", "1ABC235") != first
    assert secrets.token("2026-11-27", "1ABC234") not in (None, first)


def test_the_secret_is_destroyed_when_the_local_day_ends_plus_grace(clock: Clock, tmp_path: Path) -> None:
    folder = tmp_path / "secret"
    secrets = DaySecrets(TZ, directory=folder, grace=timedelta(minutes=15), clock=clock)
    secret = secrets.secret("2026-11-26")
    assert secret is not None
    held = secret  # the very bytearray: it must be wiped, not just dropped
    path = folder / "2026-11-26.key"
    assert path.read_bytes() == bytes(secret)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700

    clock.move(hours=2, minutes=59)  # 22:59 UTC = 23:59 Brussels: the day is not over
    assert secrets.expire() == []
    clock.move(minutes=15)  # 00:14 Brussels on the 27th: within the grace period, late reads still link
    assert secrets.expire() == []
    assert secrets.token("2026-11-26", "1ABC234") is not None
    clock.move(minutes=1)  # 00:15 Brussels: over
    assert secrets.expire() == ["2026-11-26"]
    assert held == bytearray(SECRET_BYTES)  # overwritten in memory
    assert not path.exists()
    assert list(folder.iterdir()) == []
    # Never made again: a late read of that day is counted without a token.
    assert secrets.secret("2026-11-26") is None
    assert secrets.token("2026-11-26", "1ABC234") is None


def test_midnight_is_local_midnight_not_utc(clock: Clock) -> None:
    """23:30 UTC is already the next day in Brussels (UTC+1 in winter): that read belongs to the 27th."""
    secrets = DaySecrets(TZ, grace=timedelta(0), clock=clock)
    assert secrets.closes_at("2026-11-26").isoformat() == "2026-11-26T23:00:00+00:00"
    assert secrets.closes_at("2026-07-01").isoformat() == "2026-07-01T22:00:00+00:00"  # summer time


def test_a_restart_within_the_day_reads_the_secret_back(clock: Clock, tmp_path: Path) -> None:
    folder = tmp_path / "secret"
    before = DaySecrets(TZ, directory=folder, clock=clock).token("2026-11-26", "1ABC234")
    clock.move(hours=1)
    after = DaySecrets(TZ, directory=folder, clock=clock).token("2026-11-26", "1ABC234")
    assert before == after


def test_a_restart_after_the_day_destroys_the_old_file_and_starts_afresh(clock: Clock, tmp_path: Path) -> None:
    folder = tmp_path / "secret"
    old = DaySecrets(TZ, directory=folder, clock=clock)
    key = bytes(old.secret("2026-11-26") or b"")
    clock.move(hours=6)  # the process was down over midnight
    restarted = DaySecrets(TZ, directory=folder, clock=clock)
    assert restarted.destroyed == ["2026-11-26"]
    assert not (folder / "2026-11-26.key").exists()
    assert restarted.secret("2026-11-26") is None
    fresh = restarted.secret("2026-11-27")
    assert fresh is not None and bytes(fresh) != key


def test_in_memory_only_a_restart_breaks_the_link_within_the_day(clock: Clock) -> None:
    first = DaySecrets(TZ, clock=clock).token("2026-11-26", "1ABC234")
    second = DaySecrets(TZ, clock=clock).token("2026-11-26", "1ABC234")
    assert first != second


def test_a_torn_secret_file_is_destroyed_not_trusted(clock: Clock, tmp_path: Path) -> None:
    folder = tmp_path / "secret"
    folder.mkdir()
    (folder / "2026-11-26.key").write_bytes(b"short")
    secrets = DaySecrets(TZ, directory=folder, clock=clock)
    assert secrets.destroyed == ["2026-11-26"]
    assert secrets.secret("2026-11-26") is not None  # a new one: the day is still open


@pytest.mark.parametrize("plate", ["1ABC234", "AB123CD", "B1234"])
def test_without_the_secret_a_token_does_not_match_the_plate_under_any_other_key(plate: str) -> None:
    assert token_of(bytes(32), plate) != token_of(bytes([1]) * 32, plate)


def test_look_alike_tokens_link_plates_misread_by_look_alikes_within_the_day_only(clock: Clock) -> None:
    secrets = DaySecrets(TZ, clock=clock)
    (right, misread, _other), alike = secrets.tokens_of("2026-11-26", ["1ABC234", "1A8C234", "1ABC235"])
    assert right != misread  # the tokens tell the two readings apart ...
    assert alike[0] == alike[1] != alike[2]  # ... the look-alike tokens do not (B and 8 look alike)
    assert alike[0] not in (right, misread)  # another keyed function, not the token of another plate
    tokens, next_day = secrets.tokens_of("2026-11-27", ["1ABC234"])
    assert next_day[0] not in (None, alike[0]) and tokens[0] != right
    clock.move(days=1, hours=1)
    secrets.expire()
    assert secrets.tokens_of("2026-11-26", ["1ABC234"]) == ([None], [None])  # the day is over: nothing links


@pytest.mark.parametrize("plate", ["1ABC234", "IA8CZ34", "QD0O", "1ÄBC234", "GS6582BILT"])
def test_the_look_alike_token_is_the_keyed_hash_of_the_look_alike_key(clock: Clock, plate: str) -> None:
    secrets = DaySecrets(TZ, clock=clock)
    (_,), (alike,) = secrets.tokens_of("2026-11-26", [plate])
    (_,), (expected,) = secrets.tokens_of("2026-11-26", [lookalike_key(plate)])
    assert alike == expected  # the key of a key is the key
    secret = secrets.secret("2026-11-26")
    assert secret is not None
    keyed = hashlib.blake2b(lookalike_key(plate).encode(), key=bytes(secret), digest_size=16, person=ALIKE_PERSON)
    assert alike == keyed.digest()
