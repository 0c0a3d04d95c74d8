"""The pytest plugin, as a user's project meets it: a suite that uses only its fixtures, run in
a pytest process of its own (strict pytest-asyncio, the project's own settings)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).parent / "project"


def run_project(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_users_suite_runs_on_the_fixtures_alone() -> None:
    done = run_project()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed" in done.stdout


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_the_fixtures_work_in_either_asyncio_mode(mode: str) -> None:
    done = run_project("-o", f"asyncio_mode={mode}", "-k", "injected or reboot")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_the_plugin_documents_its_option_and_marker() -> None:
    done = run_project("--help")
    assert "--nm28-broker=URL" in done.stdout
    markers = run_project("--markers")
    assert "nm28_sim(**knobs)" in markers.stdout


def test_a_given_broker_is_used(tmp_path: Path) -> None:
    """--nm28-broker points the fixtures at a broker the user runs (the project's test checks
    that its URL is the one given); a URL that is not mqtt:// fails, saying why, rather than
    starting another."""
    done = run_project("--nm28-broker", "mqtt://127.0.0.1:1", "-k", "broker_fixture")
    assert done.returncode == 0, done.stdout + done.stderr
    bad = run_project("--nm28-broker", "ftp://nowhere", "-k", "broker_fixture")
    assert bad.returncode != 0
    assert "ftp" in bad.stdout + bad.stderr
