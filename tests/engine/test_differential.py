"""Differential tests: the same SELECT through oaklake and through plain DuckDB must agree.

oaklake reads Iceberg tables (three snapshots, files pruned by partition and min/max statistics)
while DuckDB reads ordinary tables holding the same rows. Any difference means the resolver,
pruning, the field-id scan or the translation changed a result. Plain SQL runs unchanged on
DuckDB; Athena-only SQL is transpiled with sqlglot (``athena=True``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlglot
from engine_helpers import canonical

from conftest import Sample


@dataclass(frozen=True)
class Case:
    id: str
    sql: str
    ordered: bool = False  # ORDER BY is total: compare in order
    athena: bool = False  # Athena-only syntax: transpile for DuckDB
    empty: bool = False  # the right answer has no rows (every other case must return some)


CASES = [
    # -- scans and projections --------------------------------------------------------------
    Case("full_scan", "SELECT * FROM orders"),
    Case("projection_alias", "SELECT o.order_id AS id, o.amount * 2 AS twice FROM orders o"),
    Case("integer_division", "SELECT order_id, qty / 3 AS third, qty % 3 AS rest FROM orders"),
    Case(
        "distinct",
        "SELECT DISTINCT status, region FROM orders o JOIN customers c "
        "ON o.customer_id = c.customer_id",
    ),
    # -- joins --------------------------------------------------------------------------------
    Case(
        "inner_join",
        "SELECT o.order_id, c.name, c.region FROM orders o "
        "JOIN customers c ON o.customer_id = c.customer_id",
    ),
    Case(
        "left_join",
        "SELECT c.customer_id, o.order_id FROM customers c "
        "LEFT JOIN orders o ON c.customer_id = o.customer_id",
    ),
    Case(
        "right_join",
        "SELECT c.name, o.order_id FROM customers c "
        "RIGHT JOIN orders o ON c.customer_id = o.customer_id",
    ),
    Case(
        "full_join",
        "SELECT c.customer_id AS c_id, o.order_id, o.customer_id AS o_cid "
        "FROM customers c FULL OUTER JOIN orders o ON c.customer_id = o.customer_id",
    ),
    Case(
        "cross_join",
        "SELECT r.region, s.status FROM (SELECT DISTINCT region FROM customers) r "
        "CROSS JOIN (SELECT DISTINCT status FROM orders) s",
    ),
    Case(
        "comma_join_where",
        "SELECT o.order_id, i.sku FROM orders o, items i "
        "WHERE o.order_id = i.order_id AND i.quantity > 2 AND o.qty < 5",
    ),
    Case(
        "join_using",
        "SELECT customer_id, count(*) AS n FROM orders JOIN customers "
        "USING (customer_id) GROUP BY customer_id",
    ),
    Case(
        "three_way_join",
        "SELECT c.region, sum(i.price * i.quantity) AS revenue FROM customers c "
        "JOIN orders o ON o.customer_id = c.customer_id JOIN items i ON i.order_id = o.order_id "
        "GROUP BY c.region",
    ),
    Case(
        "semi_join_in",
        "SELECT name FROM customers WHERE customer_id IN "
        "(SELECT customer_id FROM orders WHERE status = 'shipped')",
    ),
    Case(
        "anti_join_not_in",
        "SELECT customer_id FROM customers WHERE customer_id NOT IN "
        "(SELECT customer_id FROM orders WHERE customer_id IS NOT NULL AND qty > 8)",
    ),
    Case(
        "not_in_with_null_is_empty",
        "SELECT customer_id FROM customers WHERE customer_id NOT IN "
        "(SELECT customer_id FROM orders)",
        empty=True,
    ),
    Case(
        "exists_correlated",
        "SELECT c.customer_id FROM customers c WHERE EXISTS "
        "(SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id AND o.amount > 400)",
    ),
    Case(
        "not_exists",
        "SELECT c.customer_id FROM customers c WHERE NOT EXISTS "
        "(SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id)",
    ),
    Case(
        "self_join",
        "SELECT a.order_id AS first_id, b.order_id AS next_id FROM orders a "
        "JOIN orders b ON a.customer_id = b.customer_id AND a.order_id < b.order_id "
        "WHERE a.qty = 10 AND b.qty = 1",
    ),
    # -- CTEs, subqueries ---------------------------------------------------------------------
    Case(
        "cte",
        "WITH totals AS (SELECT customer_id, sum(amount) AS total FROM orders "
        "GROUP BY customer_id) SELECT c.name, t.total FROM totals t "
        "JOIN customers c ON c.customer_id = t.customer_id WHERE t.total > 1000",
    ),
    Case(
        "cte_twice",
        "WITH s AS (SELECT order_id, status FROM orders WHERE qty > 5) "
        "SELECT a.order_id FROM s a JOIN s b ON a.order_id = b.order_id + 1",
    ),
    Case(
        "scalar_subquery_where",
        "SELECT order_id FROM orders WHERE amount > (SELECT avg(amount) FROM orders)",
    ),
    Case(
        "correlated_select",
        "SELECT c.customer_id, (SELECT count(*) FROM orders o "
        "WHERE o.customer_id = c.customer_id) AS n FROM customers c",
    ),
    Case(
        "correlated_where",
        "SELECT o.order_id FROM orders o WHERE o.amount = "
        "(SELECT max(o2.amount) FROM orders o2 WHERE o2.customer_id = o.customer_id)",
    ),
    Case(
        "derived_table_filter",
        "SELECT d.day, d.n FROM (SELECT CAST(ts AS date) AS day, "
        "count(*) AS n FROM orders GROUP BY 1) d WHERE d.n > 20",
    ),
    # -- aggregates, windows ------------------------------------------------------------------
    Case(
        "group_by_having",
        "SELECT status, count(*) AS n, count(amount) AS n_amount, "
        "sum(amount) AS total, avg(qty) AS avg_qty, min(ts) AS first_ts, max(discount) AS maxd "
        "FROM orders GROUP BY status HAVING count(*) > 3",
    ),
    Case(
        "count_distinct",
        "SELECT count(DISTINCT customer_id) AS customers, "
        "count(DISTINCT status) AS statuses FROM orders",
    ),
    Case(
        "rollup", "SELECT region, tier, count(*) AS n FROM customers GROUP BY ROLLUP (region, tier)"
    ),
    Case(
        "window_row_number",
        "SELECT order_id, row_number() OVER (PARTITION BY customer_id "
        "ORDER BY ts, order_id) AS rn FROM orders",
    ),
    Case(
        "window_running_sum",
        "SELECT order_id, sum(amount) OVER (PARTITION BY customer_id "
        "ORDER BY ts, order_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running "
        "FROM orders",
    ),
    Case(
        "window_rank_lag",
        "SELECT order_id, rank() OVER (ORDER BY qty DESC) AS rk, "
        "dense_rank() OVER (ORDER BY qty DESC) AS drk, "
        "lag(order_id) OVER (PARTITION BY status ORDER BY order_id) AS prev, "
        "lead(amount, 2) OVER (PARTITION BY status ORDER BY order_id) AS next2 FROM orders",
    ),
    # -- ordering -----------------------------------------------------------------------------
    Case(
        "order_limit",
        "SELECT order_id, amount FROM orders ORDER BY amount DESC NULLS LAST, order_id LIMIT 10",
        ordered=True,
    ),
    Case(
        "order_nulls_default",
        "SELECT order_id, status FROM orders ORDER BY status, order_id",
        ordered=True,
    ),
    Case(
        "offset_limit_athena",
        "SELECT order_id FROM orders ORDER BY order_id OFFSET 5 LIMIT 7",
        ordered=True,
        athena=True,
    ),
    # -- set operations -------------------------------------------------------------------------
    Case(
        "union",
        "SELECT customer_id FROM orders WHERE qty = 1 UNION "
        "SELECT customer_id FROM customers WHERE tier = 1",
    ),
    Case(
        "union_all",
        "SELECT status FROM orders WHERE qty = 1 UNION ALL SELECT status FROM orders WHERE qty = 2",
    ),
    Case("intersect", "SELECT customer_id FROM orders INTERSECT SELECT customer_id FROM customers"),
    Case("except", "SELECT customer_id FROM customers EXCEPT SELECT customer_id FROM orders"),
    # -- expressions --------------------------------------------------------------------------
    Case(
        "case_coalesce_nullif",
        "SELECT order_id, CASE WHEN amount >= 100 THEN 'big' "
        "WHEN amount >= 10 THEN 'mid' ELSE 'small' END AS size, "
        "coalesce(status, 'unknown') AS st, nullif(qty, 1) AS q FROM orders",
    ),
    Case(
        "string_functions",
        "SELECT customer_id, upper(name) AS u, lower(name) AS l, "
        "length(name) AS len, substr(name, 2, 3) AS sub, trim(name) AS t, "
        "replace(name, 'a', '4') AS r, strpos(name, 'o') AS p, lpad(region, 6, '*') AS lp, "
        "name || '/' || region AS cat FROM customers",
    ),
    Case(
        "date_trunc_group",
        "SELECT date_trunc('day', ts) AS day, count(*) AS n, sum(qty) AS q FROM orders GROUP BY 1",
    ),
    Case(
        "like_and_between",
        "SELECT order_id FROM orders WHERE status LIKE 'sh%' AND order_id BETWEEN 50 AND 150",
    ),
    # -- predicates that pruning sees (results must not change) ---------------------------------
    Case(
        "partition_range",
        "SELECT order_id, ts FROM orders WHERE ts >= TIMESTAMP "
        "'2024-03-04 00:00:00' AND ts < TIMESTAMP '2024-03-06 00:00:00'",
    ),
    Case("partition_equality_on_bucket", "SELECT order_id FROM orders WHERE customer_id = 7"),
    Case("partition_in_list", "SELECT order_id FROM orders WHERE customer_id IN (1, 2, 3, 34)"),
    Case("partition_is_null", "SELECT order_id FROM orders WHERE customer_id IS NULL"),
    Case("partition_not_equal", "SELECT order_id FROM orders WHERE customer_id <> 7"),
    Case(
        "partition_or",
        "SELECT order_id FROM orders WHERE ts < TIMESTAMP '2024-03-02 00:00:00' OR customer_id = 3",
    ),
    Case(
        "partition_not",
        "SELECT order_id FROM orders WHERE NOT (ts >= TIMESTAMP '2024-03-02 00:00:00')",
    ),
    Case("identity_partition", "SELECT customer_id FROM customers WHERE region = 'north'"),
    Case("identity_partition_null", "SELECT customer_id FROM customers WHERE region IS NULL"),
    Case("truncate_partition_prefix", "SELECT order_id, sku FROM items WHERE sku LIKE 'SKU-b%'"),
    Case("not_like_prefix", "SELECT order_id FROM orders WHERE status NOT LIKE 'sh%'"),
    Case("not_like_on_partition", "SELECT order_id FROM items WHERE sku NOT LIKE 'SKU-b%'"),
    Case("like_single_char_wildcard", "SELECT order_id FROM orders WHERE status LIKE 'sh_pped'"),
    Case(
        "not_in_list_with_null",
        "SELECT order_id FROM orders WHERE NOT (customer_id IN (1, NULL))",
        empty=True,
    ),
    Case(
        "truncate_partition_range",
        "SELECT order_id FROM items WHERE sku >= 'SKU-c50' AND sku < 'SKU-d20'",
    ),
    Case("minmax_non_partition", "SELECT order_id FROM orders WHERE order_id < 30"),
    Case("int_vs_fraction", "SELECT order_id FROM orders WHERE order_id < 30.5 OR qty > 9.5"),
    Case("int_vs_fraction_above", "SELECT order_id FROM orders WHERE order_id > 239.5"),
    Case(
        "decimal_vs_double_literal",
        "SELECT order_id FROM orders WHERE amount > CAST(100.005 AS double)",
    ),
    Case("decimal_finer_scale", "SELECT order_id FROM orders WHERE amount <= 100.005"),
    Case(
        "date_vs_timestamp",
        "SELECT customer_id FROM customers WHERE signup < TIMESTAMP '2023-06-01 10:00:00'",
    ),
    Case("timestamp_vs_date", "SELECT order_id FROM orders WHERE ts >= DATE '2024-03-05'"),
    Case(
        "timestamp_with_zone_literal",
        "SELECT order_id FROM orders WHERE ts < TIMESTAMP '2024-03-02 00:00:00 UTC'",
    ),
    Case(
        "cast_on_partition_column",
        "SELECT order_id FROM orders WHERE CAST(ts AS date) = DATE '2024-03-03'",
    ),
    Case(
        "where_on_joined_side",
        "SELECT o.order_id, c.region FROM orders o JOIN customers c "
        "ON o.customer_id = c.customer_id WHERE c.region = 'east' "
        "AND o.ts < TIMESTAMP '2024-03-05 00:00:00'",
    ),
    # -- the classic traps around outer joins -------------------------------------------------
    Case(
        "left_join_where_null_side_or_null",
        "SELECT c.customer_id, o.order_id, o.status "
        "FROM customers c LEFT JOIN orders o ON c.customer_id = o.customer_id "
        "WHERE o.status = 'shipped' OR o.status IS NULL",
    ),
    Case(
        "left_join_anti",
        "SELECT c.customer_id FROM customers c LEFT JOIN orders o "
        "ON c.customer_id = o.customer_id WHERE o.order_id IS NULL",
    ),
    Case(
        "left_join_on_filter_null_side",
        "SELECT c.customer_id, o.order_id FROM customers c "
        "LEFT JOIN orders o ON c.customer_id = o.customer_id "
        "AND o.ts >= TIMESTAMP '2024-03-08 00:00:00'",
    ),
    Case(
        "left_join_on_filter_preserved_side",
        "SELECT c.customer_id, o.order_id "
        "FROM customers c LEFT JOIN orders o ON c.customer_id = o.customer_id "
        "AND c.region = 'north'",
    ),
    Case(
        "left_join_unqualified_where",
        "SELECT c.customer_id, o.order_id FROM customers c "
        "LEFT JOIN orders o ON c.customer_id = o.customer_id WHERE status IS NULL",
    ),
    Case(
        "left_join_then_inner",
        "SELECT c.customer_id, o.order_id, i.sku FROM customers c "
        "LEFT JOIN orders o ON c.customer_id = o.customer_id "
        "JOIN items i ON i.order_id = o.order_id WHERE i.sku LIKE 'SKU-a%'",
    ),
    Case(
        "right_join_where_preserved",
        "SELECT c.name, o.order_id FROM customers c "
        "RIGHT JOIN orders o ON c.customer_id = o.customer_id WHERE o.qty > 8",
    ),
    Case(
        "right_join_where_null_side",
        "SELECT c.name, o.order_id FROM customers c "
        "RIGHT JOIN orders o ON c.customer_id = o.customer_id WHERE c.region IS NULL",
    ),
    Case(
        "full_join_where",
        "SELECT c.customer_id, o.order_id FROM customers c "
        "FULL JOIN orders o ON c.customer_id = o.customer_id "
        "WHERE c.region = 'west' OR o.customer_id IS NULL",
    ),
    Case(
        "left_join_subquery_null_side",
        "SELECT c.customer_id, s.n FROM customers c "
        "LEFT JOIN (SELECT customer_id, count(*) AS n FROM orders "
        "WHERE ts < TIMESTAMP '2024-03-03 00:00:00' GROUP BY customer_id) s "
        "ON s.customer_id = c.customer_id WHERE s.n IS NULL OR s.n > 1",
    ),
    # -- Athena-only syntax, transpiled for DuckDB ----------------------------------------------
    Case(
        "athena_date_add",
        "SELECT order_id FROM orders "
        "WHERE ts < date_add('day', 2, TIMESTAMP '2024-03-01 00:00:00')",
        athena=True,
    ),
    Case(
        "athena_if_and_arbitrary_free",
        "SELECT status, if(count(*) > 40, 'many', 'few') AS band FROM orders GROUP BY status",
        athena=True,
    ),
    Case(
        "athena_split_element_at",
        "SELECT customer_id, element_at(split(name, ' '), 1) AS first FROM customers",
        athena=True,
    ),
    Case(
        "athena_regexp_like",
        "SELECT sku FROM items WHERE regexp_like(sku, '^SKU-[ab][0-9]+$')",
        athena=True,
    ),
    Case(
        "athena_date_format",
        "SELECT date_format(ts, '%Y-%m-%d') AS day, count(*) AS n FROM orders GROUP BY 1",
        athena=True,
    ),
    Case(
        "athena_try_cast_cardinality",
        "SELECT customer_id, "
        "try_cast(substr(name, 1, 1) AS integer) AS digit, cardinality(split(name, ' ')) AS words "
        "FROM customers",
        athena=True,
    ),
    Case(
        "athena_unnest",
        "SELECT o.order_id, x FROM orders o CROSS JOIN UNNEST(ARRAY[1, 2]) "
        "AS t(x) WHERE o.order_id < 5",
        athena=True,
    ),
    Case(
        "athena_count_if_approx",
        "SELECT count_if(qty > 5) AS big, approx_distinct(customer_id) AS customers FROM orders",
        athena=True,
    ),
    Case(
        "athena_quoted_catalog_names",
        'SELECT count(*) AS n FROM "awsdatacatalog"."default"."orders" WHERE "status" = \'placed\'',
        athena=True,
    ),
]


def _duck_sql(case: Case) -> str:
    if not case.athena:
        return case.sql
    sql = sqlglot.transpile(case.sql, read="athena", write="duckdb")[0]
    # DuckDB has no awsdatacatalog; the plain-DuckDB side reads its own tables.
    return sql.replace('"awsdatacatalog"."default".', "")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_result_as_duckdb(sample: Sample, case: Case) -> None:
    ours = sample.lake.sql(case.sql)
    cursor = sample.duck.execute(_duck_sql(case))
    theirs = cursor.fetchall()
    assert ours.columns == [d[0] for d in cursor.description]
    assert canonical(ours.rows, ordered=case.ordered) == canonical(theirs, ordered=case.ordered)
    assert bool(theirs) != case.empty, "a case that returns nothing proves little"


def test_time_travel_matches_the_rows_of_each_insert(sample: Sample) -> None:
    """Snapshot k of orders holds exactly the first k INSERT batches."""
    snapshots = sample.lake.sql(
        'SELECT snapshot_id FROM "orders$snapshots" ORDER BY committed_at'
    ).rows
    assert len(snapshots) == 3
    seen = 0
    for (snapshot_id,) in snapshots:
        got = sample.lake.sql(
            f"SELECT count(*), max(order_id) FROM orders FOR VERSION AS OF {snapshot_id}"
        ).rows[0]
        seen += 80
        assert got == (seen, seen)
