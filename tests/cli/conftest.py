"""Helpers for driving the command line: in-process with click's CliRunner, or the real script."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from oaklake.app import Lake
from oaklake.cli import app

# The console script installed next to the interpreter running the tests (.venv/bin/oaklake).
OAKLAKE = Path(sys.executable).with_name("oaklake")

Invoke = Callable[..., Result]


@pytest.fixture
def cli() -> Invoke:
    """Run `oaklake ARGS…` in-process; stdout and stderr come back separately."""
    runner = CliRunner()

    def invoke(*args: str | os.PathLike[str], input: str | bytes | None = None) -> Result:
        return runner.invoke(app, [str(a) for a in args], input=input, prog_name="oaklake")

    return invoke


@pytest.fixture
def ws(lake: Lake) -> Path:
    """The root folder of the fresh `lake` workspace (for `-w`)."""
    return lake.settings.root


@pytest.fixture
def run() -> Callable[..., subprocess.CompletedProcess[str]]:
    """The real console script, as a user runs it (for the few tests that need a process)."""
    return run_oaklake


def run_oaklake(
    *args: str | os.PathLike[str],
    input: str | bytes | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the installed console script for real (a new process, real stdin/stdout/stderr)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("OAKLAKE_")}
    full_env.update(env or {})
    return subprocess.run(
        [str(OAKLAKE), *map(str, args)],
        input=input,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=60,
    )
