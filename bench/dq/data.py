"""The benchmark's data: one ``orders`` Parquet file, generated with DuckDB (nothing downloaded).

Every value is a function of the row number through DuckDB's ``hash()``, so the same ``--rows``
gives the same file on every run and machine (for one DuckDB version). The file is written once
to ``bench/work/dq/`` and reused while it is complete; the name carries a generator version, so
changing the recipe below makes a new file instead of reusing a stale one.

Columns (11): ``id`` (unique, unsorted), ``signup_date`` DATE, ``created_at`` / ``shipped_at``
TIMESTAMP (``shipped_at`` NULL unless shipped), ``status`` (5 values and a rare ``UNKNOWN``),
``country`` (20 codes, 2% NULL), ``quantity`` INTEGER 1-20, ``amount`` DOUBLE (quantity x a
log-normal unit price, so it correlates with quantity), ``discount`` DOUBLE (10% NULL), ``email``
(3% NULL, 1% malformed, 2% shared by many rows) and ``sku`` (always 10 characters).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[1]
WORK = BENCH / "work" / "dq"
VERSION = 1  # bump when the recipe changes

COUNTRIES = (
    "NL", "DE", "FR", "BE", "ES", "IT", "PT", "AT", "CH", "DK",
    "SE", "NO", "FI", "PL", "CZ", "IE", "GB", "US", "CA", "JP",
)  # fmt: skip


def path_for(rows: int) -> Path:
    return WORK / f"orders-{rows}-v{VERSION}.parquet"


def shown(path: Path) -> str:
    """Paths in results are relative to the repository, so the JSON reads the same anywhere."""
    try:
        return str(path.relative_to(BENCH.parent))
    except ValueError:
        return str(path)


def _multiplier(rows: int) -> int:
    """A multiplier coprime with ``rows``: ``i * m % rows`` is then a permutation of 0..rows-1."""
    m = 2_654_435_761  # a prime (Knuth's multiplicative hash)
    while math.gcd(m, rows) != 1:
        m += 2
    return m


def select_sql(rows: int) -> str:
    countries = ", ".join(f"'{c}'" for c in COUNTRIES)
    # u(k): the k-th uniform number in [0, 1) of row i (53 bits of hash(i, k)).
    return f"""
WITH r AS (
    SELECT i,
        (i * {_multiplier(rows)}) % {rows} + 1 AS id,
        [(hash(i, k) >> 11)::DOUBLE / 9007199254740992.0 FOR k IN range(16)] AS u
    FROM range({rows}) AS t(i)
), v AS (
    SELECT i, id, u,
        CASE
            WHEN u[4] < 0.003 THEN 'UNKNOWN'
            WHEN u[5] < 0.10 THEN 'NEW'
            WHEN u[5] < 0.25 THEN 'PAID'
            WHEN u[5] < 0.45 THEN 'SHIPPED'
            WHEN u[5] < 0.90 THEN 'DELIVERED'
            ELSE 'CANCELLED'
        END AS status,
        TIMESTAMP '2024-01-01 00:00:00' + to_seconds(floor(u[3] * 730 * 86400)::BIGINT)
            AS created_at,
        1 + floor(u[8] * 20)::INTEGER AS quantity,
        -- log-normal unit price: exp(1.6 + 0.6 z), z standard normal (Box-Muller)
        exp(1.6 + 0.6 * sqrt(-2 * ln(greatest(u[9], 1e-12))) * cos(2 * pi() * u[10]))
            AS unit_price
    FROM r
)
SELECT
    id::BIGINT AS id,
    DATE '2015-01-01' + floor(u[2] * 3652)::INTEGER AS signup_date,
    created_at,
    CASE WHEN status IN ('SHIPPED', 'DELIVERED')
        THEN created_at + to_seconds(3600 + floor(u[6] * 6 * 86400)::BIGINT) END AS shipped_at,
    status,
    CASE WHEN u[7] >= 0.02
        THEN [{countries}][1 + floor(u[11] * u[11] * 20)::INTEGER] END AS country,
    quantity,
    round(quantity * unit_price, 2) AS amount,
    CASE WHEN u[12] >= 0.10 THEN round(u[13] * 0.5, 2) END AS discount,
    CASE
        WHEN u[14] < 0.03 THEN NULL
        WHEN u[14] < 0.035 THEN 'user' || id || '@example'
        WHEN u[14] < 0.04 THEN 'User ' || id || '@example.com'
        WHEN u[14] < 0.06 THEN 'orders' || floor(u[15] * 1000)::INTEGER || '@shop.com'
        ELSE 'user' || id || '@' || ['mail', 'example', 'post'][1 + floor(u[15] * 3)::INTEGER]
            || '.' || ['com', 'org', 'net'][1 + floor(u[16] * 3)::INTEGER]
    END AS email,
    'SKU-' || lpad(floor(u[1] * 1000000)::INTEGER::VARCHAR, 6, '0') AS sku
FROM v
"""


def _complete(path: Path, rows: int) -> bool:
    if not path.exists():
        return False
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except Exception:
        return False
    return meta.num_rows == rows and meta.num_columns == 11


def generate(rows: int, log: Any = print) -> dict[str, Any]:
    """The Parquet file for ``rows`` rows (generated once, then reused)."""
    import duckdb

    path = path_for(rows)
    info: dict[str, Any] = {"path": shown(path), "rows": rows, "generator_version": VERSION}
    if _complete(path, rows):
        log(f"data: reusing {shown(path)}")
        info["generated_s"] = None
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        log(f"data: generating {rows:,} rows into {shown(path)} …")
        start = time.perf_counter()
        con = duckdb.connect(config={"autoinstall_known_extensions": False})
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET enable_progress_bar = false")
            con.execute(f"COPY ({select_sql(rows)}) TO '{tmp}' (FORMAT parquet)")
        finally:
            con.close()
        tmp.rename(path)
        info["generated_s"] = round(time.perf_counter() - start, 2)
        log(f"data: generated in {info['generated_s']} s")
    info["bytes"] = path.stat().st_size
    return info
