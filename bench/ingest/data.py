"""The benchmark's input: one CSV file of ``orders``, generated with DuckDB (nothing downloaded).

Every value is a function of the row number through DuckDB's ``hash()``, so one ``--rows`` gives
one file (for one DuckDB version). It is written once into ``bench/work/ingest/`` and reused
while its row count is right; the name carries the row count and a recipe version.

Columns (10): ``id`` BIGINT (unique, shuffled), ``customer`` (``C`` + 7 digits, about one per 20
rows), ``status`` (5 values), ``country`` (12 two-letter codes), ``amount`` DOUBLE (0.01-999.99),
``discount`` DOUBLE (15% empty, i.e. NULL), ``order_date`` DATE, ``created_at`` TIMESTAMP,
``is_paid`` BOOLEAN and ``email`` (``user<id>@<host>.<tld>``).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[1]
WORK = BENCH / "work" / "ingest"
RECIPE = 1  # bump when the SELECT below changes

COLUMNS = (
    "id",
    "customer",
    "status",
    "country",
    "amount",
    "discount",
    "order_date",
    "created_at",
    "is_paid",
    "email",
)
STATUSES = ("NEW", "PAID", "SHIPPED", "DELIVERED", "CANCELLED")
COUNTRIES = ("NL", "DE", "FR", "BE", "ES", "IT", "PT", "AT", "SE", "PL", "IE", "US")


def csv_path(rows: int) -> Path:
    return WORK / f"orders-{rows}-r{RECIPE}.csv"


def shown(path: Path) -> str:
    """A path relative to the repository, so the JSON result reads the same on any machine."""
    try:
        return str(path.relative_to(BENCH.parent))
    except ValueError:
        return str(path)


def _coprime(rows: int) -> int:
    """A step coprime with ``rows``, so ``i * step % rows`` visits every row number once."""
    step = 6_700_417  # a prime
    while math.gcd(step, rows) != 1:
        step += 2
    return step


def _lit_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def select_sql(rows: int) -> str:
    """One row per ``i``; ``h(k)`` is the k-th uniform number in [0, 1) of row ``i``."""

    def h(k: int) -> str:
        return f"((hash(i, {k}) >> 11)::DOUBLE / 9007199254740992.0)"

    customers = max(rows // 20, 1)
    return f"""
SELECT
    ((i * {_coprime(rows)}) % {rows} + 1)::BIGINT AS id,
    'C' || lpad(floor({h(1)} * {customers})::BIGINT::VARCHAR, 7, '0') AS customer,
    {_lit_list(STATUSES)}[1 + floor({h(2)} * {len(STATUSES)})::INTEGER] AS status,
    {_lit_list(COUNTRIES)}[1 + floor({h(3)} * {h(3)} * {len(COUNTRIES)})::INTEGER] AS country,
    round(0.01 + {h(4)} * 999.98, 2) AS amount,
    CASE WHEN {h(5)} >= 0.15 THEN round({h(6)} * 0.3, 2) END AS discount,
    DATE '2020-01-01' + floor({h(7)} * 1826)::INTEGER AS order_date,
    TIMESTAMP '2020-01-01 00:00:00' + to_seconds(floor({h(8)} * 1826 * 86400)::BIGINT)
        AS created_at,
    {h(9)} < 0.7 AS is_paid,
    'user' || ((i * {_coprime(rows)}) % {rows} + 1) || '@'
        || ['mail', 'example', 'post'][1 + floor({h(10)} * 3)::INTEGER] || '.'
        || ['com', 'org', 'net'][1 + floor({h(11)} * 3)::INTEGER] AS email
FROM range({rows}) AS t(i)
"""


def _complete(path: Path, rows: int) -> bool:
    """The file exists and has ``rows`` data lines (a rename only happens after a full write,
    but a file copied in by hand is checked too; the newline count is cheap)."""
    if not path.exists():
        return False
    lines = 0
    with path.open("rb", buffering=0) as fh:
        buf = bytearray(8 << 20)
        while n := fh.readinto(buf):
            lines += buf.count(b"\n", 0, n)
    return lines == rows + 1


def generate(rows: int, log: Any = print) -> dict[str, Any]:
    """The CSV for ``rows`` rows (generated once, then reused); what it is, for the result."""
    import duckdb

    path = csv_path(rows)
    info: dict[str, Any] = {"path": shown(path), "rows": rows, "recipe": RECIPE}
    if _complete(path, rows):
        log(f"data: reusing {shown(path)}")
        info["generated_s"] = None
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".csv.tmp")
        tmp.unlink(missing_ok=True)
        log(f"data: generating {rows:,} rows into {shown(path)} …")
        start = time.perf_counter()
        con = duckdb.connect(config={"autoinstall_known_extensions": False})
        try:
            con.execute("SET enable_progress_bar = false")
            con.execute(
                f"COPY ({select_sql(rows)}) TO '{tmp}' (FORMAT csv, HEADER true, "
                "DATEFORMAT '%Y-%m-%d', TIMESTAMPFORMAT '%Y-%m-%d %H:%M:%S')"
            )
        finally:
            con.close()
        tmp.rename(path)
        info["generated_s"] = round(time.perf_counter() - start, 2)
        log(f"data: generated in {info['generated_s']} s")
    info["bytes"] = path.stat().st_size
    return info
