"""The printed table, the goals and the JSON result."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.dml.cases import Outcome
from bench.tpch.report import machine as machine  # re-exported: the runner calls report.machine()
from bench.tpch.report import package_versions

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Goal:
    """``oak/peer <= value`` (at most that many times the peer's time) or ``peer/oak >= value``
    (at least that many times faster than the peer)."""

    metric: str  # "oak/peer" or "peer/oak"
    op: str  # "<=" or ">="
    value: float

    def text(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"

    def met(self, ratio: float | None) -> bool | None:
        if ratio is None:
            return None
        return ratio <= self.value if self.op == "<=" else ratio >= self.value


@dataclass
class Row:
    outcome: Outcome
    label: str
    peer: str
    peer_s: float | None
    metric: str = "oak/peer"
    goal: Goal | None = None
    note: str = ""
    peer_cpu_s: float | None = None
    # The peer did not finish: peer_s / peer_cpu_s are what it had used when it was stopped, so
    # a peer/oak ratio is a lower bound.
    peer_unfinished: bool = False

    def __post_init__(self) -> None:
        # Against DuckDB the peer is the outcome's own, measured in this process.
        if self.peer_cpu_s is None and self.metric == "oak/peer" and self.outcome.peer_cpu_s:
            self.peer_cpu_s = min(self.outcome.peer_cpu_s)

    def _ratio(self, oak: float | None, peer: float | None) -> float | None:
        if oak is None or peer is None or oak == 0 or peer == 0:
            return None
        return oak / peer if self.metric == "oak/peer" else peer / oak

    @property
    def ratio(self) -> float | None:
        return self._ratio(self.outcome.oaklake_s, self.peer_s)

    @property
    def oak_cpu_s(self) -> float | None:
        return min(self.outcome.oaklake_cpu_s) if self.outcome.oaklake_cpu_s else None

    @property
    def cpu_ratio(self) -> float | None:
        """The same ratio on CPU seconds (this process's, all threads; the upsert child's)."""
        return self._ratio(self.oak_cpu_s, self.peer_cpu_s)

    def verdict(self) -> str:
        if self.goal is None:
            return "-"
        met = self.goal.met(self.ratio)
        if met is None:
            return "not measured"
        if self.peer_unfinished and not met:
            return "unknown"  # the bound is below the goal; the true ratio may not be
        return "met" if met else "MISSED"

    def ratio_text(self, value: float | None) -> str:
        if value is None:
            return "-"
        return (">= " if self.peer_unfinished else "") + f"{value:.2f}"

    def as_dict(self) -> dict[str, Any]:
        o = self.outcome
        return {
            "case": self.label,
            "what": o.what,
            "oaklake_s": o.oaklake_s,
            "oaklake_runs_s": [round(t, 4) for t in o.oaklake_runs_s],
            "peer": self.peer,
            "peer_s": self.peer_s,
            "ratio_metric": self.metric,
            "ratio": self.ratio,
            "peer_unfinished": self.peer_unfinished,
            "oaklake_cpu_s": self.oak_cpu_s,
            "peer_cpu_s": self.peer_cpu_s,
            "cpu_ratio": self.cpu_ratio,
            "goal": self.goal.text() if self.goal else None,
            "verdict": self.verdict(),
            "note": self.note,
        }


def fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(rows: list[Row]) -> None:
    header = ("case", "oaklake s", "peer", "peer s", "ratio", "goal", "met?", "check",
              "cpu ratio")  # fmt: skip
    lines = [header]
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio_text(r.ratio)} ({r.metric})"
        cpu = r.ratio_text(r.cpu_ratio)
        check = "ok" if not r.outcome.problems else "PROBLEM"
        lines.append((
            r.label, fmt(r.outcome.oaklake_s), r.peer, fmt(r.peer_s), ratio,
            r.goal.text() if r.goal else "-", r.verdict(), check, cpu,
        ))  # fmt: skip
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    numeric = {1, 3, 4, 8}
    for n, line in enumerate(lines):
        cells = [
            str(c).rjust(w) if i in numeric else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
        if n == 0:
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))
    notes = [r for r in rows if r.note]
    for r in notes:
        print(f"  {r.label}: {r.note}")


def print_phases(outcomes: list[Outcome]) -> None:
    print("where oaklake's time goes (fastest run, seconds):")
    names = ("duckdb", "plan", "write_files", "commit", "other")
    width = max(len(o.case) for o in outcomes)
    print("  " + "case".ljust(width) + "".join(n.rjust(12) for n in names))
    for o in outcomes:
        print("  " + o.case.ljust(width) + "".join(fmt(o.phases.get(n)).rjust(12) for n in names))


def git_commit() -> dict[str, Any]:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                          check=False).stdout.strip()  # fmt: skip
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=REPO,
                           capture_output=True, text=True, check=False).stdout.strip()  # fmt: skip
    return {"commit": head or None, "src_has_uncommitted_changes": bool(dirty)}


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    path.write_text(json.dumps({"generated_at": stamp, **payload}, indent=2, default=str) + "\n")


def versions() -> dict[str, str]:
    return package_versions(("oaklake", "duckdb", "pyiceberg", "pyarrow", "sqlglot"))
