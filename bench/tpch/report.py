"""Printing the table, measuring cold start, describing the machine, writing the JSON result."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den == 0:
        return None
    return num / den


def print_table(rows: list[dict[str, Any]], totals: dict[str, Any]) -> None:
    header = ("query", "oaklake s", "duckdb s", "naive s", "oak/duck", "naive/oak", "check")
    lines = []
    for r in rows:
        lines.append((
            r["query"], fmt(r["oaklake_s"]), fmt(r["duckdb_s"]), fmt(r["naive_s"]),
            fmt(r["oaklake_over_duckdb"], 2), fmt(r["naive_over_oaklake"], 2), r["check"],
        ))  # fmt: skip
    lines.append((
        "total", fmt(totals["oaklake_s"]), fmt(totals["duckdb_s"]), fmt(totals["naive_s"]),
        fmt(totals["oaklake_over_duckdb"], 2), fmt(totals["naive_over_oaklake"], 2), "",
    ))  # fmt: skip
    widths = [max(len(str(x[i])) for x in [header, *lines]) for i in range(len(header))]

    def row(cells: tuple[Any, ...]) -> str:
        first = str(cells[0]).ljust(widths[0])
        middle = [str(c).rjust(w) for c, w in zip(cells[1:-1], widths[1:-1], strict=True)]
        return "  ".join([first, *middle, str(cells[-1])]).rstrip()

    print(row(header))
    print("-" * (sum(widths) + 2 * (len(widths) - 1)))
    for line in lines[:-1]:
        print(row(line))
    print("-" * (sum(widths) + 2 * (len(widths) - 1)))
    print(row(lines[-1]))


def cold_start(args: list[str], runs: int = 5, cwd: Path | None = None) -> dict[str, Any]:
    """Wall time of ``oaklake <args>`` as a fresh process, ``runs`` times; the median counts."""
    exe = Path(sys.executable).parent / "oaklake"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OAKLAKE_")}
    times = []
    with tempfile.TemporaryDirectory(prefix="oaklake-cold-") as tmp:
        for _ in range(runs):
            start = time.perf_counter()
            out = subprocess.run(
                [str(exe), *args], cwd=cwd or tmp, env=env, capture_output=True, text=True,
                check=False,
            )  # fmt: skip
            times.append(time.perf_counter() - start)
            if out.returncode != 0:
                raise SystemExit(f"oaklake {' '.join(args)} failed: {out.stderr.strip()}")
    return {
        "command": " ".join(["oaklake", *args]),
        "runs_s": [round(t, 4) for t in times],
        "median_s": round(statistics.median(times), 4),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "load_average_at_end": load_average(),
    }


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages: other work on the machine skews every timing."""
    return [round(x, 2) for x in os.getloadavg()]


def package_versions(packages: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of ``packages`` (every benchmark records the ones it measures)."""
    out = {}
    for package in packages:
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


def versions(tpchgen: str) -> dict[str, str]:
    packages = ("oaklake", "duckdb", "pyiceberg", "sqlglot", "pyarrow")
    return {**package_versions(packages), "tpchgen-cli": tpchgen}


def git_commit() -> str | None:
    out = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    )
    return out.stdout.strip() or None


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **payload}
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
