"""TPC-H data: generate Parquet with tpchgen-cli, load it into an oaklake workspace.

Both steps are skipped when their output is already there and complete, so a second run only
measures. The workspace counts as complete when every table's current snapshot holds exactly the
rows of its generated Parquet file; anything less is thrown away and loaded again.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[1]
DATA_ROOT = BENCH / "data"
WORK_ROOT = BENCH / "work"

# Athena DDL for the eight tables. Iceberg has no char(n)/varchar(n) limits, so text is string;
# money is decimal(15,2) and dates are date, as in the TPC-H specification.
TABLES: dict[str, tuple[str, str | None]] = {
    "region": ("r_regionkey bigint, r_name string, r_comment string", None),
    "nation": (
        "n_nationkey bigint, n_name string, n_regionkey bigint, n_comment string",
        None,
    ),
    "supplier": (
        "s_suppkey bigint, s_name string, s_address string, s_nationkey bigint, s_phone string, "
        "s_acctbal decimal(15,2), s_comment string",
        None,
    ),
    "customer": (
        "c_custkey bigint, c_name string, c_address string, c_nationkey bigint, c_phone string, "
        "c_acctbal decimal(15,2), c_mktsegment string, c_comment string",
        None,
    ),
    "part": (
        "p_partkey bigint, p_name string, p_mfgr string, p_brand string, p_type string, "
        "p_size int, p_container string, p_retailprice decimal(15,2), p_comment string",
        None,
    ),
    "partsupp": (
        "ps_partkey bigint, ps_suppkey bigint, ps_availqty int, ps_supplycost decimal(15,2), "
        "ps_comment string",
        None,
    ),
    "orders": (
        "o_orderkey bigint, o_custkey bigint, o_orderstatus string, o_totalprice decimal(15,2), "
        "o_orderdate date, o_orderpriority string, o_clerk string, o_shippriority int, "
        "o_comment string",
        "month(o_orderdate)",
    ),
    "lineitem": (
        "l_orderkey bigint, l_partkey bigint, l_suppkey bigint, l_linenumber int, "
        "l_quantity decimal(15,2), l_extendedprice decimal(15,2), l_discount decimal(15,2), "
        "l_tax decimal(15,2), l_returnflag string, l_linestatus string, l_shipdate date, "
        "l_commitdate date, l_receiptdate date, l_shipinstruct string, l_shipmode string, "
        "l_comment string",
        "month(l_shipdate)",
    ),
}


def _shown(path: Path) -> str:
    """Paths in results are relative to the repository, so the JSON reads the same anywhere."""
    try:
        return str(path.relative_to(BENCH.parent))
    except ValueError:
        return str(path)


def scale_tag(scale: float) -> str:
    return f"sf{scale:g}"


def data_dir(scale: float) -> Path:
    return DATA_ROOT / scale_tag(scale)


def workspace_dir(scale: float) -> Path:
    return WORK_ROOT / f"tpch-{scale_tag(scale)}"


def _tpchgen() -> str:
    here = Path(sys.executable).parent / "tpchgen-cli"
    found = str(here) if here.exists() else shutil.which("tpchgen-cli")
    if not found:
        raise SystemExit("tpchgen-cli not found: run `uv sync --all-groups` (it is in group bench)")
    return found


def _tpchgen_version() -> str:
    out = subprocess.run([_tpchgen(), "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip().removeprefix("tpchgen-cli ").strip() or "unknown"


def generate(scale: float, log: Any = print) -> dict[str, Any]:
    """Parquet files for every table in ``bench/data/sf<scale>/`` (generated once)."""
    target = data_dir(scale)
    info: dict[str, Any] = {"path": _shown(target), "tpchgen_cli": _tpchgen_version()}
    if all((target / f"{t}.parquet").exists() for t in TABLES):
        log(f"data: reusing {target}")
        info["generated_s"] = None
        return info
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    log(f"data: generating TPC-H scale {scale:g} with tpchgen-cli into {target} …")
    start = time.perf_counter()
    subprocess.run(
        [_tpchgen(), "parquet", "-s", f"{scale:g}", "--output-dir", str(tmp)], check=True
    )
    info["generated_s"] = round(time.perf_counter() - start, 2)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    log(f"data: generated in {info['generated_s']} s")
    return info


def parquet_rows(scale: float) -> dict[str, int]:
    import pyarrow.parquet as pq

    return {t: pq.ParquetFile(data_dir(scale) / f"{t}.parquet").metadata.num_rows for t in TABLES}


def _loaded_rows(lake: Any, table: str) -> int | None:
    if not lake.catalog.table_exists("tpch", table):
        return None
    snap = lake.engine.load_table("tpch", table).current_snapshot()
    if snap is None or snap.summary is None:
        return 0
    return int(snap.summary.additional_properties.get("total-records", 0))


def load(scale: float, log: Any = print) -> dict[str, Any]:
    """The oaklake workspace with the eight tables in schema ``tpch`` (loaded once).

    Each table is one ``INSERT INTO … SELECT * FROM read_parquet(…)`` statement: at SF1 lineitem
    (6M rows) takes ~45 s and ~1.8 GB of memory that way, so it is not split into chunks.
    """
    import oaklake

    folder = workspace_dir(scale)
    expected = parquet_rows(scale)
    info: dict[str, Any] = {"path": _shown(folder), "rows": expected, "load_s": {}}
    if (folder / "oaklake.toml").exists():
        lake = oaklake.connect(folder)
        try:
            if all(_loaded_rows(lake, t) == n for t, n in expected.items()):
                log(f"workspace: reusing {folder}")
                info["reused"] = True
                info["load_s"] = _previous_load_times(folder)
                return info
        finally:
            lake.close()
        log(f"workspace: {folder} is incomplete; loading it again from scratch")
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    info["reused"] = False
    lake = oaklake.init(folder)
    try:
        lake.sql("CREATE SCHEMA IF NOT EXISTS tpch")
        for table, (columns, partitioning) in TABLES.items():
            ddl = f"CREATE TABLE tpch.{table} ({columns})"
            if partitioning:
                ddl += f" PARTITIONED BY ({partitioning})"
            lake.sql(ddl)
            path = data_dir(scale) / f"{table}.parquet"
            start = time.perf_counter()
            result = lake.sql(f"INSERT INTO tpch.{table} SELECT * FROM read_parquet('{path}')")
            seconds = round(time.perf_counter() - start, 2)
            info["load_s"][table] = seconds
            log(f"workspace: tpch.{table}: {result.message} in {seconds} s")
            if result.affected_rows != expected[table]:
                raise SystemExit(
                    f"loading tpch.{table} gave {result.affected_rows} rows, "
                    f"expected {expected[table]}"
                )
    finally:
        lake.close()
    (folder / "bench-load.json").write_text(json.dumps(info["load_s"], indent=2) + "\n")
    return info


def _previous_load_times(folder: Path) -> dict[str, float]:
    path = folder / "bench-load.json"
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}
