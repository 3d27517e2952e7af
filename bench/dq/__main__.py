"""``uv run python -m bench.dq``: a 20-rule DQDL suite on 10M rows, oaklake vs GX, Soda, DuckDB.

Generates ``--rows`` rows (default 10M) into a Parquet file, then checks the same 20 rules five
ways in one run: oaklake's evaluator alone, oaklake's ``dq_run`` end to end (recording the run in
a fresh workspace), one hand-written DuckDB query computing the same metrics (the limit), Great
Expectations on a pandas DataFrame read from the file, and Soda Core on a DuckDB view of it.

Timing: one warm-up run of each system, then ``--repeat`` rounds (default 3) in which the systems
take turns (each round starting one system later), so a busy spell on the machine slows each of
them alike; the best run counts. CPU seconds (every thread) are reported beside the wall time:
on a busy machine they say more than the wall time about how much work each system does.
Every system's pass/fail must agree rule by rule, and oaklake's metrics must equal the limit's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.dq import data, report, systems
from bench.dq.gx_suite import NOTES as GX_NOTES
from bench.dq.gx_suite import TUNED as GX_TUNED
from bench.tpch.report import REPO, fmt, load_average, machine, write_json

RESULTS = data.BENCH / "results" / "dq.json"
GOAL_VS_GX = 10.0  # at least 10x faster than Great Expectations
GOAL_VS_LIMIT = 1.5  # at most 1.5x the hand-written DuckDB query


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.dq", description=__doc__)
    p.add_argument("--rows", type=int, default=10_000_000, help="rows to generate (default 10M)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs after 1 warm-up; best counts")
    p.add_argument("--skip-gx", action="store_true", help="do not run Great Expectations")
    p.add_argument("--skip-soda", action="store_true", help="do not run Soda Core")
    p.add_argument("--output", type=Path, default=RESULTS, help=f"JSON result (default {RESULTS})")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.rows < 1:
        p.error("--rows must be at least 1")
    return args


def _git_state() -> dict[str, Any]:
    """The commit measured, taken at the start (others may commit during a long run), and any
    uncommitted changes under src/ then: those were measured too."""
    import subprocess

    def git(*a: str) -> str:
        out = subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True, check=False)
        return out.stdout

    dirty = [line[3:] for line in git("status", "--porcelain", "--", "src").splitlines() if line]
    return {"commit": git("rev-parse", "HEAD").strip() or None, "src_uncommitted": dirty}


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _verdict(value: float | None, goal: float, at_most: bool) -> str:
    if value is None:
        return "not measured"
    return "met" if (value <= goal if at_most else value >= goal) else "MISSED"


def _measure(
    runners: dict[str, Any], repeat: int
) -> tuple[dict[str, dict[str, Any]], dict[str, Any], list[str]]:
    """Warm-up, then ``repeat`` rounds of every runner in turn; each round starts one system
    later than the one before, so that no system always runs right after the same one (GX
    leaves a multi-GB DataFrame to free, Soda a child process to go idle)."""
    timings: dict[str, dict[str, Any]] = {
        n: {"warmup_s": None, "runs_s": [], "cpu_s": [], "extra": {}} for n in runners
    }
    last: dict[str, Any] = {}
    problems: list[str] = []
    failed: set[str] = set()
    for round_ in range(repeat + 1):
        label = "warm-up" if round_ == 0 else f"round {round_}/{repeat}"
        parts = []
        names = list(runners)
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            runner = runners[name]
            if name in failed:
                continue
            cpu = time.process_time()
            try:
                run = runner.run()
                if run.cpu_s is None:  # in this process: every thread's CPU time
                    run.cpu_s = time.process_time() - cpu
            except Exception as e:  # reported; the other systems still run
                problems.append(f"{name} FAILED: {type(e).__name__}: {e}")
                failed.add(name)
                continue
            if name in last and last[name].passed != run.passed:
                problems.append(f"{name}: outcomes changed between runs")
            last[name] = run
            t = timings[name]
            if round_ == 0:
                t["warmup_s"] = run.seconds
            else:
                t["runs_s"].append(run.seconds)
                t["cpu_s"].append(run.cpu_s)
                for key, value in run.extra.items():
                    t["extra"].setdefault(key, []).append(value)
            parts.append(f"{name} {run.seconds:.2f} s")
        print(f"  {label}: " + ", ".join(parts), flush=True)
    for name in failed:
        timings[name]["runs_s"] = []
        last.pop(name, None)
    return timings, last, problems


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    cores = os.cpu_count() or 1
    load_at_start = load_average()
    git_state = _git_state()
    print(f"data-quality benchmark: 20 DQDL rules on {args.rows:,} rows")
    print(
        f"timing: best of {args.repeat} runs after 1 warm-up per system, the systems taking "
        f"turns; load average at start {load_at_start} on {cores} cores"
    )
    if load_at_start[0] > cores:
        print(f"WARNING: the machine is busy (load {load_at_start[0]:.1f} on {cores} cores): "
              "timings will be noisy")  # fmt: skip
    generated = data.generate(args.rows)
    path = data.path_for(args.rows)
    if not args.skip_soda:
        generated["soda_env_install_s"] = round(systems.install_peers(), 2)

    import oaklake

    versions = systems.python_versions()
    runners: dict[str, Any] = {}
    closers: list[Any] = []
    with tempfile.TemporaryDirectory(prefix="workspace-", dir=data.WORK) as folder:
        lake = oaklake.init(folder)
        closers.append(lake)
        try:
            con = lake.engine.con
            # The DuckDB progress bar is printed on stdout for scans over 2 s: off in every
            # connection measured (oaklake's, the limit's, Soda's), so no one pays for it.
            con.execute("SET enable_progress_bar = false")
            threads = int(con.execute("SELECT current_setting('threads')").fetchone()[0])
            evaluate = systems.OaklakeEvaluate(lake, path)
            runners["oaklake"] = evaluate
            runners["dq_run"] = systems.OaklakeDqRun(lake, path)
            runners["limit"] = systems.LimitRunner(path, threads)
            closers.append(runners["limit"])
            if not args.skip_gx:
                runners["gx"] = systems.GxRunner(path)
                runners["gx_tuned"] = systems.GxRunner(path, tuned=True)
            if not args.skip_soda:
                soda = systems.SodaRunner(path, threads)
                closers.append(soda)
                runners["soda"] = soda
                versions.update(soda.versions)
            print(f"DuckDB threads: {threads} (oaklake, the limit and Soda alike; GX: pandas)")
            timings, last, problems = _measure(runners, args.repeat)
        finally:
            for c in reversed(closers):
                c.close()

    labels = {
        "oaklake": "oaklake evaluate()",
        "dq_run": "oaklake dq_run() end to end",
        "limit": "limit: 1 hand-written DuckDB query",
        "gx": "Great Expectations (read + validate)",
        "gx_validate": "  GX validate only",
        "gx_read": "  GX pandas.read_parquet only",
        "gx_tuned": "GX tuned dtypes (read + validate)",
        "gx_tuned_validate": "  GX tuned validate only",
        "soda": "Soda Core scan",
    }
    best = {n: (min(t["runs_s"]) if t["runs_s"] else None) for n, t in timings.items()}
    best_cpu = {n: (min(t["cpu_s"]) if t["cpu_s"] else None) for n, t in timings.items()}
    for gx in ("gx", "gx_tuned"):
        for part in ("validate", "read"):
            extra = timings.get(gx, {}).get("extra", {}).get(f"{part}_s")
            if extra:
                best[f"{gx}_{part}"] = min(extra)
    oak = best.get("oaklake")
    rows: list[dict[str, Any]] = []
    for key, label in labels.items():
        if key not in best:
            continue
        if key in timings:
            t = timings[key]
            runs = t["runs_s"]
        else:  # a part of a GX run: gx_read, gx_tuned_validate …
            system, part = key.rsplit("_", 1)
            t = {"warmup_s": None}
            runs = timings[system]["extra"][f"{part}_s"]
        rows.append({
            "system": key,
            "label": label,
            "best_s": _round(best[key]),
            "warmup_s": _round(t["warmup_s"]),
            "runs_s": [_round(x) for x in runs],
            "over_oaklake": _round(report.over(best[key], oak), 3),
            "best_cpu_s": _round(best_cpu.get(key)),
            "cpu_over_oaklake": _round(report.over(best_cpu.get(key), best_cpu.get("oaklake")), 3),
        })  # fmt: skip

    print()
    report.print_timings(rows)

    texts = runners["oaklake"].texts
    outcomes = {n: r.passed for n, r in last.items()}
    print()
    print("pass/fail per rule (every system must agree):")
    disagree = report.print_agreement(texts, outcomes)
    for i in disagree:
        problems.append(f"rule {i} ({texts[i - 1]}): the systems disagree")
    metric_problems: list[str] = []
    if "oaklake" in last and "limit" in last:
        metric_problems = report.compare_metrics(last["oaklake"].values, last["limit"].values, {13})
        problems += [f"metric mismatch: {p}" for p in metric_problems]

    ratios = {
        "gx_over_oaklake": report.over(best.get("gx"), oak),
        "gx_over_dq_run": report.over(best.get("gx"), best.get("dq_run")),
        "gx_validate_over_oaklake": report.over(best.get("gx_validate"), oak),
        "gx_over_limit": report.over(best.get("gx"), best.get("limit")),
        "gx_tuned_over_oaklake": report.over(best.get("gx_tuned"), oak),
        "gx_tuned_over_dq_run": report.over(best.get("gx_tuned"), best.get("dq_run")),
        "oaklake_over_limit": report.over(oak, best.get("limit")),
        "dq_run_over_limit": report.over(best.get("dq_run"), best.get("limit")),
        "soda_over_oaklake": report.over(best.get("soda"), oak),
        "soda_over_dq_run": report.over(best.get("soda"), best.get("dq_run")),
        "soda_over_limit": report.over(best.get("soda"), best.get("limit")),
        "cpu_gx_over_oaklake": report.over(best_cpu.get("gx"), best_cpu.get("oaklake")),
        "cpu_oaklake_over_limit": report.over(best_cpu.get("oaklake"), best_cpu.get("limit")),
    }
    goals = {
        "faster_than_gx": {
            "value": _round(ratios["gx_over_oaklake"], 3),
            "goal": f"GX / oaklake evaluate >= {GOAL_VS_GX:g}",
            "verdict": _verdict(ratios["gx_over_oaklake"], GOAL_VS_GX, at_most=False),
        },
        "faster_than_gx_tuned": {
            "value": _round(ratios["gx_tuned_over_oaklake"], 3),
            "goal": f"GX tuned / oaklake evaluate >= {GOAL_VS_GX:g}",
            "verdict": _verdict(ratios["gx_tuned_over_oaklake"], GOAL_VS_GX, at_most=False),
        },
        "near_the_limit": {
            "value": _round(ratios["oaklake_over_limit"], 3),
            "goal": f"oaklake evaluate / limit <= {GOAL_VS_LIMIT:g}",
            "verdict": _verdict(ratios["oaklake_over_limit"], GOAL_VS_LIMIT, at_most=True),
        },
    }
    print()
    print("goals:")
    print(
        f"  >= {GOAL_VS_GX:g}x faster than GX  -> {goals['faster_than_gx']['verdict']} "
        f"({fmt(ratios['gx_over_oaklake'], 2)}x: GX read+validate / oaklake evaluate; "
        f"end to end, GX / dq_run: {fmt(ratios['gx_over_dq_run'], 2)}x; "
        f"GX validate only / oaklake evaluate: {fmt(ratios['gx_validate_over_oaklake'], 2)}x)"
    )
    print(
        f"       the limit itself is {fmt(ratios['gx_over_limit'], 2)}x faster than GX; "
        f"in CPU seconds, GX / oaklake evaluate = {fmt(ratios['cpu_gx_over_oaklake'], 2)}x"
    )
    print(
        f"       against GX with tuned dtypes: {fmt(ratios['gx_tuned_over_oaklake'], 2)}x "
        f"({_verdict(ratios['gx_tuned_over_oaklake'], GOAL_VS_GX, at_most=False)}); "
        f"end to end, GX tuned / dq_run: {fmt(ratios['gx_tuned_over_dq_run'], 2)}x"
    )
    print(
        f"  <= {GOAL_VS_LIMIT:g}x the limit        -> {goals['near_the_limit']['verdict']} "
        f"({fmt(ratios['oaklake_over_limit'], 2)}x: oaklake evaluate / limit; "
        f"end to end, dq_run / limit: {fmt(ratios['dq_run_over_limit'], 2)}x; "
        f"in CPU seconds: {fmt(ratios['cpu_oaklake_over_limit'], 2)}x)"
    )
    print(
        f"  Soda (no goal): Soda / oaklake evaluate = {fmt(ratios['soda_over_oaklake'], 2)}x, "
        f"Soda / dq_run = {fmt(ratios['soda_over_dq_run'], 2)}x, "
        f"Soda / limit = {fmt(ratios['soda_over_limit'], 2)}x"
    )

    print()
    print("notes on semantics:")
    for i, note in sorted(GX_NOTES.items()):
        print(f"  GX   rule {i:2d}: {note}")
    print(f"  {GX_TUNED}")
    for i, note in sorted(report.SODA_NOTES.items()):
        print(f"  Soda rule {i:2d}: {note}")
    print(f"  limit: {report.LIMIT_NOTE}")
    if "oaklake" in last and "limit" in last:
        compared = systems.RULE_COUNT - 1
        print(
            f"  oaklake's metrics vs the limit's: {compared - len(metric_problems)} of {compared} "
            "equal (relative tolerance 1e-9)"
        )
    print(
        "  Soda runs in its own environment (bench/dq/peers: soda-core-duckdb pins duckdb<1.1), "
        f"so on DuckDB {versions.get('duckdb (soda' + chr(39) + 's)', '?')} instead of "
        f"{versions.get('duckdb')}; it is timed inside its process around Scan.execute()"
    )

    load_at_end = load_average()
    print(f"\nload average: {load_at_start} at start, {load_at_end} at end ({cores} cores)")
    if problems:
        print()
        print("!" * 78)
        print(f"!!! {len(problems)} PROBLEM(S)")
        for p in problems:
            print(f"!!!   {p}")
        print("!" * 78)

    per_rule = []
    for i, text in enumerate(texts, start=1):
        entry: dict[str, Any] = {"rule": i, "dqdl": text}
        for name, run in last.items():
            entry[name] = {"passed": run.passed[i - 1], "value": run.values[i - 1]}
        entry["gx_note"] = GX_NOTES.get(i)
        entry["soda_note"] = report.SODA_NOTES.get(i)
        per_rule.append(entry)
    write_json(
        args.output,
        {
            "benchmark": "data quality: 20 DQDL rules",
            "rows": args.rows,
            "timing": f"best of {args.repeat} runs after 1 warm-up, systems taking turns; "
            "CPU seconds are the process's (every thread), Soda's measured in its worker",
            "repeat": args.repeat,
            "method": {
                "oaklake": "evaluate(lake.engine, ruleset, Dataset.of_file(parquet)); ruleset "
                "parsed once outside the timing",
                "dq_run": "lake.dq_run('bench/dq/rules.dqdl', file=parquet, notify=False) on a "
                "workspace made by oaklake.init() at the start of the run; records every run "
                "in the oaklake_system Iceberg tables",
                "limit": "one hand-written DuckDB query (bench/dq/limit.py) over read_parquet, "
                "same thread count as oaklake's connection",
                "gx": "Great Expectations: pandas.read_parquet + batch.validate(suite, "
                "result_format=BASIC) on an ephemeral context's pandas datasource "
                "(bench/dq/gx_suite.py)",
                "gx_tuned": "the same, with quantity retyped to int64 and signup_date to "
                "datetime64[ns] after reading (timed with the read) so that GX's between checks "
                "are vectorised",
                "soda": "Soda Core scan of bench/dq/soda_checks.yml over a DuckDB view on "
                "read_parquet, in a long-lived child process (bench/dq/peers environment), "
                "timed around Scan.execute()",
            },
            "git_commit": git_state["commit"],
            "src_uncommitted_at_start": git_state["src_uncommitted"],
            "machine": {
                **machine(),
                "load_average_at_start": load_at_start,
                "duckdb_threads": threads,
            },
            "versions": versions,
            "data": generated,
            "results": rows,
            "ratios": {k: _round(v, 3) for k, v in ratios.items()},
            "goals": goals,
            "rules": per_rule,
            "problems": problems,
        },
    )
    print(f"\nresults written to {data.shown(args.output)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
