"""The limit: the 20 rules' metrics as ONE hand-written DuckDB query over the Parquet file.

This is what a careful person would write by hand for these checks, knowing the data: one
aggregate pass for every per-row and simple metric (the CustomSql count folded into it as a
filtered count), and one ``GROUP BY`` per column whose value frequencies a rule needs (``id``
and ``email`` uniqueness, the ``status`` distinct count and entropy), joined into one row.
The metrics are the same ones oaklake computes (DQDL's definitions: population standard
deviation, natural-log entropy, uniqueness = values seen once / non-NULL rows, a NULL failing a
positive per-row check), so the two can be compared number by number. Pass/fail is then decided
in Python from those numbers, rule by rule, with the conditions of bench/dq/rules.dqdl.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

STATUSES = "'NEW', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELLED'"
EMAIL_RE = r"[a-z0-9._]+@[a-z0-9-]+\.(com|org|net)"


def query(path: str) -> str:
    src = "read_parquet('" + path.replace("'", "''") + "')"
    return f"""
WITH agg AS (
    SELECT
        count(*) AS n,
        count(id) AS id_n,
        count(created_at) AS created_n,
        count(email) AS email_n,
        count(country) AS country_n,
        count(*) FILTER (WHERE status IN ({STATUSES})) AS status_in,
        count(*) FILTER (WHERE quantity > 0 AND quantity < 21) AS quantity_ok,
        count(*) FILTER (WHERE regexp_full_match(email, '{EMAIL_RE}')) AS email_ok,
        count(*) FILTER (WHERE length(coalesce(sku, '')) = 10) AS sku_ok,
        max(discount) AS discount_max,
        avg(amount) AS amount_mean,
        stddev_pop(amount) AS amount_std,
        sum(quantity) AS quantity_sum,
        corr(quantity, amount) AS corr_q_a,
        count(*) FILTER (WHERE shipped_at < created_at) AS shipped_early,
        count(*) FILTER (WHERE signup_date > DATE '2014-12-31'
                           AND signup_date < DATE '2025-01-01') AS signup_ok
    FROM {src}
), ids AS (
    SELECT sum(c) AS id_rows, count(*) FILTER (WHERE c = 1) AS id_once
    FROM (SELECT count(*) AS c FROM {src} WHERE id IS NOT NULL GROUP BY id)
), emails AS (
    SELECT sum(c) AS email_rows, count(*) FILTER (WHERE c = 1) AS email_once
    FROM (SELECT count(*) AS c FROM {src} WHERE email IS NOT NULL GROUP BY email)
), statuses AS (
    SELECT count(*) AS status_groups,
           sum(c) FILTER (WHERE s IS NOT NULL) AS status_rows,
           sum(c * ln(c)) FILTER (WHERE s IS NOT NULL) AS status_clnc
    FROM (SELECT status AS s, count(*) AS c FROM {src} GROUP BY status)
)
SELECT * FROM agg, ids, emails, statuses
"""


def metrics(v: dict[str, Any]) -> dict[int, float | None]:
    """Rule number (1-based, in rules.dqdl order) -> the metric its condition is checked on."""
    import math

    n = v["n"]

    def share(part: int | None, whole: int | None) -> float | None:
        return None if not whole else (part or 0) / whole

    rows = v["status_rows"] or 0
    entropy = math.log(rows) - (v["status_clnc"] or 0.0) / rows if rows else None
    return {
        1: float(n),
        2: share(v["id_n"], n),
        3: share(v["id_once"], v["id_rows"]),
        4: share(v["created_n"], n),
        5: share(v["email_n"], n),
        6: share(v["country_n"], n),
        7: share(v["email_once"], v["email_rows"]),
        8: float(v["status_groups"]),  # NULL counts as one more value, as in DQDL
        9: entropy,
        10: share(v["status_in"], n),
        11: share(v["quantity_ok"], n),
        12: share(v["email_ok"], n),
        13: share(v["sku_ok"], n),
        14: v["discount_max"],
        15: v["amount_mean"],
        16: v["amount_std"],
        17: None if v["quantity_sum"] is None else float(v["quantity_sum"]),
        18: v["corr_q_a"],
        19: float(v["shipped_early"]),
        20: share(v["signup_ok"], n),
    }


def _between(lo: float, hi: float) -> Callable[[float], bool]:
    return lambda x: lo < x < hi  # DQDL's between is exclusive


# The condition of each rule in rules.dqdl, on the metric above.
CHECKS: dict[int, Callable[[float], bool]] = {
    1: _between(9_000_000, 11_000_000),
    2: lambda x: x == 1.0,
    3: lambda x: x == 1.0,
    4: lambda x: x == 1.0,
    5: lambda x: x > 0.95,
    6: lambda x: x >= 0.99,
    7: lambda x: x > 0.9,
    8: lambda x: x == 5,
    9: lambda x: x > 1.0,
    10: lambda x: x > 0.99,
    11: lambda x: x == 1.0,
    12: lambda x: x == 1.0,
    13: lambda x: x == 1.0,
    14: lambda x: x <= 0.5,
    15: _between(50, 150),
    16: _between(40, 75),
    17: _between(100_000_000, 110_000_000),
    18: lambda x: x > 0.3,
    19: lambda x: x == 0,
    20: lambda x: x == 1.0,
}


def outcomes(values: dict[int, float | None]) -> dict[int, bool]:
    return {k: values[k] is not None and CHECKS[k](values[k]) for k in CHECKS}  # type: ignore[arg-type]


class Limit:
    """A plain DuckDB connection with oaklake's session settings and the same thread count."""

    def __init__(self, path: str, threads: int) -> None:
        import duckdb

        self.sql = query(path)
        self.con = duckdb.connect(config={"autoinstall_known_extensions": False})
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET integer_division = true")
        self.con.execute("SET enable_progress_bar = false")
        self.con.execute(f"SET threads = {int(threads)}")

    def run(self) -> tuple[float, dict[int, float | None]]:
        start = time.perf_counter()
        cursor = self.con.execute(self.sql)
        names = [d[0] for d in cursor.description or []]
        row = cursor.fetchone()
        seconds = time.perf_counter() - start
        assert row is not None
        return seconds, metrics(dict(zip(names, row, strict=True)))

    def close(self) -> None:
        self.con.close()
