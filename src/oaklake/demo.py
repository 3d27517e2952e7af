"""The end-to-end demo: a workspace, sample data loaded into Iceberg tables, Athena SQL on top.

Everything is generated here (no downloads): a small shop with customers and a few months of
orders. The demo grows with the platform: each capability adds its step.
"""

from __future__ import annotations

import csv
import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

CATEGORIES = ["books", "garden", "kitchen", "toys", "sports", "music"]

# The gate every orders file passes before it reaches shop.orders (AWS Glue Data Quality's DQDL).
ORDERS_RULESET = """
Rules = [
    RowCount > 0,
    IsComplete "order_id",
    IsUnique "order_id",
    IsComplete "customer_id",
    ColumnValues "category" in ["books", "garden", "kitchen", "toys", "sports", "music"],
    ColumnValues "quantity" between 0 and 6,
    ColumnValues "price" > 0,
    (Completeness "price" > 0.99) and (Mean "price" between 10 and 100)
]
"""
COUNTRIES = ["DE", "FR", "NL", "SE", "ES", "IT"]


def write_sample_data(
    folder: Path, *, customers: int = 500, orders: int = 20_000, seed: int = 7
) -> dict[str, Path]:
    """Deterministic CSV files: customers.csv and two monthly batches of orders."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"customers": folder / "customers.csv"}
    with paths["customers"].open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "name", "country", "signup_date"])
        for cid in range(1, customers + 1):
            signup = datetime(2024, 1, 1) + timedelta(days=rng.randrange(0, 365))
            w.writerow([cid, f"customer {cid}", rng.choice(COUNTRIES), signup.date().isoformat()])
    start = datetime(2025, 1, 1)
    for batch, (lo, hi) in enumerate([(0, 59), (59, 90)], start=1):
        path = folder / f"orders_{batch}.csv"
        paths[f"orders_{batch}"] = path
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["order_id", "customer_id", "order_ts", "category", "quantity", "price"])
            n = orders * (hi - lo) // 90
            for i in range(n):
                oid = batch * 1_000_000 + i
                ts = start + timedelta(days=rng.uniform(lo, hi))
                cust = min(int(rng.paretovariate(1.2)), customers)
                cat = rng.choices(CATEGORIES, weights=[6, 2, 3, 4, 2, 1])[0]
                w.writerow(
                    [
                        oid,
                        cust,
                        ts.strftime("%Y-%m-%d %H:%M:%S"),
                        cat,
                        rng.randint(1, 5),
                        f"{rng.uniform(2, 120):.2f}",
                    ]
                )
    bad = folder / "orders_bad.csv"
    paths["orders_bad"] = bad
    with bad.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["order_id", "customer_id", "order_ts", "category", "quantity", "price"])
        for i in range(100):  # a broken export: duplicated ids, an unknown category, refunds
            w.writerow(
                [
                    9_000_000 + i // 2,
                    i + 1,
                    "2025-03-31 10:00:00",
                    "gadgets" if i % 10 == 0 else "books",
                    1,
                    f"{-5 if i % 7 == 0 else 12}.00",
                ]
            )
    fixes = folder / "order_fixes.csv"
    paths["fixes"] = fixes
    with fixes.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["order_id", "customer_id", "order_ts", "category", "quantity", "price"])
        # corrections to existing orders (quantity 0 = cancelled) and late-arriving new ones
        for i in range(0, 200, 2):
            w.writerow([1_000_000 + i, 1, "2025-01-10 12:00:00", "books", i % 4, "9.99"])
        for i in range(50):
            w.writerow([3_000_000 + i, 2, "2025-03-30 08:00:00", "toys", 1, "19.50"])
    return paths


def _ingested(console: Any, result: Any) -> None:
    """One ingest's outcome, as `oaklake ingest` prints it."""
    import io

    from oaklake.cli.ingest import write_summary

    out = io.StringIO()
    write_summary(result, out)
    colour = {"loaded": "green", "skipped": "yellow", "partial": "yellow"}.get(result.status, "red")
    lines = out.getvalue().rstrip("\n").splitlines()
    console.print(f"[{colour}]{lines[0]}[/{colour}]", highlight=False)
    for line in lines[1:]:
        console.print(line, highlight=False)


def run_demo(path: Path | None = None, *, quiet: bool = False) -> dict[str, Any]:
    """Run the demo; return the figures it printed (the tests check them)."""
    from rich.console import Console

    import oaklake
    from oaklake.cli.render import write_result

    console = Console(quiet=quiet)
    folder = Path(path) if path is not None else Path(tempfile.mkdtemp(prefix="oaklake-demo-"))
    facts: dict[str, Any] = {"workspace": str(folder)}

    def step(title: str) -> None:
        console.rule(f"[bold]{title}")

    def show(sql: str) -> Any:
        console.print(f"[cyan]{sql.strip()}[/cyan]")
        result = lake.sql(sql)
        if not quiet:
            write_result(result, "table")
        return result

    started = time.perf_counter()
    step("1. init a workspace (SQLite catalog, local warehouse)")
    lake = oaklake.init(folder)
    console.print(f"workspace: {folder}")
    files = write_sample_data(folder / "samples")

    step("2. ingest: files into Iceberg tables (schema inferred, or a table you declare)")
    show("CREATE SCHEMA IF NOT EXISTS shop")
    console.print(f"[cyan]oaklake ingest {files['customers'].name} --table shop.customers[/cyan]")
    customers = lake.ingest(files["customers"], "shop.customers")
    _ingested(console, customers)
    show("DESCRIBE shop.customers")
    show("""CREATE TABLE shop.orders (
          order_id bigint, customer_id bigint, order_ts timestamp,
          category string COMMENT 'product category', quantity int, price decimal(10,2))
        PARTITIONED BY (month(order_ts), bucket(8, customer_id))
        TBLPROPERTIES ('table_type' = 'ICEBERG', 'write_compression' = 'zstd')""")
    step("3. the quality gate: DQDL rules checked on each batch before it is committed")
    lake.dq_attach("shop.orders", ORDERS_RULESET)
    console.print("[cyan]ruleset attached to shop.orders:[/cyan]\n" + ORDERS_RULESET.strip())
    gate: dict[str, float] = {}
    snapshots: list[int | None] = []
    for batch in ("orders_1", "orders_2", "orders_bad"):
        console.print(f"[cyan]oaklake ingest {files[batch].name} --table shop.orders[/cyan]")
        result = lake.ingest(files[batch], "shop.orders", notify=False)
        assert result.quality is not None
        gate[batch] = result.quality.score
        _ingested(console, result)
        if result.ok:
            snapshots.append(result.snapshot_id)
        else:
            facts["quarantine"] = result.quarantine
    again = lake.ingest(files["orders_1"], "shop.orders", notify=False)
    console.print(
        f"[cyan]oaklake ingest {files['orders_1'].name} --table shop.orders[/cyan] again:"
    )
    _ingested(console, again)
    facts["reingest_status"] = again.status
    show(
        "SELECT file_name, snapshot_id, batch_rows FROM oaklake_system.ingest_ledger "
        "ORDER BY ingested_at"
    )
    facts["gate_scores"] = gate
    facts["first_snapshot"] = snapshots[0]
    recommended = lake.dq_recommend(table="shop.customers")
    facts["recommended_rules"] = sum(
        1 for line in recommended.splitlines() if line.startswith("    ")
    )
    console.print("[cyan]rules recommended from shop.customers' data:[/cyan]\n" + recommended)

    step("4. query with Athena SQL")
    top = show("""SELECT o.category, c.country, count(*) AS orders,
               sum(o.quantity * o.price) AS revenue,
               approx_distinct(o.customer_id) AS customers
        FROM shop.orders o JOIN shop.customers c ON o.customer_id = c.customer_id
        WHERE o.order_ts >= TIMESTAMP '2025-02-01 00:00:00'
        GROUP BY 1, 2 ORDER BY revenue DESC LIMIT 5""")
    facts["top_rows"] = len(top)
    show("""WITH monthly AS (
          SELECT date_trunc('month', order_ts) AS month, sum(quantity * price) AS revenue
          FROM shop.orders GROUP BY 1)
        SELECT month, revenue, revenue - lag(revenue) OVER (ORDER BY month) AS change
        FROM monthly ORDER BY month""")

    step("5. partition pruning, visible in EXPLAIN")
    plan = show("""EXPLAIN SELECT count(*) FROM shop.orders
        WHERE order_ts < TIMESTAMP '2025-01-15 00:00:00' AND customer_id = 3""")
    facts["explain_first_line"] = plan.rows[0][0]

    step("6. time travel and metadata tables")
    now = lake.sql("SELECT count(*) FROM shop.orders").scalar()
    then = show(
        f"SELECT count(*) AS orders_then FROM shop.orders "
        f"FOR VERSION AS OF {facts['first_snapshot']}"
    ).scalar()
    facts["rows_now"], facts["rows_first_snapshot"] = now, then
    show(
        "SELECT snapshot_id, operation, summary['added-records'] AS added "
        'FROM shop."orders$snapshots" ORDER BY committed_at'
    )
    show(
        'SELECT count(*) AS partitions, sum(record_count) AS records FROM shop."orders$partitions"'
    )

    step("7. change data: UPDATE, MERGE and DELETE, one atomic snapshot each")
    before_change = lake.sql(
        'SELECT snapshot_id FROM shop."orders$snapshots" ORDER BY committed_at DESC LIMIT 1'
    ).scalar()
    updated = show("UPDATE shop.orders SET price = price * 0.9 WHERE category = 'music'")
    facts["updated_rows"] = updated.affected_rows
    lake.ingest(files["fixes"], "shop.order_fixes")
    merged = show("""MERGE INTO shop.orders AS o USING shop.order_fixes AS f
        ON o.order_id = f.order_id
        WHEN MATCHED AND f.quantity = 0 THEN DELETE
        WHEN MATCHED THEN UPDATE SET quantity = f.quantity, price = f.price
        WHEN NOT MATCHED THEN INSERT (order_id, customer_id, order_ts, category, quantity, price)
             VALUES (f.order_id, f.customer_id, f.order_ts, f.category, f.quantity, f.price)""")
    facts["merge"] = dict(merged.extra)
    deleted = show("DELETE FROM shop.orders WHERE order_ts < TIMESTAMP '2025-01-02 00:00:00'")
    facts["deleted_rows"] = deleted.affected_rows
    show(f"""SELECT 'before the changes' AS version, sum(quantity * price) AS music_revenue
        FROM shop.orders FOR VERSION AS OF {before_change} WHERE category = 'music'
        UNION ALL
        SELECT 'now', sum(quantity * price) FROM shop.orders WHERE category = 'music'""")
    show(
        "SELECT operation, summary['oaklake.operation'] AS statement, "
        "summary['total-records'] AS records FROM shop.\"orders$snapshots\" "
        "ORDER BY committed_at DESC LIMIT 3"
    )
    show("ALTER TABLE shop.orders SET TBLPROPERTIES ('optimize_rewrite_data_file_threshold'='2')")
    optimized = show("OPTIMIZE shop.orders REWRITE DATA USING BIN_PACK")
    facts["optimize"] = dict(optimized.rows)

    step("8. schema evolution without rewriting data")
    show("ALTER TABLE shop.orders ADD COLUMNS (channel string)")
    show("ALTER TABLE shop.orders CHANGE COLUMN quantity qty bigint")
    evolved = show("SELECT order_id, qty, channel FROM shop.orders ORDER BY order_id LIMIT 3")
    facts["evolved_columns"] = evolved.columns
    show("SHOW CREATE TABLE shop.orders")

    facts["rows_final"] = lake.sql("SELECT count(*) FROM shop.orders").scalar()

    step("9. recommendations: train item-based and user-based recommenders, serve them")
    facts["rec"] = _recommendations(lake, folder, console)

    facts["snapshots"] = lake.sql('SELECT count(*) FROM shop."orders$snapshots"').scalar()
    facts["seconds"] = round(time.perf_counter() - started, 2)
    console.rule(f"[bold green]demo finished in {facts['seconds']} s — workspace kept at {folder}")
    console.print(f'try: oaklake sql -w {folder} "SELECT * FROM shop.orders LIMIT 5"')
    lake.close()
    return facts


def _recommendations(lake: Any, folder: Path, console: Any) -> dict[str, Any]:
    """Shop events through ingest, two recommenders trained, served over HTTP, and one event
    changing a shopper's recommendations at once."""
    import json
    import os
    import signal
    import socket
    import subprocess
    import sys
    import urllib.parse
    import urllib.request

    from oaklake.recommend import sample
    from oaklake.recommend.evaluate import PZ_METRICS as PERSONALIZE_METRICS

    facts: dict[str, Any] = {}
    tables = sample.shop(users=800, items=300, days=60, seed=11)
    lake.sql("CREATE SCHEMA IF NOT EXISTS store")
    for name, path in sample.write_csv(tables, folder / "samples" / "store").items():
        result = lake.ingest(path, f"store.{name}", notify=False)
        console.print(
            f"[cyan]oaklake ingest {path.name} --table store.{name}[/cyan]: "
            f"{result.rows_loaded} rows"
        )
    console.print(
        "[cyan]oaklake rec create similar --recipe similar-items "
        "--interactions store.interactions --items store.items[/cyan]"
    )
    lake.rec_create(
        "similar", recipe="similar-items", interactions="store.interactions", items="store.items"
    )
    lake.rec_train("similar", evaluate=False)
    console.print(
        "[cyan]oaklake rec create foryou --recipe user-personalization "
        "--interactions store.interactions --users store.users --items store.items[/cyan]"
    )
    lake.rec_create(
        "foryou",
        recipe="user-personalization",
        interactions="store.interactions",
        users="store.users",
        items="store.items",
        params={"exploration_weight": 0.1},
    )
    version = lake.rec_train("foryou")
    console.print(
        f"foryou v{version.version}: {version.stats['interactions']} interactions, trained in "
        f"{version.seconds:.2f} s; offline metrics (Personalize's protocol):"
    )
    for key in PERSONALIZE_METRICS:
        console.print(
            f"  {key:<46} {version.metrics[key]:.4f}  (popularity {version.baseline[key]:.4f})",
            highlight=False,
        )
    facts["ndcg_25"] = version.metrics["normalized_discounted_cumulative_gain_at_25"]
    facts["ndcg_25_popularity"] = version.baseline["normalized_discounted_cumulative_gain_at_25"]

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    key = "demo-key"
    env = {**os.environ, "OAKLAKE_API_KEY": key}
    console.print(f"[cyan]oaklake serve --port {port}[/cyan]  (API key from OAKLAKE_API_KEY)")
    server = subprocess.Popen(
        [sys.executable, "-m", "oaklake.cli", "serve", "--port", str(port), "-w", str(folder)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"

    def call(path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - localhost
            base + path, data=data, headers={"X-API-Key": key, "Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.loads(response.read())

    try:
        _wait_for(base + "/health", server)
        users = tables["interactions"].column("USER_ID").to_pylist()
        items = tables["interactions"].column("ITEM_ID").to_pylist()
        history: dict[str, set[str]] = {}
        for u, i in zip(users, items, strict=True):
            history.setdefault(str(u), set()).add(str(i))
        # a shopper with a short history, so that one visit shows
        shopper = min(
            (u for u in history if len(history[u]) >= 3), key=lambda u: (len(history[u]), u)
        )
        seen = history[shopper]
        before = call(f"/recommendations?recommender=foryou&userId={shopper}&numResults=5")
        _show(console, f"GET /recommendations?recommender=foryou&userId={shopper}", before)
        category = dict(
            zip(
                tables["items"].column("ITEM_ID").to_pylist(),
                tables["items"].column("CATEGORY").to_pylist(),
                strict=True,
            )
        )
        liked = {category[i] for i in seen}
        fresh = [i for i in category if category[i] not in liked]
        new_item = fresh[0]
        visited = [i for i in fresh if category[i] == category[new_item]][:3]
        now = int(__import__("time").time())
        event = {
            "sessionId": "demo-session",
            "userId": shopper,
            "trackingId": "store.interactions",
            "eventList": [
                {"eventType": "view", "itemId": i, "sentAt": now + k} for k, i in enumerate(visited)
            ],
        }
        console.print(
            f"[cyan]POST /events[/cyan] {shopper} views {', '.join(visited)} "
            f"({category[new_item]}, a category they never looked at)"
        )
        call("/events", event)
        after = call(f"/recommendations?recommender=foryou&userId={shopper}&numResults=5")
        _show(console, "GET /recommendations again, no retraining", after)
        related = call(f"/related-items?recommender=similar&itemId={new_item}&numResults=3")
        _show(console, f"GET /related-items?recommender=similar&itemId={new_item}", related)
        promotion = {
            "name": "new-in",
            "percentPromotedItems": 40,
            "filter": "INCLUDE ItemID WHERE Items.CATEGORY IN ($C)",
            "filterValues": {"C": f'"{category[new_item]}"'},
        }
        query = urllib.parse.urlencode(
            {"recommender": "foryou", "userId": shopper, "numResults": 5,
             "promotions": json.dumps([promotion])}
        )  # fmt: skip
        promoted = call(f"/recommendations?{query}")
        _show(console, f"GET /recommendations with a promotion of {category[new_item]} (40%)",
              promoted)  # fmt: skip
        facts["promoted"] = [i["itemId"] for i in promoted["itemList"] if "promotionName" in i]
        facts["changed"] = [i["itemId"] for i in before["itemList"]] != [
            i["itemId"] for i in after["itemList"]
        ]
        facts["reasons_after"] = [r for i in after["itemList"] for r in i["reasons"]]
        facts["related"] = len(related["itemList"])
        facts["event_item"] = new_item
        facts["shopper"] = shopper
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
    facts["server_exit"] = server.returncode
    # The other direction: who to tell about a product, or about a whole category.
    jobs = folder / "samples" / "store" / "audiences.jsonl"
    chosen = facts["event_item"]
    jobs.write_text(
        json.dumps({"itemId": chosen})
        + "\n"
        + json.dumps({"itemAttributes": f'ITEMS.CATEGORY = "{category[chosen]}"'})
        + "\n"
    )
    console.print(
        f"[cyan]oaklake rec segment foryou --input {jobs.name} --output store.audiences -n 100"
        "[/cyan]"
    )
    lake.rec_segment("foryou", input=jobs, output="store.audiences", num_users=100)
    audiences = lake.sql(
        "SELECT coalesce(item_id, item_attributes) AS segment, count(*) AS users, "
        "string_agg(user_id, ', ' ORDER BY rank) FILTER (WHERE rank <= 4) AS first_users "
        "FROM store.audiences GROUP BY 1 ORDER BY 1"
    ).rows
    for who, count, first in audiences:
        console.print(f"  {who}: {count} users, first {first}", highlight=False)
    facts["audiences"] = {str(who): int(count) for who, count, _ in audiences}
    return facts


def _wait_for(url: str, server: Any) -> None:
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"oaklake serve exited: {server.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - localhost
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError("oaklake serve did not start within 120 s")


def _show(console: Any, title: str, body: dict[str, Any]) -> None:
    console.print(f"[cyan]{title}[/cyan]")
    for rank, item in enumerate(body["itemList"], start=1):
        score = "-" if item["score"] is None else f"{item['score']:.3f}"
        console.print(
            f"  {rank}. {item['itemId']:<8} {score:>7}  {'; '.join(item['reasons'])}",
            highlight=False,
        )
