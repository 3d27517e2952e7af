"""Copy-on-write DML benchmark: MERGE, UPDATE, DELETE and OPTIMIZE on a partitioned Iceberg
table, against plain DuckDB on the same rows and pyiceberg's ``upsert``.

Run ``uv run python -m bench.dml`` (``--quick`` for a small smoke run); the JSON result goes to
``bench/results/dml.json``.
"""
