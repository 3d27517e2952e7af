"""TPC-H on oaklake, against plain DuckDB on the same Parquet files and a naive pyiceberg read.

``uv run python -m bench.tpch`` generates the data with ``tpchgen-cli`` (``bench/data/``), loads
it into an oaklake workspace as partitioned Iceberg tables (``bench/work/``), runs the 22 queries
three ways and writes ``bench/results/tpch.json``. Plain DuckDB over exactly the files the Iceberg
tables hold is the floor oaklake can reach; the naive way (``scan().to_arrow()`` per table, then
DuckDB) is what a user would write without oaklake.
"""
