"""``uv run python -m bench.tpch``: generate, load, run the 22 queries three ways, report.

Timing: for each query and each way of running it, one warm-up run, then the best of ``--repeat``
runs (default 3), the engines taking turns. Totals are sums of the per-query best times over the
queries every way ran.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from bench.tpch import check, data, report
from bench.tpch.runners import DuckDBRunner, NaiveRunner, OaklakeRunner, tables_used, transpile

QUERIES = Path(__file__).resolve().parent / "queries"
RESULTS = data.BENCH / "results" / "tpch.json"
GOAL_VS_DUCKDB = 1.10  # total oaklake time at most 1.10x plain DuckDB on the same files
GOAL_VS_NAIVE = 3.0  # at least 3x faster than scan().to_arrow() + DuckDB
GOAL_COLD_START = 0.6  # seconds for `oaklake sql "select 1"`


def _query_list(text: str | None) -> list[int]:
    if not text:
        return list(range(1, 23))
    out = []
    for part in text.split(","):
        number = int(part.strip().lower().lstrip("q"))
        if not 1 <= number <= 22:
            raise SystemExit(f"there is no TPC-H query {part.strip()!r}: use 1 … 22")
        out.append(number)
    return out


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.tpch", description=__doc__)
    p.add_argument("--scale", type=float, default=1.0, help="TPC-H scale factor (default 1)")
    p.add_argument("--queries", default=None, help="subset, e.g. 1,3,6 (default: all 22)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs after 1 warm-up; best counts")
    p.add_argument("--skip-naive", action="store_true", help="do not run the naive pyiceberg way")
    p.add_argument("--skip-cold-start", action="store_true", help="do not time CLI start-up")
    p.add_argument("--output", type=Path, default=RESULTS, help=f"JSON result (default {RESULTS})")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def _run_query(
    number: int, runners: dict[str, Any], repeat: int, scale: float
) -> tuple[dict[str, Any], list[str]]:
    text = (QUERIES / f"q{number:02d}.sql").read_text()
    duck_sql = transpile(text)
    tables = tables_used(text)
    calls = {
        "oaklake": lambda: runners["oaklake"].run(text),
        "duckdb": lambda: runners["duckdb"].run(duck_sql),
        "naive": lambda: runners["naive"].run(duck_sql, tables),
    }
    row: dict[str, Any] = {"query": f"q{number:02d}", "tables": tables}
    arrows: dict[str, Any] = {}
    times: dict[str, list[float]] = {}
    warmups: dict[str, float] = {}
    problems: list[str] = []
    failed: set[str] = set()
    # One warm-up each, then the timed runs round-robin, so that a busy spell on the machine
    # slows every engine alike instead of whichever happened to be running.
    for round_ in range(repeat + 1):
        for name, call in calls.items():
            if name not in runners or name in failed:
                continue
            try:
                seconds, arrows[name] = call()
            except Exception as e:  # a failing query is reported, and the others still run
                problems.append(f"{name} FAILED: {type(e).__name__}: {e}")
                failed.add(name)
                arrows.pop(name, None)
                times.pop(name, None)
                continue
            if round_:
                times.setdefault(name, []).append(seconds)
            else:
                warmups[name] = seconds
    for name in calls:
        # The warm-up is the first run in this process: caches (DuckDB's, oaklake's file plans)
        # are cold for it, so it is kept, but the best warm run is what counts.
        row[f"{name}_warmup_s"] = _round(warmups.get(name)) if name in times else None
        row[f"{name}_runs_s"] = [_round(t) for t in times[name]] if name in times else None
        row[f"{name}_s"] = _round(min(times[name])) if name in times else None
    if "duckdb" in arrows:
        ref = arrows["duckdb"]
        row["result_rows"] = ref.num_rows
        for name in ("oaklake", "naive"):
            if name in arrows and (diff := check.compare(arrows[name], ref)):
                problems.append(f"{name} vs duckdb MISMATCH: {diff}")
        if diff := check.reference(number, ref, scale):
            problems.append(f"TPC-H answer check failed: {diff}")
    row["oaklake_over_duckdb"] = _round(report.ratio(row["oaklake_s"], row["duckdb_s"]), 3)
    row["naive_over_oaklake"] = _round(report.ratio(row["naive_s"], row["oaklake_s"]), 3)
    row["check"] = "ok" if not problems else "PROBLEM"
    row["problems"] = problems
    return row, problems


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _totals(rows: list[dict[str, Any]], naive: bool) -> dict[str, Any]:
    names = ["oaklake", "duckdb", *(["naive"] if naive else [])]
    complete = [r for r in rows if all(r[f"{n}_s"] is not None for n in names)]
    out: dict[str, Any] = {"queries": [r["query"] for r in complete]}
    for n in ("oaklake", "duckdb", "naive"):
        out[f"{n}_s"] = _round(sum(r[f"{n}_s"] for r in complete)) if n in names else None
        warm = [r[f"{n}_warmup_s"] for r in complete] if n in names else None
        out[f"{n}_warmup_s"] = _round(sum(warm)) if warm else None
    out["oaklake_over_duckdb"] = _round(report.ratio(out["oaklake_s"], out["duckdb_s"]), 3)
    out["naive_over_oaklake"] = _round(report.ratio(out["naive_s"], out["oaklake_s"]), 3)
    return out


def _verdict(value: float | None, goal: float, at_most: bool) -> str:
    if value is None:
        return "not measured"
    ok = value <= goal if at_most else value >= goal
    return "met" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    queries = _query_list(args.queries)
    print(f"TPC-H scale {args.scale:g}, queries {','.join(map(str, queries))}")
    print(
        f"timing: best of {args.repeat} warm runs after 1 warm-up, per query and per engine "
        "(engines take turns)"
    )
    load_at_start = report.load_average()
    if load_at_start[0] > (os.cpu_count() or 1):
        print(
            f"WARNING: the machine is busy (load average {load_at_start[0]:.1f} on "
            f"{os.cpu_count()} cores): timings will be noisy"
        )
    generated = data.generate(args.scale)
    loaded = data.load(args.scale)

    oak = OaklakeRunner(data.workspace_dir(args.scale))
    runners: dict[str, Any] = {"oaklake": oak, "duckdb": DuckDBRunner(oak.lake)}
    if not args.skip_naive:
        runners["naive"] = NaiveRunner(oak.lake)
    rows: list[dict[str, Any]] = []
    all_problems: list[str] = []
    try:
        for number in queries:
            row, problems = _run_query(number, runners, args.repeat, args.scale)
            rows.append(row)
            all_problems.extend(f"q{number:02d}: {p}" for p in problems)
            print(
                f"  q{number:02d}: oaklake {report.fmt(row['oaklake_s'])} s, "
                f"duckdb {report.fmt(row['duckdb_s'])} s, naive {report.fmt(row['naive_s'])} s"
                + ("" if not problems else "  <-- " + "; ".join(problems)),
                flush=True,
            )
    finally:
        oak.close()
        runners["duckdb"].close()

    totals = _totals(rows, not args.skip_naive)
    print()
    report.print_table(rows, totals)

    cold: dict[str, Any] = {}
    if not args.skip_cold_start:
        ws = str(data.workspace_dir(args.scale))
        cold["select_1"] = report.cold_start(["sql", "select 1"])
        cold["table_query"] = report.cold_start(
            ["sql", "-w", ws, "select count(*) from tpch.nation"]
        )
        cold["table_query"]["command"] = cold["table_query"]["command"].replace(ws, loaded["path"])

    goals = {
        "oaklake_over_duckdb": {
            "value": totals["oaklake_over_duckdb"],
            "goal": f"<= {GOAL_VS_DUCKDB}",
            "verdict": _verdict(totals["oaklake_over_duckdb"], GOAL_VS_DUCKDB, at_most=True),
        },
        "naive_over_oaklake": {
            "value": totals["naive_over_oaklake"],
            "goal": f">= {GOAL_VS_NAIVE}",
            "verdict": _verdict(totals["naive_over_oaklake"], GOAL_VS_NAIVE, at_most=False),
        },
        "cold_start_select_1_s": {
            "value": cold.get("select_1", {}).get("median_s"),
            "goal": f"<= {GOAL_COLD_START}",
            "verdict": _verdict(
                cold.get("select_1", {}).get("median_s"), GOAL_COLD_START, at_most=True
            ),
        },
    }
    print(
        f"first (warm-up) runs, caches cold: oaklake {report.fmt(totals['oaklake_warmup_s'])} s, "
        f"duckdb {report.fmt(totals['duckdb_warmup_s'])} s, "
        f"naive {report.fmt(totals['naive_warmup_s'])} s"
    )
    print()
    print("goals (totals over the queries every engine ran):")
    print(
        f"  oaklake / duckdb = {report.fmt(totals['oaklake_over_duckdb'], 3)} "
        f"(goal <= {GOAL_VS_DUCKDB}): {goals['oaklake_over_duckdb']['verdict']}"
    )
    print(
        f"  naive / oaklake  = {report.fmt(totals['naive_over_oaklake'], 3)} "
        f"(goal >= {GOAL_VS_NAIVE}): {goals['naive_over_oaklake']['verdict']}"
    )
    for key, c in cold.items():
        goal = f" (goal <= {GOAL_COLD_START} s): " + goals["cold_start_select_1_s"]["verdict"]
        print(
            f"  cold start `{c['command']}`: median {c['median_s']:.3f} s of {len(c['runs_s'])}"
            f" runs {c['runs_s']}" + (goal if key == "select_1" else "")
        )

    if all_problems:
        print()
        print("!" * 78)
        print(f"!!! {len(all_problems)} PROBLEM(S): results differ or queries failed")
        for p in all_problems:
            print(f"!!!   {p}")
        print("!" * 78)

    report.write_json(
        args.output,
        {
            "benchmark": "TPC-H",
            "scale": args.scale,
            "timing": f"best of {args.repeat} warm runs after 1 warm-up",
            "repeat": args.repeat,
            "method": {
                "oaklake": "lake.sql(athena_sql) -> Arrow: parse, resolve, plan files, DuckDB scan",
                "duckdb": "plain DuckDB, one view per table over read_parquet([the table's current "
                "data files]); the query transpiled athena->duckdb once, outside the timing",
                "naive": "pyiceberg scan().to_arrow() of every table the query names, registered "
                "in a fresh DuckDB connection, then the same DuckDB SQL (reading included)",
            },
            "git_commit": report.git_commit(),
            "machine": {**report.machine(), "load_average_at_start": load_at_start},
            "versions": report.versions(generated["tpchgen_cli"]),
            "data": generated,
            "workspace": loaded,
            "queries": rows,
            "totals": totals,
            "goals": goals,
            "cold_start": cold,
            "problems": all_problems,
        },
    )
    print(f"\nresults written to {args.output}")
    return 1 if all_problems else 0


if __name__ == "__main__":
    sys.exit(main())
