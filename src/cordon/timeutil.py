"""Time helpers: Cordon keeps every instant as an aware UTC datetime, stored as microseconds."""

from __future__ import annotations

from datetime import UTC, datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utcnow() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return datetime.now(UTC)


def to_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime.

    >>> to_micros(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC))
    1000000
    """
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no place in Cordon: give it a UTC offset")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    """The aware UTC datetime for microseconds since the Unix epoch.

    >>> from_micros(1_000_000).isoformat()
    '1970-01-01T00:00:01+00:00'
    """
    seconds, micro = divmod(micros, 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=micro)


def parse_instant(text: object) -> datetime:
    """An ISO 8601 instant that must carry a UTC offset (a ValueError says so otherwise).

    >>> parse_instant("2026-11-27T08:00:00Z").isoformat()
    '2026-11-27T08:00:00+00:00'
    """
    moment = datetime.fromisoformat(str(text))
    if moment.tzinfo is None:
        raise ValueError(f"time without a UTC offset: {text!r}")
    return moment


def isoformat_z(moment: datetime) -> str:
    """ISO 8601 with a `Z` suffix, the form Cordon writes in JSON."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
