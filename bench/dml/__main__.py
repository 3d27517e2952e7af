"""``uv run python -m bench.dml``: copy-on-write MERGE / UPDATE / DELETE / OPTIMIZE, measured.

Peers, measured in the same run: plain DuckDB running the same statement on a table in a DuckDB
database file holding the same rows (the limit for this work on one machine), and pyiceberg's
``Table.upsert`` for the MERGE it can finish. Timing: each run starts from a fresh copy of the
base table; the best of ``--repeat`` runs counts (oaklake and DuckDB runs alternate, so a busy
machine slows both). pyiceberg's upsert runs once, in a child process with a timeout.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.dml import cases, data, report
from bench.dml.report import Goal, Row

RESULTS = data.BENCH / "results" / "dml.json"
GOAL_VS_DUCKDB = Goal("oak/peer", "<=", 5.0)  # at most 5x DuckDB's native MERGE
GOAL_VS_UPSERT = Goal("peer/oak", ">=", 100.0)  # at least 100x faster than pyiceberg upsert
CASES = ("merge", "update", "delete", "optimize")


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.dml", description=__doc__)
    p.add_argument("--quick", action="store_true",
                   help="small sizes (100k-row table, 60 small files): a smoke run")  # fmt: skip
    p.add_argument("--repeat", type=int, default=3, help="timed runs per case; best counts")
    p.add_argument("--cases", default=",".join(CASES), help=f"subset of {','.join(CASES)}")
    p.add_argument("--skip-upsert", action="store_true", help="do not run pyiceberg's upsert")
    p.add_argument("--output", type=Path, default=RESULTS, help=f"JSON result (default {RESULTS})")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    if unknown := set(args.cases) - set(CASES):
        p.error(f"unknown case(s) {', '.join(sorted(unknown))}: choose from {', '.join(CASES)}")
    return args


def _warm_up(ws: data.Workspace) -> None:
    """Run every kind of statement once on a tiny table, so lazy imports and first-use costs
    are not timed."""
    lake = ws.lake
    t = f"{data.SCHEMA}.warm"
    lake.sql(f"CREATE TABLE {t} ({data.COLUMNS}) PARTITIONED BY ({data.PARTITIONING})")
    lake.table(t).append(ws.arrow(data.base_sql(200)))
    src = ws.arrow(data.source_sql(200, 20, 20))
    lake.table(t).merge(src, on=["id"])
    lake.sql(cases.MERGE_SQL.format(t=t, s=f"{data.SCHEMA}.src_small"))
    lake.sql(cases.UPDATE_SQL.format(t=t))
    lake.sql(cases.DELETE_CAT_SQL.format(t=t))
    lake.sql(f"OPTIMIZE {t} REWRITE DATA USING BIN_PACK")
    ws.duck.execute("CREATE OR REPLACE TABLE warm AS SELECT * FROM base LIMIT 1000")
    ws.duck.execute(cases.MERGE_SQL.format(t="warm", s="src_small"))
    ws.duck.execute("DROP TABLE warm")


def _run(ws: data.Workspace, args: argparse.Namespace) -> tuple[list[Row], list[Any], Any]:
    s = ws.sizes
    big = f"{s.merge_updates // 1000}k+{s.merge_inserts // 1000}k"
    small = f"{s.small_updates // 1000}k+{s.small_inserts // 1000}k"
    into = f"into {s.rows // 1000}k"
    rows: list[Row] = []
    outcomes: list[Any] = []
    upsert: dict[str, Any] = {}

    def step(label: str, fn: Any, *a: Any) -> Any:
        print(f"  {label} …", end="", flush=True)
        start = time.perf_counter()
        out = fn(*a)
        extra = ""
        if isinstance(out, cases.Outcome):
            outcomes.append(out)
            extra = f" oaklake {report.fmt(out.oaklake_s)} s, {out.peer} {report.fmt(out.peer_s)} s"
            if out.problems:
                extra += "  <-- " + "; ".join(out.problems)
        print(f" done in {time.perf_counter() - start:.1f} s.{extra}", flush=True)
        return out

    def statement(label: str, case: str, what: str, run: Any, duck_sql: str) -> cases.Outcome:
        return step(label, cases.statement_case, ws, case, what, run, duck_sql, args.repeat)

    if "merge" in args.cases:
        merges = {}
        for size, source in ((big, "src_big"), (small, "src_small")):
            duck_sql = cases.MERGE_SQL.format(t="{t}", s=source)
            key = "merge" if source == "src_big" else "merge_small"
            merges[(size, "SQL")] = statement(
                f"MERGE {size} {into} (SQL)", f"{key}_sql",
                f"MERGE INTO … USING src ({size} {into})",
                cases.sql_runner(ws, cases.MERGE_SQL, source), duck_sql,
            )  # fmt: skip
            merges[(size, "Python")] = statement(
                f"MERGE {size} {into} (Python)", f"{key}_python",
                f"lake.table().merge(arrow) ({size} {into})",
                cases.python_merge_runner(ws, source), duck_sql,
            )  # fmt: skip
        if not args.skip_upsert:
            label = f"pyiceberg upsert {small} {into} (timeout {s.upsert_timeout_s:.0f} s)"
            upsert = step(label, cases.upsert, ws, "src_small", s.upsert_timeout_s)
            if upsert.get("timed_out"):
                print(f"    upsert did not finish within {s.upsert_timeout_s:.0f} s")
            for p in upsert.get("problems", []):
                print(f"    upsert: {p}")
        unfinished = bool(upsert.get("timed_out"))
        upsert_s = upsert.get("wall_s") if unfinished else upsert.get("seconds")
        upsert_cpu = upsert.get("process_cpu_s") if unfinished else upsert.get("cpu_seconds")
        note = f"upsert stopped after {s.upsert_timeout_s:.0f} s: ratios are lower bounds"
        note = note if unfinished else ""
        for kind in ("SQL", "Python"):
            o = merges[(big, kind)]
            rows.append(
                Row(o, f"merge {big} {kind}", "duckdb MERGE", o.peer_s, goal=GOAL_VS_DUCKDB)
            )
        for kind in ("SQL", "Python"):
            o = merges[(small, kind)]
            rows.append(Row(o, f"merge {small} {kind}", "pyiceberg upsert", upsert_s, "peer/oak",
                            GOAL_VS_UPSERT, note, upsert_cpu, unfinished))  # fmt: skip
        o = merges[(small, "SQL")]
        rows.append(Row(o, f"merge {small} SQL", "duckdb MERGE", o.peer_s))
    if "update" in args.cases:
        o = statement(
            "UPDATE 10% of rows", "update_10pct", "UPDATE … SET v = v + 1 WHERE id % 10 = 0",
            cases.sql_runner(ws, cases.UPDATE_SQL), cases.UPDATE_SQL,
        )  # fmt: skip
        rows.append(Row(o, "update 10%", "duckdb UPDATE", o.peer_s))
    if "delete" in args.cases:
        o = statement(
            "DELETE one day (partition predicate)", "delete_day",
            "DELETE … WHERE ts in one day (whole partitions)",
            cases.sql_runner(ws, cases.DELETE_DAY_SQL), cases.DELETE_DAY_SQL,
        )  # fmt: skip
        rows.append(Row(o, "delete 1 day (partition)", "duckdb DELETE", o.peer_s))
        o = statement(
            "DELETE cat = 'c7' (non-partition predicate)", "delete_cat",
            "DELETE … WHERE cat = 'c7' (5% of rows, every file)",
            cases.sql_runner(ws, cases.DELETE_CAT_SQL), cases.DELETE_CAT_SQL,
        )  # fmt: skip
        rows.append(Row(o, "delete cat (non-partition)", "duckdb DELETE", o.peer_s))
    if "optimize" in args.cases:
        label = f"set up {s.small_files} small files (pyiceberg appends)"
        setup = step(label, cases.build_small_files, ws)
        o = step("OPTIMIZE", cases.optimize_case, ws, args.repeat, setup)
        note = "peer: DuckDB reading the same files and writing one Parquet file (a floor)"
        rows.append(Row(o, f"optimize {setup['files']} files", "duckdb copy", o.peer_s, note=note))
    return rows, outcomes, upsert


def _case_json(o: cases.Outcome) -> dict[str, Any]:
    return {
        "what": o.what,
        "oaklake_runs_s": [round(t, 4) for t in o.oaklake_runs_s],
        "peer": o.peer,
        "peer_runs_s": [round(t, 4) for t in o.peer_runs_s],
        "oaklake_cpu_s": [round(t, 4) for t in o.oaklake_cpu_s],
        "peer_cpu_s": [round(t, 4) for t in o.peer_cpu_s],
        "oaklake_phases_s": o.phases,
        "affected_rows": o.affected_rows,
        "peer_affected_rows": o.peer_affected_rows,
        "problems": o.problems,
        **o.extra,
    }


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    sizes = data.QUICK if args.quick else data.FULL
    load_start = os.getloadavg()
    print(f"DML benchmark ({'quick' if args.quick else 'full'}): {sizes.rows:,} rows partitioned "
          f"by {data.PARTITIONING}; best of {args.repeat} run(s) per case; "
          f"load average {load_start[0]:.1f}")  # fmt: skip
    ws = data.Workspace(data.WORK / ("quick" if args.quick else "full"), sizes)
    try:
        print("  building the base table and MERGE sources …", flush=True)
        ws.build()
        base_files = ws.base_files()
        print(f"  base: {sizes.rows:,} rows in {base_files} files "
              f"({ws.setup_s['base_and_sources']:.1f} s)")  # fmt: skip
        _warm_up(ws)
        rows, outcomes, upsert = _run(ws, args)
    finally:
        ws.close()
    load_end = os.getloadavg()

    print()
    report.print_table(rows)
    if args.quick:
        print("  (--quick: a smoke run; 100k rows in 480 partitions is all per-file overhead, so")
        print("   the goals, set for the full sizes, say little here)")
    print()
    report.print_phases(outcomes)
    problems = [f"{o.case}: {p}" for o in outcomes for p in o.problems]
    problems += [f"upsert: {p}" for p in upsert.get("problems", [])]
    for o in outcomes:
        if o.case == "optimize":
            x = o.extra
            print(f"\nOPTIMIZE: {x['files_before']} files ({x['bytes_on_disk']:,} bytes, "
                  f"{x['manifests']} manifests) -> {x.get('files_after')} files; target size "
                  f"{x['target_file_size_bytes']:,} bytes; a second OPTIMIZE rewrote "
                  f"{x.get('second_optimize_rewrote_files')} files")  # fmt: skip
    if problems:
        print("\n" + "!" * 78)
        print(f"!!! {len(problems)} PROBLEM(S)")
        for p in problems:
            print(f"!!! {p}")
    else:
        print(
            "\nchecks: every oaklake result equals DuckDB's (count, sum(v), id and row "
            "checksums); every statement committed exactly one snapshot"
        )

    machine = report.machine()
    machine["load_average_start_end"] = [round(load_start[0], 2), round(load_end[0], 2)]
    payload = {
        "benchmark": "dml",
        "mode": "quick" if args.quick else "full",
        "git": report.git_commit(),
        "versions": report.versions(),
        "machine": machine,
        "sizes": {**sizes.as_dict(), "base_files": base_files, "partitioning": data.PARTITIONING},
        "setup_s": ws.setup_s,
        "timing": f"best of {args.repeat} run(s), each on a fresh copy; only the statement timed",
        "rows": [r.as_dict() for r in rows],
        "cases": {o.case: _case_json(o) for o in outcomes},
        "pyiceberg_upsert": upsert,
        "problems": problems,
    }
    report.write_json(args.output, payload)
    print(f"\nwrote {args.output}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
