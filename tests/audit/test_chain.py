"""The audit chain catches an edit, a deletion, a reordering and a cut-off tail, and says which entry."""

from __future__ import annotations

import itertools
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from cordon.audit import AuditLog
from cordon.audit.checkpoints import Checkpoint, CheckpointSigner
from cordon.audit.events import GENESIS, canonical_content, entry_hash
from cordon.audit.log import CheckpointTask, export_checkpoint
from cordon.auth.service import build_security
from cordon.cli import cli
from cordon.errors import CordonError
from cordon.settings import Settings
from cordon.store import migrate
from tests.audit.conftest import consultation

Tamper = Callable[..., None]


def problems(trail: AuditLog, *anchors: Checkpoint) -> list[tuple[int, str]]:
    return [(p.seq, p.kind) for p in trail.verify(anchors).problems]


def test_an_untouched_chain_verifies(trail: AuditLog) -> None:
    result = trail.verify()
    assert result.ok and result.entries == 6 and result.head_seq == 6
    entries = trail.entries()
    assert entries[0].prev_hash == GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(entries))
    assert all(entry.hash == entry_hash(canonical_content(entry.event), entry.prev_hash) for entry in entries)
    assert entries[2].event == consultation(3)  # stored and read back exactly


def test_the_database_refuses_updates_and_deletes(trail: AuditLog) -> None:
    for statement in ("UPDATE audit_entries SET actor = 'x' WHERE seq = 2", "DELETE FROM audit_entries WHERE seq = 6"):
        with pytest.raises(DatabaseError, match="append-only"), trail.database.write() as connection:
            connection.execute(text(statement))
    assert trail.verify().ok


def test_an_edited_entry_is_named(trail: AuditLog, tamper: Tamper) -> None:
    tamper("UPDATE audit_entries SET event = replace(event, '\"result_count\":12', '\"result_count\":1') WHERE seq = 3")
    assert problems(trail) == [(3, "edited")]


def test_an_edited_index_column_is_named(trail: AuditLog, tamper: Tamper) -> None:
    tamper("UPDATE audit_entries SET actor = 'someone-else' WHERE seq = 2")
    assert problems(trail) == [(2, "edited")]


def test_an_edited_and_rehashed_entry_breaks_the_next_link(trail: AuditLog, tamper: Tamper) -> None:
    row = trail.stored_rows()[2]
    forged = row.event_json.replace('"result_count":12', '"result_count":1')
    tamper(
        (
            "UPDATE audit_entries SET event = ?, hash = ? WHERE seq = 3",
            (forged, entry_hash(forged.encode(), row.prev_hash)),
        )
    )
    assert problems(trail) == [(4, "broken_link")]


def test_a_deleted_entry_is_named(trail: AuditLog, tamper: Tamper) -> None:
    tamper("DELETE FROM audit_entries WHERE seq = 3")
    found = trail.verify().problems
    assert [(p.seq, p.kind) for p in found] == [(3, "deleted")]
    assert "entries 3 are missing" in found[0].message


def test_a_deleted_entry_is_found_even_when_the_rest_is_renumbered(trail: AuditLog, tamper: Tamper) -> None:
    renumber = [("UPDATE audit_entries SET seq = ? WHERE seq = ?", (n - 1, n)) for n in (4, 5, 6)]
    tamper("DELETE FROM audit_entries WHERE seq = 3", *renumber)
    assert problems(trail) == [(3, "broken_link")]


def test_reordered_entries_are_named(trail: AuditLog, tamper: Tamper) -> None:
    tamper(
        "UPDATE audit_entries SET seq = -3 WHERE seq = 3",
        "UPDATE audit_entries SET seq = 3 WHERE seq = 4",
        "UPDATE audit_entries SET seq = 4 WHERE seq = -3",
    )
    found = trail.verify().problems
    assert {p.kind for p in found} == {"reordered"}
    assert found[0].seq == 3
    assert "entry 3 was recorded after entry 4" in found[0].message


def test_a_cut_off_tail_is_caught_by_an_exported_checkpoint(trail: AuditLog, tamper: Tamper, tmp_path: Path) -> None:
    exported = Checkpoint.read(export_checkpoint(trail.checkpoint(), tmp_path / "dpo"))
    assert exported.seq == 6 and exported.verify()
    tamper("DELETE FROM audit_entries WHERE seq > 4", "DELETE FROM audit_checkpoints")
    assert trail.verify().ok  # the chain alone cannot see a clean cut...
    assert problems(trail, exported) == [(6, "truncated")]  # ...the checkpoint the DPO kept does


def test_a_rewritten_history_is_caught_by_a_checkpoint(trail: AuditLog, tamper: Tamper, tmp_path: Path) -> None:
    anchor = trail.checkpoint()
    tamper("DELETE FROM audit_entries WHERE seq >= 5", "DELETE FROM audit_checkpoints")
    trail.record(consultation(5, result_count=0))  # re-written: a consistent chain of the same length
    trail.record(consultation(6))
    assert trail.verify().ok
    assert problems(trail, anchor) == [(6, "rewritten")]


def test_a_forged_checkpoint_is_refused(trail: AuditLog, tmp_path: Path) -> None:
    genuine = trail.checkpoint()
    forged = Checkpoint(7, genuine.head_hash, genuine.at, genuine.key_id, genuine.signature, genuine.public_key)
    assert problems(trail, forged) == [(7, "bad_checkpoint")]
    other = CheckpointSigner.load_or_create(tmp_path / "other.key")
    self_signed = other.sign(7, genuine.head_hash, genuine.at)
    assert self_signed.verify()  # valid under its own key...
    assert [p.kind for p in trail.verify([self_signed], public_key=trail.signer.public_key).problems] == [  # type: ignore[union-attr]
        "bad_checkpoint"
    ]  # ...but not under the pinned one


def test_concurrent_appends_keep_one_chain(trail: AuditLog) -> None:
    def record(worker: int) -> None:
        for n in range(10):
            trail.record(consultation(n, actor=f"worker-{worker}"))

    threads = [threading.Thread(target=record, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = trail.verify()
    assert result.ok and result.head_seq == 46


def test_checkpoints_are_made_when_due_and_only_when_entries_came(trail: AuditLog, tmp_path: Path) -> None:
    folder = tmp_path / "checkpoints"
    task = CheckpointTask(trail, every_s=3600, folder=folder)
    task()
    (exported,) = folder.glob("*.json")
    assert Checkpoint.read(exported).seq == 6
    task()  # looked a moment ago: does not even ask the database
    assert trail.checkpoint_if_due(3600, folder) is None  # the last one is recent
    assert trail.checkpoint_if_due(0, folder) is None  # due, but nothing new to anchor
    trail.record(consultation(7))
    made = trail.checkpoint_if_due(0, folder)
    assert made is not None and made.seq == 7
    assert len(list(folder.glob("*.json"))) == 2
    assert [c.seq for c in trail.stored_checkpoints()] == [6, 7]


def test_cordon_audit_verify_checkpoint_and_public_key(settings: Settings, tmp_path: Path) -> None:
    security = build_security(settings)
    for n in range(1, 5):
        security.audit.record(consultation(n))
    security.close()
    runner = CliRunner()
    data = ["--data", str(settings.data_dir)]
    dpo = tmp_path / "dpo"
    made = runner.invoke(cli, ["audit", "checkpoint", "--out", str(dpo), *data])
    assert made.exit_code == 0, made.output
    assert "checkpoint: 4 entries" in made.output
    key = runner.invoke(cli, ["audit", "public-key", "--out", str(tmp_path / "audit.pem"), *data])
    assert key.exit_code == 0, key.output
    anchors = ["--anchor", str(dpo), "--public-key", str(tmp_path / "audit.pem")]
    intact = runner.invoke(cli, ["audit", "verify", *anchors, *data])
    assert intact.exit_code == 0, intact.output
    assert "audit trail intact: 4 entries" in intact.output
    connection = sqlite3.connect(settings.sqlite_path, isolation_level=None)
    connection.execute("DROP TRIGGER audit_entries_no_delete")
    connection.execute("DROP TRIGGER audit_checkpoints_no_delete")
    connection.execute("DELETE FROM audit_entries WHERE seq = 4")
    connection.execute("DELETE FROM audit_checkpoints")
    connection.close()
    cut = runner.invoke(cli, ["audit", "verify", *anchors, *data])
    assert cut.exit_code == 1
    assert "entry 4: truncated" in cut.output
    assert "TAMPERED" in cut.output
    bad = runner.invoke(cli, ["audit", "verify", "--anchor", str(tmp_path / "audit.pem"), *data])
    assert isinstance(bad.exception, CordonError)
    assert "not a Cordon audit checkpoint" in str(bad.exception)


def test_the_audit_tables_run_forward_and_back_on_postgresql(postgres_url: str) -> None:
    """The same AuditLog on a real PostgreSQL: appends, verification, and the append-only trigger."""
    from cordon.auth.database import Database
    from cordon.auth.models import Actor
    from cordon.auth.passwords import Passwords
    from cordon.auth.roles import Role
    from cordon.auth.sessions import Sessions
    from cordon.auth.users import UserAdmin
    from cordon.settings import AuthSettings

    migrate.upgrade(postgres_url)
    database = Database(postgres_url)
    try:
        log = AuditLog(database)
        for n in range(1, 4):
            log.record(consultation(n))
        assert log.verify().ok and log.head()[0] == 3
        with pytest.raises(DatabaseError, match="append-only"), database.write() as connection:
            connection.execute(text("DELETE FROM audit_entries"))
        assert log.entries()[1].event == consultation(2)
        fast = AuthSettings(argon2_time_cost=1, argon2_memory_kib=1024, argon2_parallelism=1)
        passwords = Passwords(1, 1024, 1)
        users = UserAdmin(database, passwords, log, fast.totp_required_roles, "Cordon")
        users.add("odile", Role.OPERATOR, "correct horse battery staple", Actor("test"))
        sessions = Sessions(database, passwords, log, fast)
        issued = sessions.login("odile", "correct horse battery staple", None, "10.0.0.1")
        assert sessions.authenticate(issued.token, None).username == "odile"
        with pytest.raises(CordonError):
            sessions.login("odile", "wrong passphrase here", None, None)
        assert users.get("odile").failed_count == 1
        assert log.verify().ok and log.head()[0] == 6  # 3 consultations, the add, a login, a failure
    finally:
        database.close()
        migrate.downgrade(postgres_url, "base")
    assert migrate.current_revision(postgres_url) is None


def test_production_keeps_the_signing_key_off_the_data_folder(tmp_path: Path) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="signing_key_file"):
        Settings(environment="production", zone_file=tmp_path / "zone.yaml")
    key = tmp_path / "keys" / "audit.key"
    chosen = Settings(environment="production", zone_file=tmp_path / "zone.yaml", audit={"signing_key_file": key})
    assert chosen.audit_signing_key_path == key


def test_a_locked_store_is_a_clean_store_error(trail: AuditLog) -> None:
    """Another process holding the write lock past the busy timeout: a `StoreError` (API: 503), nothing recorded."""
    from cordon.auth.database import Database
    from cordon.store.base import StoreError

    path = trail.database.url.removeprefix("sqlite:///")
    impatient = AuditLog(Database(trail.database.url, busy_timeout_s=0.1))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match="cannot take the request now"):
            impatient.record(consultation(7))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        impatient.database.close()
    assert trail.head()[0] == 6
