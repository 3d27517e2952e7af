"""Printing: the timing table, the per-rule agreement table, the notes on semantics."""

from __future__ import annotations

import math
from typing import Any

from bench.tpch.report import fmt, ratio

# Rule number -> how the Soda check differs from the DQDL rule (see soda_checks.yml).
SODA_NOTES: dict[int, str] = {
    3: "duplicate_count = values seen more than once; 0 <=> unique, as IsUnique",
    5: "missing_percent is rounded to 2 decimals",
    6: "missing_percent is rounded to 2 decimals",
    7: "no built-in with DQDL's uniqueness: a user-defined metric query computes it",
    8: "no distinct-count metric in Soda Core 3: user-defined count(DISTINCT status) "
    "(DQDL also counts NULL as a value; status has none)",
    9: "no entropy metric: a user-defined metric query computes it",
    10: "invalid_percent: non-NULL values outside the list / all rows, rounded to 2 decimals",
    11: "valid min 1 / max 20 are inclusive: the same integers as DQDL's exclusive (0, 21)",
    12: "Soda counts NULLs as missing, not invalid (DQDL fails them); the regex is anchored",
    14: "max(discount): NULLs ignored, as the DQDL rule's where clause does",
    18: "user-defined metric expression corr(quantity, amount)",
    19: "the CustomSql statement as a user-defined metric query",
    20: "failed rows check: NULL dates would pass it (DQDL fails them; there are none)",
}

LIMIT_NOTE = (
    "the limit computes DQDL's metrics exactly (rule 13: the share of 10-character skus, where "
    "oaklake reports the minimum and maximum lengths)"
)


def print_timings(rows: list[dict[str, Any]]) -> None:
    header = ("system", "best s", "warm-up s", "runs s", "x oaklake", "best CPU s", "CPU x oak")
    lines = [
        (r["label"], fmt(r["best_s"]), fmt(r["warmup_s"]),
         " ".join(fmt(t, 2) for t in r["runs_s"]) if r["runs_s"] else "-",
         fmt(r["over_oaklake"], 2), fmt(r["best_cpu_s"]), fmt(r["cpu_over_oaklake"], 2))
        for r in rows
    ]  # fmt: skip
    _table(header, lines, right=(1, 2, 4, 5, 6))


def print_agreement(texts: list[str], outcomes: dict[str, list[bool | None]]) -> list[int]:
    """One line per rule: each system's verdict; returns the rules where they disagree."""
    names = list(outcomes)
    header = ("#", "rule", *names, "agree")
    lines = []
    disagree = []
    for i, text in enumerate(texts):
        verdicts = [outcomes[n][i] for n in names]
        same = len({v for v in verdicts}) == 1
        if not same:
            disagree.append(i + 1)
        short = text if len(text) <= 52 else text[:49] + "..."
        lines.append((str(i + 1), short, *(_verdict(v) for v in verdicts), "yes" if same else "NO"))
    _table(header, lines, right=())
    return disagree


def compare_metrics(
    oak: list[Any], limit: list[Any], skip: set[int], tolerance: float = 1e-9
) -> list[str]:
    """Where oaklake's metric and the limit's differ by more than ``tolerance`` (relative)."""
    problems = []
    for i, (a, b) in enumerate(zip(oak, limit, strict=True), start=1):
        if i in skip:
            continue
        if a is None or b is None:
            if a is not b:
                problems.append(f"rule {i}: oaklake {a} vs limit {b}")
            continue
        if not math.isclose(float(a), float(b), rel_tol=tolerance, abs_tol=tolerance):
            problems.append(f"rule {i}: oaklake {a!r} vs limit {b!r}")
    return problems


def _verdict(value: bool | None) -> str:
    return "-" if value is None else ("pass" if value else "FAIL")


def _table(header: tuple[str, ...], lines: list[tuple[str, ...]], right: tuple[int, ...]) -> None:
    widths = [max(len(str(x[i])) for x in [header, *lines]) for i in range(len(header))]

    def row(cells: tuple[str, ...]) -> str:
        out = []
        for i, (c, w) in enumerate(zip(cells, widths, strict=True)):
            out.append(str(c).rjust(w) if i in right else str(c).ljust(w))
        return "  ".join(out).rstrip()

    print(row(header))
    print("-" * (sum(widths) + 2 * (len(widths) - 1)))
    for line in lines:
        print(row(line))


def over(a: float | None, b: float | None) -> float | None:
    return ratio(a, b)
