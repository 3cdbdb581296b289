"""Docs generated from the code stay current; the README keeps its promises."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT


def test_generated_reference_docs_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_docs.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def readme_commands() -> list[str]:
    """The README's first two fenced shell blocks: the demo command and the test command."""
    blocks = re.findall(r"```(?:sh|bash|shell)\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [block.strip() for block in blocks[:2]]


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second() -> None:
    demo, tests = readme_commands()
    assert "cordon demo" in demo
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci, f".ci/run must run the README's test command: {tests!r}"


def test_every_doc_link_in_readme_exists() -> None:
    for target in re.findall(r"\]\((docs/[^)#]+)", (ROOT / "README.md").read_text()):
        assert (ROOT / target).exists(), target
