"""The printed tables, the machine and versions, and the JSON result."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from bench.tpch.report import machine as machine  # re-exported: the runner calls report.machine()
from bench.tpch.report import package_versions

REPO = Path(__file__).resolve().parents[2]


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den == 0:
        return None
    return num / den


def table(header: tuple[str, ...], lines: list[tuple[Any, ...]], left: int = 1) -> list[str]:
    """Rows of text: the first ``left`` columns left-aligned, the others right-aligned."""
    widths = [max(len(str(x[i])) for x in [header, *lines]) for i in range(len(header))]

    def row(cells: tuple[Any, ...]) -> str:
        out = [
            str(c).ljust(w) if i < left else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    return [row(header), rule, *(row(line) for line in lines)]


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages: other work on the machine skews every timing."""
    return [round(x, 2) for x in os.getloadavg()]


def git_commit() -> dict[str, Any]:
    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return out.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD") or None,
        "src_has_uncommitted_changes": bool(git("status", "--porcelain", "--", "src")),
    }


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    path.write_text(json.dumps({"generated_at": stamp, **payload}, indent=2, default=str) + "\n")


def versions() -> dict[str, str]:
    return package_versions(("oaklake", "duckdb", "pyiceberg", "pyarrow"))
