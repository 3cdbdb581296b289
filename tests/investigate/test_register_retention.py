"""The door on a real store: decisions and holds registered, every consultation audited with its count, evidence
exports that verify, and retention with the clock moved forward (reads, images on disk, legal holds)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from cordon.audit import AuditEntry, Outcome
from cordon.errors import CordonError
from cordon.investigate import Investigation, LegalHold, ProsecutorDecision, RetentionJob, TimeWindow
from cordon.investigate.queries import Export, PlateSearch, WildcardSearch
from cordon.records import PlateRead
from cordon.runtime import Runtime
from tests.investigate.conftest import INVESTIGATOR, JUDICIAL, OPERATOR

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
MakeRead = Callable[..., PlateRead]
Fresh = Callable[..., Investigation]


def runtime_of(fresh: Fresh) -> Runtime:
    runtime: Runtime = fresh.runtime  # type: ignore[attr-defined]
    return runtime


def last_entry(runtime: Runtime) -> AuditEntry:
    entries = runtime.audit.entries(limit=10_000)
    return entries[-1]


def decision(reference: str = "PK-2026-0042", **fields: object) -> ProsecutorDecision:
    values: dict[str, object] = {
        "magistrate": "PK Oost-Vlaanderen, afdeling Dendermonde", "valid_from": NOW - DAY,
        "valid_until": NOW + 30 * DAY, "plates": frozenset({"1ABC234"}), "registered_by": "inspector.peeters",
        "registered_at": NOW, "document_sha256": hashlib.sha256(b"decision.pdf").hexdigest(), **fields,
    }  # fmt: skip
    return ProsecutorDecision(reference, **values)  # type: ignore[arg-type]


def test_every_consultation_is_audited_with_its_result_count(fresh: Fresh, make_read: MakeRead) -> None:
    investigation = fresh()
    runtime = runtime_of(fresh)
    runtime.store.append([make_read("1ABC234", at=NOW - h * timedelta(hours=1), lane_id="1") for h in range(1, 4)])
    result = investigation.consult(INVESTIGATOR, JUDICIAL, PlateSearch(plate="1-abc-234"))
    assert result.count == 3
    entry = last_entry(runtime).event
    assert (entry.actor, entry.action, entry.result_count, entry.outcome) == (
        "inspector.peeters", "reads.search", 3, Outcome.SUCCESS,
    )  # fmt: skip
    assert (entry.purpose, entry.case_ref, entry.offence_type) == ("judicial", JUDICIAL.case_reference, "burglary")
    assert entry.query is not None and entry.query["plate"] == "1ABC234"
    wildcard = investigation.consult(INVESTIGATOR, JUDICIAL, WildcardSearch(pattern="1-AB?-2*"))
    assert wildcard.count == 3 and last_entry(runtime).event.result_count == 3


def test_a_refusal_is_audited_and_changes_nothing(fresh: Fresh, make_read: MakeRead) -> None:
    investigation = fresh()
    runtime = runtime_of(fresh)
    runtime.store.append([make_read("1ABC234", at=NOW - 60 * DAY, lane_id="1")])
    old = PlateSearch(plate="1ABC234", window=TimeWindow(since=NOW - 90 * DAY))
    with pytest.raises(CordonError) as refused:
        investigation.consult(OPERATOR, JUDICIAL, old)
    assert (refused.value.code, refused.value.status) == ("beyond_open_period", 403)
    entry = last_entry(runtime).event
    assert (entry.outcome, entry.result_count, entry.details["refusal"]) == (Outcome.DENIED, 0, "beyond_open_period")
    incomplete = JUDICIAL.model_copy(update={"reason": "", "case_reference": " "})
    with pytest.raises(CordonError) as missing:
        investigation.consult(INVESTIGATOR, incomplete, old)
    assert missing.value.status == 422
    assert missing.value.message == "consultation refused: a consultation needs: reason, case reference"
    assert runtime.store.count_reads() == 1


def test_old_reads_under_a_registered_decision(fresh: Fresh, make_read: MakeRead) -> None:
    investigation = fresh()
    runtime = runtime_of(fresh)
    runtime.store.append([make_read("1ABC234", at=NOW - days * DAY, lane_id="1") for days in (2, 60, 200)])
    old = PlateSearch(plate="1ABC234", window=TimeWindow(since=NOW - 300 * DAY))
    with pytest.raises(CordonError, match="need a prosecutor decision covering plate 1ABC234"):
        investigation.consult(INVESTIGATOR, JUDICIAL, old)
    assert investigation.consult(INVESTIGATOR, JUDICIAL, PlateSearch(plate="1ABC234")).count == 1  # first month
    investigation.db.register_decision(decision())
    with pytest.raises(CordonError) as again:
        investigation.db.register_decision(decision())
    assert (again.value.code, again.value.status) == ("decision_exists", 409)
    covered = JUDICIAL.model_copy(update={"decision_reference": "PK-2026-0042"})
    assert investigation.consult(INVESTIGATOR, covered, old).count == 3
    assert last_entry(runtime).event.details["decision"] == "PK-2026-0042"
    investigation.db.revoke_decision("PK-2026-0042", NOW - timedelta(seconds=1))
    with pytest.raises(CordonError, match="decision PK-2026-0042 was revoked"):
        investigation.consult(INVESTIGATOR, covered, old)


def test_evidence_export_is_a_verifiable_zip_and_is_audited(fresh: Fresh, make_read: MakeRead) -> None:
    investigation = fresh()
    runtime = runtime_of(fresh)
    image = runtime.images.put(PNG)
    runtime.store.append(
        [make_read("1ABC234", at=NOW - DAY, lane_id="1", image_ref=image.sha256),
         make_read("1ABC234", at=NOW - DAY / 2, lane_id="2"), make_read("2XYZ999", at=NOW - DAY, lane_id="1")]
    )  # fmt: skip
    evidence = investigation.export(INVESTIGATOR, JUDICIAL, Export(plate="1-ABC-234"))
    archive = zipfile.ZipFile(io.BytesIO(evidence.data))
    names = sorted(archive.namelist())
    assert names == ["images/" + image.sha256, "manifest.sha256", "reads.jsonl", "report.json"]
    for line in archive.read("manifest.sha256").decode().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest
    reads = [orjson.loads(line) for line in archive.read("reads.jsonl").splitlines()]
    assert [r["movement"] for r in reads] == ["exit", "entry"] and {r["plate"] for r in reads} == {"1ABC234"}
    report = orjson.loads(archive.read("report.json"))
    assert report["consultation"]["case_reference"] == JUDICIAL.case_reference
    assert report["door"]["windows"][0]["camera_id"] == "cam-north" and report["reads"] == 2
    entry = last_entry(runtime).event
    assert (entry.action, entry.result_count) == ("evidence.export", 2)
    assert entry.details["manifest_sha256"] == evidence.manifest_sha256
    assert hashlib.sha256(archive.read("manifest.sha256")).hexdigest() == evidence.manifest_sha256


def test_retention_with_the_clock_moved_forward(fresh: Fresh, make_read: MakeRead) -> None:
    investigation = fresh()
    runtime = runtime_of(fresh)
    images = [runtime.images.put(PNG + bytes([n])) for n in range(4)]
    reads = [
        make_read("1OLD001", at=NOW - 400 * DAY, image_ref=images[0].sha256),  # cam-north keeps 365 days
        make_read("1OLD002", at=NOW - 100 * DAY, image_ref=images[1].sha256),
        make_read("1SCH001", camera="cam-school", at=NOW - 40 * DAY, image_ref=images[2].sha256),  # keeps 30
        make_read("1HLD001", at=NOW - 400 * DAY, image_ref=images[3].sha256),  # held for a case
        make_read("1NEW001", at=NOW - DAY),
    ]
    runtime.store.append(reads)
    hold = investigation.db.add_hold(
        LegalHold("PV 2026/77", "evidence in a pending trial", plates=frozenset({"1HLD001"}),
                  created_by="inspector.peeters", created_at=NOW)
    )  # fmt: skip
    job = RetentionJob(investigation.db, runtime.zone, runtime.images, runtime.audit)
    dry = job.run_once(NOW, dry_run=True)
    assert (dry.deleted, dry.held, runtime.store.count_reads()) == (2, 1, 5)
    report = job.run_once(NOW)
    assert (report.deleted, report.held, report.images_deleted) == (2, 1, 2)
    assert {c.camera_id: c.deleted for c in report.cameras} == {"cam-north": 1, "cam-school": 1}
    assert not runtime.images.path_of(images[0].sha256).exists()
    assert not runtime.images.path_of(images[2].sha256).exists()
    assert runtime.images.path_of(images[1].sha256).exists() and runtime.images.path_of(images[3].sha256).exists()
    entry = last_entry(runtime).event
    assert (entry.action, entry.result_count, entry.details["held"]) == ("retention.delete", 2, 1)
    remaining = {r.plate for r in runtime.store.camera_reads("cam-north")}
    assert remaining == {"1OLD002", "1HLD001", "1NEW001"}
    connection = investigation.db.connection()
    assert connection.execute("SELECT count(*) FROM plate_index WHERE plate = '1OLD001'").fetchone()[0] == 0

    later = NOW + 300 * DAY  # the clock moved forward: 1OLD002 is now 400 days old, 1NEW001 301
    assert job.run_once(later).deleted == 1
    investigation.db.release_hold(hold.hold_id or 0, later)
    final = job.run_once(later + DAY)
    assert (final.deleted, final.held) == (1, 0)
    assert {r.plate for r in runtime.store.camera_reads("cam-north")} == {"1NEW001"}
    assert not runtime.images.path_of(images[3].sha256).exists()
    assert job.run_once(later + DAY).deleted == 0  # nothing left to delete: nothing audited


def test_a_hold_by_read_id_keeps_that_read_only(fresh: Fresh, make_read: MakeRead) -> None:
    investigation = fresh()
    runtime = runtime_of(fresh)
    runtime.store.append([make_read("1ABC234", at=NOW - (400 + n) * DAY) for n in range(3)])
    keep = investigation.db.connection().execute("SELECT min(id) FROM reads").fetchone()[0]
    investigation.db.add_hold(LegalHold("PV 1", "seized", read_ids=frozenset({keep}), created_at=NOW))
    report = RetentionJob(investigation.db, runtime.zone, runtime.images, runtime.audit, batch=1).run_once(NOW)
    assert (report.deleted, report.held) == (2, 1)
    assert investigation.db.connection().execute("SELECT id FROM reads").fetchall() == [(keep,)]


@pytest.mark.parametrize(
    ("hold", "problem"),
    [
        (LegalHold("", "why", plates=frozenset({"1A"})), "a legal hold needs a case reference"),
        (LegalHold("PV 1", "", plates=frozenset({"1A"})), "a legal hold needs a reason"),
        (LegalHold("PV 1", "why"), "a legal hold needs plates or read ids to hold"),
    ],
)
def test_bad_holds_are_refused_and_store_nothing(fresh: Fresh, hold: LegalHold, problem: str) -> None:
    investigation = fresh()
    with pytest.raises(CordonError, match=problem):
        investigation.db.add_hold(replace(hold, created_at=NOW))
    assert investigation.db.holds() == []


def test_held_reads_beyond_retention_stay_reachable_for_their_own_case_only(fresh: Fresh, make_read: MakeRead) -> None:
    investigation = fresh()
    runtime = runtime_of(fresh)
    runtime.store.append([make_read("1HLD001", at=NOW - 500 * DAY, lane_id="1"),  # past cam-north's 365 days
                          make_read("1HLD001", at=NOW - 400 * DAY, lane_id="2"),
                          make_read("1HLD001", at=NOW - 100 * DAY, lane_id="1")])  # fmt: skip
    investigation.db.add_hold(LegalHold(JUDICIAL.case_reference, "trial pending", plates=frozenset({"1HLD001"}),
                                        created_at=NOW))  # fmt: skip
    investigation.db.register_decision(decision(plates=frozenset({"1HLD001"})))
    covered = JUDICIAL.model_copy(update={"decision_reference": "PK-2026-0042"})
    evidence = investigation.export(INVESTIGATOR, covered, Export(plate="1HLD001"))
    assert evidence.result.count == 3  # the two held reads past retention, and the one within
    other_case = covered.model_copy(update={"case_reference": "PV 2026/other"})
    assert investigation.consult(INVESTIGATOR, other_case, PlateSearch(plate="1HLD001")).count == 1
    no_decision = JUDICIAL  # within the first month only: nothing
    assert investigation.consult(INVESTIGATOR, no_decision, PlateSearch(plate="1HLD001")).count == 0
    RetentionJob(investigation.db, runtime.zone, runtime.images, runtime.audit).run_once(NOW)
    assert runtime.store.count_reads() == 3  # held: none deleted
