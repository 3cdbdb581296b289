"""The checks a reviewer would run: lint, format, strict types. A rule stated but not enforced is worse than none."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "src", "tests", "bench", "training", "scripts"],
        ["ruff", "format", "--check", "src", "tests", "bench", "training", "scripts"],
        ["mypy"],
    ],
    ids=["ruff-check", "ruff-format", "mypy-strict"],
)
def test_static_checks(command: list[str]) -> None:
    executable = str(BIN / command[0])
    result = subprocess.run([executable, *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_module_grows_into_a_god_module() -> None:
    """Modest sizes (STYLE.md): a module past 500 lines is split by stage before it lands."""
    too_long = {
        str(path.relative_to(ROOT)): n
        for path in (ROOT / "src" / "cordon").rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 500
    }
    assert not too_long
