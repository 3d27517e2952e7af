"""Where oaklake's ingest time goes (``python -m bench.ingest --breakdown``).

1. The staging COPY against the limit's, one option at a time: the statement oaklake's
   ``ingest/load.py`` (``_stage``) runs, rebuilt here from its parts (typed strict CSV parse,
   ``store_rejects``, zstd, ``FIELD_IDS``, ``FILE_SIZE_BYTES``), each variant in a fresh plain
   DuckDB connection, in turns, best of ``repeat``; then the same with the sha256 thread beside
   it, and with other codecs.
2. The sha256 of the file alone.
3. The gate: each rule of the ruleset evaluated alone on a staged file (``evaluate`` as
   docs/dqdl.md shows it), the whole ruleset, and the whole ruleset on a snappy file.
4. One ingest profiled: every DuckDB statement it runs (timed through a wrapper around the
   engine's connection) and the cumulative time of oaklake's main functions (cProfile).
"""

from __future__ import annotations

import cProfile
import hashlib
import pstats
import shutil
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from bench.ingest import report

TARGET_FILE_SIZE = 536_870_912  # write.target-file-size-bytes default, as _stage passes it


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _columns(csv: Path) -> list[tuple[str, str]]:
    import duckdb

    con = duckdb.connect()
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM read_csv({_lit(str(csv))})").fetchall()
    finally:
        con.close()
    return [(str(r[0]), str(r[1])) for r in rows]


def variants(csv: Path, out: Path) -> dict[str, tuple[str, Path]]:
    """name -> (COPY statement, where it writes): the limit, then oaklake's options added one
    by one up to the staging statement itself, then that statement with other codecs."""
    cols = _columns(csv)
    path = _lit(str(csv))
    typed = (
        f"read_csv([{path}], delim=',', quote='\"', escape='\"', header=true, "
        "encoding='utf-8', nullstr='', max_line_size=2097152, strict_mode=true, "
        "auto_detect=false, columns={" + ", ".join(f"{_lit(n)}: {_lit(t)}" for n, t in cols) + "}"
    )
    rejects = "store_rejects=true, rejects_table='rej', rejects_scan='rej_scans', rejects_limit=0"
    select = ", ".join(f'"{n}" AS "{n}"' for n, _ in cols)
    ids = "{" + ", ".join(f'"{n}": {i}' for i, (n, _) in enumerate(cols, 1)) + "}"
    file = out / "x.parquet"
    folder = out / "staged"

    def copy(source: str, options: str, to: Path) -> tuple[str, Path]:
        return f"COPY (SELECT {select} FROM {source}) TO {_lit(str(to))} ({options})", to

    split = f"FILENAME_PATTERN 'part-{{uuid}}', FILE_SIZE_BYTES {TARGET_FILE_SIZE}"
    staging_src = f"{typed}, {rejects})"
    return {
        "limit": (
            f"COPY (SELECT * FROM read_csv({path})) TO {_lit(str(file))} (FORMAT parquet)",
            file,
        ),
        "+ typed strict parse": copy(f"{typed})", "FORMAT parquet", file),
        "+ store_rejects": copy(staging_src, "FORMAT parquet", file),
        "+ zstd": copy(staging_src, "FORMAT parquet, COMPRESSION zstd", file),
        "+ FIELD_IDS": copy(
            staging_src, f"FORMAT parquet, COMPRESSION zstd, FIELD_IDS {ids}", file
        ),
        "+ FILE_SIZE_BYTES = staging": copy(
            staging_src, f"FORMAT parquet, COMPRESSION zstd, FIELD_IDS {ids}, {split}", folder
        ),
        "staging, snappy": copy(
            staging_src, f"FORMAT parquet, COMPRESSION snappy, FIELD_IDS {ids}, {split}", folder
        ),
        "staging, zstd level 1": copy(
            staging_src,
            f"FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, FIELD_IDS {ids}, {split}",
            folder,
        ),
    }


def sha256(path: Path) -> str:
    """As oaklake's ingest/sources.py reads it: 4 MiB unbuffered reads."""
    digest = hashlib.sha256()
    with path.open("rb", buffering=0) as fh:
        buf = bytearray(4 << 20)
        view = memoryview(buf)
        while n := fh.readinto(buf):
            digest.update(view[:n])
    return digest.hexdigest()


def _copy_once(sql: str, to: Path, csv: Path | None) -> tuple[float, float, int]:
    """One COPY in a fresh connection (with the sha256 of ``csv`` beside it when given):
    wall seconds, this process's CPU seconds, bytes written."""
    import duckdb

    if to.is_dir():
        shutil.rmtree(to)
    to.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        con.execute("select 1").fetchall()
        cpu = time.process_time()
        start = time.perf_counter()
        thread = None
        if csv is not None:
            thread = threading.Thread(target=sha256, args=(csv,))
            thread.start()
        con.execute(sql).fetchall()
        if thread is not None:
            thread.join()
        wall, used = time.perf_counter() - start, time.process_time() - cpu
    finally:
        con.close()
    size = sum(p.stat().st_size for p in to.rglob("*")) if to.is_dir() else to.stat().st_size
    return wall, used, size


def staging_options(csv: Path, work: Path, repeat: int, log: Any = print) -> list[dict[str, Any]]:
    out = work / "breakdown"
    out.mkdir(parents=True, exist_ok=True)
    plan = variants(csv, out)
    names = [*plan, "staging + sha256 thread"]
    runs: dict[str, list[tuple[float, float, int]]] = {n: [] for n in names}
    for round_ in range(repeat):
        for name in names:
            sql, to = plan["+ FILE_SIZE_BYTES = staging" if name.endswith("thread") else name]
            runs[name].append(_copy_once(sql, to, csv if name.endswith("thread") else None))
            wall, cpu, _ = runs[name][-1]
            log(
                f"    staging options {round_ + 1}/{repeat}: {name:28} {wall:6.2f} s "
                f"(cpu {cpu:6.2f} s)",
                flush=True,
            )
    shutil.rmtree(out, ignore_errors=True)
    limit = min(r[0] for r in runs["limit"])
    limit_cpu = min(r[1] for r in runs["limit"])
    rows = []
    for name in names:
        best = min(runs[name], key=lambda r: r[0])
        rows.append(
            {
                "variant": name,
                "best_s": round(best[0], 3),
                "x_limit": round(best[0] / limit, 3),
                "min_cpu_s": round(min(r[1] for r in runs[name]), 3),
                "cpu_x_limit": round(min(r[1] for r in runs[name]) / limit_cpu, 3),
                "bytes": best[2],
                "runs_s": [round(r[0], 3) for r in runs[name]],
            }
        )
    rows.append({"variant": "sql", "statements": {n: plan[n][0] for n in plan}})
    return rows


def checksum_alone(csv: Path, repeat: int) -> dict[str, Any]:
    runs = []
    for _ in range(repeat):
        cpu = time.process_time()
        start = time.perf_counter()
        sha256(csv)
        runs.append((time.perf_counter() - start, time.process_time() - cpu))
    best = min(runs)
    return {
        "best_s": round(best[0], 3),
        "cpu_s": round(best[1], 3),
        "mb_per_s": round(csv.stat().st_size / best[0] / 1e6),
    }


def _rules(text: str) -> list[str]:
    """The rules of a ``Rules = [ … ]`` ruleset, one per line (as bench/ingest/rules.dqdl)."""
    body = text[text.index("[", text.index("Rules")) + 1 : text.rindex("]")]
    return [line.strip().rstrip(",") for line in body.splitlines() if line.strip()]


def gate(csv: Path, work: Path, rules: Path, repeat: int, log: Any = print) -> dict[str, Any]:
    """Each rule alone, and the ruleset, on a staged (zstd) file; the ruleset on snappy too."""
    import oaklake
    from oaklake.quality.dataset import Dataset
    from oaklake.quality.evaluate import evaluate
    from oaklake.quality.parse import parse_ruleset

    out = work / "breakdown-gate"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    plan = variants(csv, out)
    files = {}
    for codec, name in (("zstd", "+ FIELD_IDS"), ("snappy", "+ store_rejects")):
        sql, to = plan[name]
        _copy_once(sql, to, None)
        files[codec] = to.rename(out / f"{codec}.parquet")
    text = rules.read_text()
    cases = {f"[{i}] {r}": f"Rules = [ {r} ]" for i, r in enumerate(_rules(text), 1)}
    cases["all 10 rules (zstd file)"] = text
    cases["all 10 rules (snappy file)"] = text
    lake = oaklake.init(out / "ws")
    times: dict[str, list[float]] = {k: [] for k in cases}
    try:
        for round_ in range(repeat + 1):  # the first round warms up
            for name, ruleset in cases.items():
                path = files["snappy" if "snappy" in name else "zstd"]
                parsed = parse_ruleset(ruleset)
                start = time.perf_counter()
                result = evaluate(lake.engine, parsed, Dataset.of_file(path, name="bench.t"))
                seconds = time.perf_counter() - start
                if any(r.outcome != "Passed" for r in result.rules):
                    raise RuntimeError(f"gate breakdown: {name} did not pass")
                if round_:
                    times[name].append(seconds)
            log(f"    gate rules: round {round_}/{repeat} done", flush=True)
    finally:
        lake.close()
        shutil.rmtree(out, ignore_errors=True)
    return {name: round(min(t), 3) for name, t in times.items()}


class _Timed:
    """The engine's DuckDB connection, with every ``execute`` timed (and its caller noted)."""

    def __init__(self, con: Any, log: list[dict[str, Any]]) -> None:
        self._con = con
        self._log = log

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self._con.execute(sql, *args, **kwargs)
        finally:
            stack = traceback.extract_stack(limit=4)[:-1]
            self._log.append(
                {
                    "seconds": round(time.perf_counter() - start, 4),
                    "caller": " < ".join(f"{Path(f.filename).stem}.{f.name}" for f in stack[::-1]),
                    "sql": " ".join(str(sql).split())[:160],
                }
            )


FUNCTIONS = (  # (file, function) whose cumulative time the profile reports
    ("ingest/read.py", "reader_for"),
    ("ingest/load.py", "_target"),
    ("ingest/load.py", "_stage"),
    ("ingest/read.py", "first_reject"),
    ("ingest/load.py", "_gate"),
    ("quality/evaluate.py", "evaluate"),
    ("quality/store.py", "record"),
    ("quality/store.py", "ensure_tables"),
    ("ingest/load.py", "_commit"),
    ("ingest/load.py", "_create"),
    ("catalog/commit.py", "adopt_parquet_files"),
    ("catalog/commit.py", "commit_files"),
    ("ingest/ledger.py", "repair"),
    ("ingest/ledger.py", "known"),
    ("ingest/ledger.py", "record"),
)


def _profiled(lake: Any, csv: Path, rules: Path, force: bool) -> dict[str, Any]:
    statements: list[dict[str, Any]] = []
    engine = lake.engine
    wrapped = hasattr(engine, "_con")
    if wrapped:  # oaklake's own attribute; without it, the profile still runs
        real = engine._con
        engine._con = _Timed(real, statements)
    prof = cProfile.Profile()
    start = time.perf_counter()
    try:
        prof.enable()
        lake.ingest(csv, "bench.t", rules=rules, notify=False, force=force)
        prof.disable()
    finally:
        if wrapped:
            engine._con = real
    total = time.perf_counter() - start
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    functions: dict[str, float] = {}
    for (filename, _, func), (_, _, _, cumulative, _) in stats.items():
        for suffix, name in FUNCTIONS:
            if func == name and filename.endswith(suffix):
                key = _key(suffix, name)
                functions[key] = round(functions.get(key, 0.0) + cumulative, 3)
    ordered = [_key(s, n) for s, n in FUNCTIONS]
    return {
        "total_s": round(total, 3),
        "functions_cumulative_s": {k: functions[k] for k in ordered if k in functions},
        "duckdb_statements": statements,
        "duckdb_total_s": round(sum(s["seconds"] for s in statements), 3),
    }


def _key(suffix: str, name: str) -> str:
    return f"{suffix.removesuffix('.py').replace('/', '.')}.{name}"


def profile(csv: Path, work: Path, rules: Path) -> dict[str, Any]:
    """Two ingests (10 rules) profiled, not among the timed runs: the first into a fresh
    workspace (as the benchmark times it: the table and oaklake's system tables are created),
    the second into the same table again (``force=True``: the ledger would skip the file)."""
    import oaklake

    folder = work / "breakdown-profile"
    shutil.rmtree(folder, ignore_errors=True)
    lake = oaklake.init(folder)
    try:
        lake.sql("CREATE SCHEMA bench")
        lake.sql("select 1")
        first = _profiled(lake, csv, rules, force=False)
        second = _profiled(lake, csv, rules, force=True)
    finally:
        lake.close()
        shutil.rmtree(folder, ignore_errors=True)
    return {"fresh_workspace": first, "second_ingest_same_table": second}


def measure(csv: Path, work: Path, rules: Path, repeat: int, log: Any = print) -> dict[str, Any]:
    log("\nbreakdown: staging COPY options, sha256, gate rules, one profiled ingest …", flush=True)
    return {
        "load_average_start": report.load_average(),
        "staging_options": staging_options(csv, work, repeat, log),
        "checksum_alone": checksum_alone(csv, repeat),
        "gate_rules_s": gate(csv, work, rules, repeat, log),
        "profile": profile(csv, work, rules),
        "load_average_end": report.load_average(),
    }


def print_breakdown(b: dict[str, Any]) -> None:
    print(
        "breakdown 1: the staging COPY, oaklake's options added one at a time "
        "(fresh plain DuckDB connection each, best of the runs):"
    )
    lines = [
        (
            r["variant"],
            report.fmt(r["best_s"]),
            report.fmt(r["x_limit"]),
            report.fmt(r["min_cpu_s"]),
            report.fmt(r["cpu_x_limit"]),
            f"{r['bytes'] / 1e6:,.0f}",
        )
        for r in b["staging_options"]
        if "best_s" in r
    ]
    header = ("variant", "seconds", "x limit", "cpu s", "cpu x limit", "MB")
    print("\n".join("  " + t for t in report.table(header, lines)))
    c = b["checksum_alone"]
    print(
        f"breakdown 2: sha256 of the CSV alone: {c['best_s']:.2f} s "
        f"(cpu {c['cpu_s']:.2f} s, {c['mb_per_s']} MB/s)"
    )
    print("breakdown 3: the gate, each rule evaluated alone on the staged file (best, seconds):")
    for name, seconds in b["gate_rules_s"].items():
        print(f"  {seconds:7.2f}  {name}")
    for key, label in (
        ("fresh_workspace", "into a fresh workspace (as timed)"),
        ("second_ingest_same_table", "again into the same table (force)"),
    ):
        p = b["profile"][key]
        print(
            f"breakdown 4: one ingest {label}, profiled ({p['total_s']:.2f} s under cProfile); "
            "cumulative seconds of oaklake's functions:"
        )
        for name, seconds in p["functions_cumulative_s"].items():
            print(f"  {seconds:7.2f}  {name}")
        print(
            f"  DuckDB statements over 50 ms (of {len(p['duckdb_statements'])}, "
            f"{p['duckdb_total_s']:.2f} s in all):"
        )
        for s in p["duckdb_statements"]:
            if s["seconds"] >= 0.05:
                print(f"  {s['seconds']:7.2f}  {s['caller']}: {s['sql'][:90]}")
