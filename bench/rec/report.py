"""Printed tables, machine facts and the JSON result."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.tpch.report import machine as machine  # re-exported: the runner calls report.machine()
from bench.tpch.report import package_versions

REPO = Path(__file__).resolve().parents[2]
PACKAGES = (
    "oaklake",
    "numpy",
    "scipy",
    "implicit",
    "threadpoolctl",
    "fastapi",
    "starlette",
    "uvicorn",
    "h11",
    "httptools",
    "uvloop",
    "httpx",
)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], numeric: set[int]) -> None:
    lines = [tuple(str(c) for c in header), *[tuple(str(c) for c in r) for r in rows]]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for n, line in enumerate(lines):
        cells = [
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        print("  " + "  ".join(cells).rstrip())
        if n == 0:
            print("  " + "-" * (sum(widths) + 2 * (len(widths) - 1)))


def fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def git_commit() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()

    dirty = git("status", "--porcelain", "--", "src")
    return {"commit": git("rev-parse", "HEAD") or None, "src_has_uncommitted_changes": bool(dirty)}


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    path.write_text(json.dumps({"generated_at": stamp, **payload}, indent=2, default=str) + "\n")


def versions() -> dict[str, str]:
    return package_versions(PACKAGES)
