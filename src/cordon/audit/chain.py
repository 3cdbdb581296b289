"""Verify the audit chain: a pure function of the stored rows and the checkpoints, naming every broken entry.

What each kind of tampering looks like, and how it is reported:
- an entry **edited** in place: its content no longer hashes to its stored hash (`edited`);
- an entry edited **and re-hashed**: the next entry's `prev_hash` no longer matches (`broken_link`);
- an entry **deleted**: a gap in the sequence numbers (`deleted`), or, when the rows were renumbered to hide
  the gap, a `prev_hash` pointing at no stored entry (`broken_link`);
- entries **reordered**: an entry whose `prev_hash` is the hash of another stored entry than its predecessor
  (`reordered`, naming both);
- the **tail cut off** (or everything after an entry rewritten): an exported checkpoint says the trail had
  more entries, or a different hash at its position, than the store now holds (`truncated`, `rewritten`);
- a checkpoint whose signature does not hold (`bad_checkpoint`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import orjson

from cordon.audit.checkpoints import Checkpoint
from cordon.audit.events import GENESIS, entry_hash
from cordon.timeutil import isoformat_z, parse_instant, to_micros

ProblemKind = Literal["edited", "deleted", "reordered", "broken_link", "truncated", "rewritten", "bad_checkpoint"]


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An audit row as the database holds it (the verifier trusts none of it)."""

    seq: int
    at_us: int
    actor: str
    action: str
    purpose: str | None
    event_json: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the trail, at entry `seq`."""

    seq: int
    kind: ProblemKind
    message: str


@dataclass(frozen=True, slots=True)
class Verification:
    """The result of a verification: how much was checked and what is wrong (nothing, one hopes)."""

    entries: int
    head_seq: int
    head_hash: str
    checkpoints: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _columns(event_json: str) -> tuple[int, str, str, str | None]:
    """(time, actor, action, purpose) as the stored content says; ValueError when it is not an event."""
    body = orjson.loads(event_json)
    if not isinstance(body, dict):
        raise ValueError("not an object")
    purpose = body.get("purpose")
    return to_micros(parse_instant(body["at"])), str(body["actor"]), str(body["action"]), purpose


def _content_problem(row: StoredEntry) -> Problem | None:
    if entry_hash(row.event_json.encode(), row.prev_hash) != row.hash:
        return Problem(row.seq, "edited", f"entry {row.seq} was edited: its content no longer matches its hash")
    try:
        columns = _columns(row.event_json)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return Problem(row.seq, "edited", f"entry {row.seq} was forged: its hashed content is not an event")
    if (row.at_us, row.actor, row.action, row.purpose) != columns:
        return Problem(row.seq, "edited", f"entry {row.seq} was edited: its time, actor, action or purpose columns")
    return None


def _link_problem(row: StoredEntry, previous: StoredEntry | None, seq_of: dict[str, int]) -> Problem | None:
    expected = previous.hash if previous is not None else GENESIS
    if row.prev_hash == expected:
        return None
    before = previous.seq if previous is not None else 0
    if row.prev_hash in seq_of:
        other = seq_of[row.prev_hash]
        return Problem(
            row.seq,
            "reordered",
            f"entry {row.seq} was recorded after entry {other}, but is stored after entry {before}: "
            "entries were reordered",
        )
    if row.prev_hash == GENESIS:
        return Problem(row.seq, "broken_link", f"entry {row.seq} claims to be the first entry")
    return Problem(
        row.seq,
        "broken_link",
        f"entry {row.seq} does not follow entry {before}: the entry recorded before it was deleted or replaced",
    )


def _checkpoint_problems(
    checkpoint: Checkpoint, rows_by_seq: dict[int, StoredEntry], last: int, public_key: bytes | None
) -> list[Problem]:
    label = f"checkpoint of {isoformat_z(checkpoint.at)} ({checkpoint.seq} entries)"
    if not checkpoint.verify(public_key):
        return [
            Problem(checkpoint.seq, "bad_checkpoint", f"{label}: its signature does not hold (forged or wrong key)")
        ]
    if checkpoint.seq > last:
        return [
            Problem(
                checkpoint.seq,
                "truncated",
                f"{label}: the trail now ends at entry {last}; entries {last + 1}..{checkpoint.seq} were removed",
            )
        ]
    row = rows_by_seq.get(checkpoint.seq)
    if checkpoint.seq > 0 and (row is None or row.hash != checkpoint.head_hash):
        return [
            Problem(
                checkpoint.seq,
                "rewritten",
                f"{label}: entry {checkpoint.seq} is not the one anchored; the history up to it was rewritten",
            )
        ]
    return []


def verify_chain(
    rows: Sequence[StoredEntry], checkpoints: Sequence[Checkpoint] = (), public_key: bytes | None = None
) -> Verification:
    """Check every row (in stored `seq` order) and every checkpoint; `public_key` (raw) pins the signer."""
    seq_of = {row.hash: row.seq for row in rows}
    problems: list[Problem] = []
    previous: StoredEntry | None = None
    for row in rows:
        expected_seq = previous.seq + 1 if previous is not None else 1
        gap = row.seq != expected_seq
        if gap:
            missing = f"{expected_seq}" if row.seq == expected_seq + 1 else f"{expected_seq}..{row.seq - 1}"
            problems.append(Problem(expected_seq, "deleted", f"entries {missing} are missing: deleted"))
        content = _content_problem(row)
        if content is not None:
            problems.append(content)
        link = _link_problem(row, previous, seq_of)
        if link is not None and not (gap and link.kind == "broken_link"):  # a gap already explains it
            problems.append(link)
        previous = row
    last = previous.seq if previous is not None else 0
    rows_by_seq = {row.seq: row for row in rows}
    for checkpoint in checkpoints:
        problems.extend(_checkpoint_problems(checkpoint, rows_by_seq, last, public_key))
    return Verification(
        entries=len(rows),
        head_seq=last,
        head_hash=previous.hash if previous is not None else GENESIS,
        checkpoints=len(checkpoints),
        problems=tuple(problems),
    )
