"""`cordon search` and `cordon retention run`: the same door and job as the API, from the server's console."""

from __future__ import annotations

import hashlib
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from click.testing import CliRunner

from cordon.auth import totp
from cordon.auth.models import Actor
from cordon.auth.roles import Role
from cordon.cli import cli
from cordon.errors import CordonError
from cordon.investigate import build_investigation
from cordon.records import PlateRead
from cordon.runtime import Runtime
from tests.conftest import SMALL_ZONE

NOW = datetime.now(UTC)
PASSWORD = "correct horse battery staple"
WHY = ["--purpose", "judicial", "--reason", "hit and run", "--offence", "hit and run", "--case", "PV 2026/5"]


def invoke(runtime: Runtime, *args: str, stdin: str | None = None) -> tuple[int, str]:
    common = ["--data", str(runtime.settings.data_dir)]
    if args[0] != "legal":  # the register does not need the zone
        common += ["--zone", str(SMALL_ZONE)]
    result = CliRunner().invoke(cli, [*args, *common], input=stdin)
    if isinstance(result.exception, CordonError):  # `cordon.cli.main` prints these as one line
        return 1, result.output + f"Error: {result.exception}\n"
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_search_signs_the_person_in_and_is_audited(runtime: Runtime, make_read: Callable[..., PlateRead]) -> None:
    runtime.accounts.users.add("dispatch.janssens", Role.OPERATOR, PASSWORD, Actor("test-setup"))
    runtime.store.append([make_read("1ABC234", at=NOW - timedelta(hours=h), lane_id="2") for h in (1, 2)])
    user = ["--user", "dispatch.janssens", "--password-stdin"]
    code, output = invoke(runtime, "search", "plate", "1-abc-234", *user, *WHY, stdin=PASSWORD + "\n")
    assert code == 0, output
    assert output.count("1-ABC-234") == 2 and "exit" in output
    assert "2 results" in output
    entry = runtime.audit.entries(limit=1000, action="reads.search")[-1].event
    assert (entry.actor, entry.client, entry.result_count) == ("dispatch.janssens", "cli", 2)

    code, output = invoke(runtime, "search", "plate", "1ABC234", *user, *WHY, stdin="wrong password\n")
    assert code == 1 and "1-ABC-234" not in output
    old = ["--since", (NOW - timedelta(days=60)).isoformat()]
    code, output = invoke(runtime, "search", "plate", "1ABC234", *user, *WHY, *old, stdin=PASSWORD + "\n")
    assert code == 1
    assert "reads older than 30 days are for investigators only" in output


def test_export_writes_the_zip(runtime: Runtime, make_read: Callable[..., PlateRead], tmp_path: Path) -> None:
    runtime.accounts.users.add("dispatch.peeters", Role.OPERATOR, PASSWORD, Actor("test-setup"))
    runtime.store.append([make_read("1ABC234", at=NOW - timedelta(hours=1), lane_id="1")])
    out = tmp_path / "evidence.zip"
    args = ["search", "export", "--plate", "1ABC234", "--out", str(out), "--user", "dispatch.peeters"]
    code, output = invoke(runtime, *args, "--password-stdin", *WHY, stdin=PASSWORD + "\n")
    assert code == 1 and "the role operator may not evidence.export" in output  # exports are for investigators
    assert not out.exists()
    uri = runtime.accounts.users.enrol_totp("dispatch.peeters", Actor("test-setup"))  # investigators need one
    runtime.accounts.users.set_role("dispatch.peeters", Role.INVESTIGATOR, Actor("test-setup"))
    secret = parse_qs(urlparse(uri).query)["secret"][0]
    code, output = invoke(runtime, *args, "--password-stdin", "--totp", totp_now(secret), *WHY, stdin=PASSWORD + "\n")
    assert code == 0, output
    assert "1 reads" in output and "manifest.sha256" in zipfile.ZipFile(out).namelist()


def totp_now(secret: str) -> str:
    return totp.totp(totp.secret_bytes(secret), time.time())


def test_retention_run(runtime: Runtime, make_read: Callable[..., PlateRead]) -> None:
    runtime.store.append([make_read("1ABC234", camera="cam-school", at=NOW - timedelta(days=40)),
                          make_read("1ABC234", at=NOW - timedelta(days=40))])  # fmt: skip
    code, output = invoke(runtime, "retention", "run", "--dry-run")
    assert code == 0 and "would delete 1 reads" in output
    assert runtime.store.count_reads() == 2
    code, output = invoke(runtime, "retention", "run")
    assert code == 0 and "cam-school" in output and "deleted 1 reads" in output
    assert runtime.store.count_reads() == 1
    entry = runtime.audit.entries(limit=1000, action="retention.delete")[-1].event
    assert entry.result_count == 1 and entry.actor.startswith("cli:")


def test_legal_decisions_and_holds(runtime: Runtime, tmp_path: Path) -> None:
    document = tmp_path / "pk.pdf"
    document.write_bytes(b"%PDF decision")
    valid = [
        "--valid-from",
        (NOW - timedelta(days=1)).isoformat(),
        "--valid-until",
        (NOW + timedelta(days=9)).isoformat(),
    ]
    code, output = invoke(runtime, "legal", "decision-add", "PK-2026-0042", "--magistrate", "PK Dendermonde",
                          "--plate", "1-abc-234", *valid, "--document", str(document))  # fmt: skip
    assert code == 0 and "registered PK-2026-0042: plate 1ABC234" in output, output
    code, output = invoke(runtime, "legal", "decision-add", "PK-2026-0042", "--magistrate", "x", "--case", "c", *valid)
    assert code == 1 and "registered already" in output
    code, output = invoke(runtime, "legal", "hold-add", "--case", "PV 1", "--reason", "trial", "--plate", "1ABC234")
    assert code == 0 and "hold 1 placed" in output
    assert "PV 1" in invoke(runtime, "legal", "holds")[1] and "PK-2026-0042" in invoke(runtime, "legal", "decisions")[1]
    assert invoke(runtime, "legal", "hold-release", "1")[0] == 0
    assert invoke(runtime, "legal", "decision-revoke", "PK-2026-0042")[0] == 0
    assert "revoked" in invoke(runtime, "legal", "decisions")[1]
    changes = [e.event.details["change"] for e in runtime.audit.entries(limit=1000, action="decisions.change")]
    assert changes == ["decision.register", "hold.add", "hold.release", "decision.revoke"]
    db_decision = next(iter(build_investigation(runtime).db.decisions().values()))
    assert db_decision.document_sha256 == hashlib.sha256(b"%PDF decision").hexdigest()
