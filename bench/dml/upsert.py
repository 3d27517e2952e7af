"""pyiceberg's ``Table.upsert`` on one table, in a process of its own so a timeout can stop it.

``python -m bench.dml.upsert <workspace> <schema.table> <source.parquet>`` prints one JSON line:
the wall and CPU seconds ``upsert`` took (only that call is timed) and its update/insert counts.
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> int:
    import pyarrow.parquet as pq

    import oaklake

    workspace, table_name, source = argv
    lake = oaklake.connect(workspace)
    schema, name = table_name.split(".")
    table = lake.catalog.iceberg.load_table((schema, name))
    rows = pq.read_table(source).cast(table.schema().as_arrow())
    cpu = time.process_time()
    start = time.perf_counter()
    result = table.upsert(rows, join_cols=["id"])
    seconds = time.perf_counter() - start
    print(json.dumps({
        "seconds": seconds,
        "cpu_seconds": time.process_time() - cpu,
        "rows_updated": result.rows_updated,
        "rows_inserted": result.rows_inserted,
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
