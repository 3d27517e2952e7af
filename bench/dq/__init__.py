"""Data-quality benchmark: a 20-rule DQDL suite on generated rows (default 10M), checked by
oaklake, by one hand-written DuckDB query computing the same metrics (the limit), by Great
Expectations and by Soda Core, in one run.

Run ``make bench-dq`` (or ``uv run python -m bench.dq --rows 100000`` for a smoke run); the JSON
result goes to ``bench/results/dq.json``. Nothing here may import oaklake, pandas or GX at module
level: ``bench.dq.soda_worker`` runs in Soda's own environment, which has none of them.
"""
