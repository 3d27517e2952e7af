"""Ingest benchmark: a generated CSV through ``oaklake ingest`` and its quality gate, against the
limit (DuckDB reading the CSV and writing one Parquet file) and pyiceberg's ``append``.

Run ``uv run python -m bench.ingest`` (``--rows 100000`` for a smoke run, ``--breakdown`` to
measure where oaklake's time goes); the JSON result goes to ``bench/results/ingest.json``.
"""
