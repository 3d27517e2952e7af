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
import re
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


VERBATIM = "oaklake's staging statement, verbatim"
THREADED = "verbatim + sha256 thread (= _stage)"
INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT")


def variants(csv: Path, out: Path) -> dict[str, tuple[str, Path]]:
    """name -> (COPY statement, where it writes): the limit, then oaklake's options added one
    by one up to its staging statement (as ``_stage`` builds it at 6834588), then that
    statement with one option changed."""
    cols = _columns(csv)
    path = _lit(str(csv))
    ints = {n for n, t in cols if t in INTEGER_TYPES}

    def read(text_ints: bool, rejects: bool) -> str:
        types = {n: ("VARCHAR" if text_ints and n in ints else t) for n, t in cols}
        return (
            f"read_csv([{path}], delim=',', quote='\"', escape='\"', header=true, "
            "encoding='utf-8', nullstr='', max_line_size=2097152, strict_mode=true, "
            "auto_detect=false, columns={"
            + ", ".join(f"{_lit(n)}: {_lit(t)}" for n, t in types.items())
            + "}"
            + (
                ", store_rejects=true, rejects_table='rej', rejects_scan='rej_scans', "
                "rejects_limit=0"
                if rejects
                else ""
            )
            + ")"
        )

    def select(text_ints: bool) -> str:
        items = []
        for n, t in cols:
            v = f'"{n}"'
            if text_ints and n in ints:  # DuckDB's cast rounds "2.5": oaklake refuses fractions
                items.append(
                    f"CASE WHEN {v} IS NULL THEN NULL WHEN strpos({v}, '.') = 0 AND "
                    f"strpos({v}, 'e') = 0 AND strpos({v}, 'E') = 0 THEN CAST({v} AS {t}) "
                    f"ELSE error('not an integer') END AS {v}"
                )
            else:
                items.append(f"{v} AS {v}")
        return ", ".join(items)

    ids = "{" + ", ".join(f'"{n}": {i}' for i, (n, _) in enumerate(cols, 1)) + "}"
    file = out / "x.parquet"
    folder = out / "staged"
    split = f"FILENAME_PATTERN 'part-{{uuid}}', FILE_SIZE_BYTES {TARGET_FILE_SIZE}"

    def copy(
        options: str, *, text_ints: bool = True, rejects: bool = True, to: Path = folder
    ) -> tuple[str, Path]:
        source = read(text_ints, rejects)
        return f"COPY (SELECT {select(text_ints)} FROM {source}) TO {_lit(str(to))} ({options})", to

    zstd = "COMPRESSION zstd, COMPRESSION_LEVEL 1"  # _stage's codec since 6834588
    staging = f"FORMAT parquet, {zstd}, FIELD_IDS {ids}, {split}"
    return {
        "limit": (
            f"COPY (SELECT * FROM read_csv({path})) TO {_lit(str(file))} (FORMAT parquet)",
            file,
        ),
        "+ typed strict parse": copy("FORMAT parquet", text_ints=False, rejects=False, to=file),
        "+ store_rejects": copy("FORMAT parquet", text_ints=False, to=file),
        "+ integers read as text, checked": copy("FORMAT parquet", to=file),
        "+ zstd level 1": copy(f"FORMAT parquet, {zstd}", to=file),
        "+ FIELD_IDS": copy(f"FORMAT parquet, {zstd}, FIELD_IDS {ids}", to=file),
        "+ FILE_SIZE_BYTES = staging": copy(staging),
        "staging, snappy": copy(staging.replace(zstd, "COMPRESSION snappy")),
        "staging, zstd level 3 (default)": copy(staging.replace(zstd, "COMPRESSION zstd")),
        "staging, integers parsed directly": copy(staging, text_ints=False),
        "staging, no store_rejects": copy(staging, rejects=False),
    }


def verbatim(sql: str, out: Path) -> tuple[str, Path]:
    """oaklake's own staging statement, captured from an ingest, writing into ``out``."""
    to = out / "staged"
    found = re.search(r"\) TO '((?:[^']|'')*)' \(FORMAT", sql)
    if found is None:
        raise ValueError("cannot find the COPY target in the staging statement")
    return sql[: found.start(1)] + str(to).replace("'", "''") + sql[found.end(1) :], to


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


def staging_options(
    csv: Path, work: Path, repeat: int, captured: str | None, log: Any = print
) -> list[dict[str, Any]]:
    out = work / "breakdown"
    out.mkdir(parents=True, exist_ok=True)
    plan = variants(csv, out)
    order = list(plan)
    if captured is not None:  # right after the reconstruction it should match
        plan[VERBATIM] = verbatim(captured, out)
        order.insert(order.index("+ FILE_SIZE_BYTES = staging") + 1, VERBATIM)
    threaded = VERBATIM if captured is not None else "+ FILE_SIZE_BYTES = staging"
    names = [*order]
    names.insert(names.index(threaded) + 1, THREADED)
    runs: dict[str, list[tuple[float, float, int]]] = {n: [] for n in names}
    for round_ in range(repeat):
        for name in names:
            sql, to = plan[threaded if name == THREADED else name]
            runs[name].append(_copy_once(sql, to, csv if name == THREADED else None))
            wall, cpu, _ = runs[name][-1]
            log(
                f"    staging options {round_ + 1}/{repeat}: {name:36} {wall:6.2f} s "
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
            entry = {
                "seconds": round(time.perf_counter() - start, 4),
                "caller": " < ".join(f"{Path(f.filename).stem}.{f.name}" for f in stack[::-1]),
                "sql": " ".join(str(sql).split())[:160],
            }
            if str(sql).lstrip().upper().startswith("COPY") and "_stage" in entry["caller"]:
                entry["full_sql"] = str(sql)
            self._log.append(entry)


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
    staging = [
        s.pop("full_sql")
        for p in (first, second)
        for s in p["duckdb_statements"]
        if "full_sql" in s
    ]
    return {
        "fresh_workspace": first,
        "second_ingest_same_table": second,
        "staging_sql": staging[0] if staging else None,
    }


def measure(csv: Path, work: Path, rules: Path, repeat: int, log: Any = print) -> dict[str, Any]:
    log("\nbreakdown: two profiled ingests, staging COPY options, sha256, gate rules …", flush=True)
    start = report.load_average()
    profiled = profile(csv, work, rules)
    return {
        "load_average_start": start,
        "profile": profiled,
        "staging_options": staging_options(csv, work, repeat, profiled["staging_sql"], log),
        "checksum_alone": checksum_alone(csv, repeat),
        "gate_rules_s": gate(csv, work, rules, repeat, log),
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
