"""A newcomer's first minute: clone, run the README's first command, see the demo run."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import ROOT
from tests.test_docs import readme_commands


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_readme_install_command_in_a_fresh_clone(tmp_path: pytest.TempPathFactory) -> None:
    clone = tmp_path / "fresh"  # type: ignore[operator]
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    demo_command, _ = readme_commands()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "CORDON_"))}
    environment["CORDON_DEMO_DURATION"] = "8"
    environment["PATH"] = os.pathsep.join(
        p for p in environment.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT))
    )
    result = subprocess.run(
        ["bash", "-c", demo_command], cwd=clone, env=environment, capture_output=True, text=True, timeout=840
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "demo stopped:" in result.stdout
    assert (clone / ".venv" / "bin" / "cordon").exists()
