"""Soda Core, run in its own environment (bench/dq/peers) as a child of ``python -m bench.dq``.

soda-core-duckdb 3.5 pins duckdb<1.1 and oaklake needs duckdb 2.0, so Soda cannot share the
benchmark's environment. This worker stays up for the whole benchmark so that it is warmed up
like the others and interpreter start-up is never timed: it reads one command per line on stdin
(``run`` or ``quit``) and answers each ``run`` with one JSON line on stdout: the seconds (and CPU
seconds) spent in ``Scan.execute()`` (parsing the SodaCL included, as Soda does it on every
scan), each check's outcome and value. Only the standard library, duckdb and soda are imported here.

Usage: ``python -m bench.dq.soda_worker PARQUET THREADS CHECKS_YML WORK_DIR``
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any


def _quiet_soda(work: Path) -> None:
    """No usage telemetry (there is no network here) and no config file in the home folder:
    Soda reads its global config from the first path given to its ConfigHelper."""
    config = work / "soda-config.yml"
    config.write_text("send_anonymous_usage_stats: false\n")
    from soda.common.config_helper import ConfigHelper

    ConfigHelper.get_instance(str(config))
    logging.getLogger("soda").setLevel(logging.ERROR)


def _connection(path: str, threads: int) -> Any:
    import duckdb

    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET threads = {int(threads)}")
    quoted = path.replace("'", "''")
    con.execute(f"CREATE VIEW orders AS SELECT * FROM read_parquet('{quoted}')")
    return con


def _scan(con: Any, checks: str) -> tuple[float, float, dict[str, Any]]:
    from soda.scan import Scan

    start = time.perf_counter()
    cpu = time.process_time()
    scan = Scan()
    scan.set_data_source_name("bench")
    scan.add_duckdb_connection(duckdb_connection=con, data_source_name="bench")
    scan.add_sodacl_yaml_str(checks)
    scan.execute()
    seconds = time.perf_counter() - start
    return seconds, time.process_time() - cpu, scan.get_scan_results()


def _outcomes(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for check in results.get("checks", []):
        name = str(check.get("name") or "")
        diagnostics = check.get("diagnostics") or {}
        value = diagnostics.get("value")
        if value is None:
            value = diagnostics.get("fail", {}).get("value") if "fail" in diagnostics else None
        out[name] = {
            "outcome": check.get("outcome"),
            "value": value if isinstance(value, int | float | str | type(None)) else str(value),
        }
    return out


def main(argv: list[str]) -> int:
    path, threads, checks_path, work = argv[0], int(argv[1]), Path(argv[2]), Path(argv[3])
    work.mkdir(parents=True, exist_ok=True)
    _quiet_soda(work)
    import duckdb
    import soda.__version__ as soda_version

    checks = checks_path.read_text()
    con = _connection(path, threads)
    # Soda prints its log to stdout: keep stdout for the replies, send everything else to stderr.
    out = sys.stdout
    sys.stdout = sys.stderr
    hello = {"ready": True, "duckdb": duckdb.__version__, "soda": soda_version.SODA_CORE_VERSION}
    print(json.dumps(hello), file=out, flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            break
        if command != "run":
            print(json.dumps({"error": f"unknown command {command!r}"}), file=out, flush=True)
            continue
        try:
            seconds, cpu_s, results = _scan(con, checks)
            errors = [str(e.get("message", e)) for e in results.get("logs", [])
                      if str(e.get("level", "")).lower() == "error"]  # fmt: skip
            reply = {
                "seconds": seconds,
                "cpu_s": cpu_s,
                "checks": _outcomes(results),
                "errors": errors,
            }
        except Exception as e:  # reported to the parent, which shows it
            reply = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply, default=str), file=out, flush=True)
    con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
