"""A quality run end to end: input checks, the recorded run, row-level outcomes, notifications."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import oaklake
from oaklake.app import Lake
from oaklake.errors import InvalidInput, NotFound, SchemaNotFound, TableNotFound
from oaklake.quality import run as run_mod
from oaklake.quality.parse import DqdlSyntaxError
from oaklake.quality.results import DqResult, RuleResult
from oaklake.quality.store import SCHEMA

RULES = 'Rules = [ RowCount > 3, IsComplete "email" ]'
PASSING = "Rules = [ RowCount > 3 ]"


# ---------------------------------------------------------------------------------------------
# Fixtures: a table, a real webhook receiver.


@pytest.fixture
def orders(lake: Lake) -> str:
    lake.sql("CREATE TABLE orders (id int, email string)")
    lake.sql("INSERT INTO orders VALUES (1, 'a@x'), (2, 'b@x'), (3, NULL), (4, 'd@x'), (5, 'e@x')")
    return "default.orders"


def recorded(lake: Lake, table: str = "dq_runs") -> int:
    if not lake.catalog.schema_exists(SCHEMA):
        return 0
    return int(lake.sql(f"SELECT count(*) FROM {SCHEMA}.{table}").scalar())


class Receiver(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.events: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.events.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def with_notify(lake: Lake, toml: str) -> Lake:
    """The same workspace reopened with a [notify] section added to its oaklake.toml."""
    path = lake.settings.root / "oaklake.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n" + toml, encoding="utf-8")
    lake.close()
    return oaklake.connect(lake.settings.root)


def webhook(url: str) -> str:
    return f'[notify]\nretries = 0\n\n[[notify.sinks]]\ntype = "webhook"\nurl = "{url}"\n'


# ---------------------------------------------------------------------------------------------
# A run and what it records.


def test_a_run_is_evaluated_recorded_and_returned(lake: Lake, orders: str):
    result = lake.dq_run(RULES, table="orders")
    assert result.dataset == "default.orders"
    assert [(r.rule, r.outcome) for r in result.rules] == [
        ("RowCount > 3", "Passed"),
        ('IsComplete "email"', "Failed"),
    ]
    assert result.score == 0.5 and not result.passed
    assert result.run_id
    runs = lake.sql(
        f"SELECT run_id, dataset, score, rules_failed, rows_processed, dataset_kind "
        f"FROM {SCHEMA}.dq_runs"
    ).rows
    assert runs == [(result.run_id, "default.orders", 0.5, 1, 5, "table")]
    metrics = dict(lake.sql(f"SELECT metric, value FROM {SCHEMA}.dq_metrics").rows)
    assert metrics["Dataset.*.RowCount"] == 5
    assert metrics["Column.email.Completeness"] == pytest.approx(0.8)


def test_rules_from_a_file_a_query_and_a_snapshot(lake: Lake, orders: str, tmp_path: Path):
    rules = tmp_path / "checks.dqdl"
    rules.write_text(PASSING + "\n", encoding="utf-8")
    assert lake.dq_run(rules, table=orders).passed
    assert lake.dq_run(str(rules), table=orders).passed

    by_sql = lake.dq_run(PASSING, sql="SELECT * FROM orders WHERE id > 2")
    assert by_sql.dataset.startswith("sql:") and not by_sql.passed  # 3 rows
    same = lake.dq_run(PASSING, sql="SELECT *   FROM orders\nWHERE id > 2")
    assert same.dataset == by_sql.dataset  # the same query keeps one history

    first = lake.table(orders).iceberg.current_snapshot().snapshot_id
    lake.sql("DELETE FROM orders WHERE id > 1")
    assert not lake.dq_run(PASSING, table=orders).passed
    old = lake.dq_run(PASSING, table=orders, version=first)
    assert old.passed and old.rows_processed == 5
    assert (
        lake.sql(f"SELECT snapshot_id FROM {SCHEMA}.dq_runs WHERE run_id = '{old.run_id}'").scalar()
        == first
    )


def test_a_file_dataset(lake: Lake, tmp_path: Path):
    data = tmp_path / "orders.csv"
    data.write_text("id,email\n1,a\n2,b\n3,c\n4,d\n", encoding="utf-8")
    result = lake.dq_run(RULES, file=data)
    assert result.passed and result.dataset == "orders.csv"
    assert lake.dq_history("orders.csv").rows[0][0] == result.run_id


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"rules": "Rules = [ RowCount > ]", "table": "orders"}, DqdlSyntaxError),
        ({"rules": "Rules = [ Nonsense ]", "table": "orders"}, DqdlSyntaxError),
        ({"rules": "missing.dqdl", "table": "orders"}, NotFound),
        ({"rules": RULES, "table": "nope"}, TableNotFound),
        ({"rules": RULES, "table": "orders", "file": "x.csv"}, InvalidInput),
        ({"rules": RULES}, InvalidInput),
        ({"rules": RULES, "file": "missing.csv"}, NotFound),
        ({"rules": RULES, "sql": "  "}, InvalidInput),
        ({"rules": RULES, "sql": "SELECT * FROM nope"}, TableNotFound),
        ({"rules": RULES, "table": "orders", "version": "abc"}, InvalidInput),
        ({"rules": RULES, "sql": "SELECT 1", "version": 1}, InvalidInput),
        ({"rules": RULES, "table": "orders", "refs": ["bad"]}, InvalidInput),
        ({"rules": RULES, "table": "orders", "refs": ["r=nope.table"]}, NotFound),
        ({"rules": RULES, "table": "orders", "refs": ["r=missing/ref.csv"]}, NotFound),
        ({"rules": RULES, "table": "orders", "refs": ["1x=orders"]}, InvalidInput),
        ({"rules": RULES, "table": "orders", "composite": "rows"}, InvalidInput),
        ({"rules": RULES, "table": "orders", "context": " "}, InvalidInput),
        ({"rules": RULES, "table": "orders", "row_level": "out/rows.xlsx"}, InvalidInput),
        ({"rules": RULES, "table": "orders", "row_level": "rows.xlsx"}, SchemaNotFound),
        ({"rules": RULES, "table": "orders", "row_level": "no/such/dir/o.csv"}, NotFound),
        ({"rules": RULES, "table": "orders", "row_level": "nope.rows"}, SchemaNotFound),
        ({"rules": None, "table": "orders"}, InvalidInput),  # nothing attached
    ],
)
def test_bad_input_is_refused_and_nothing_is_recorded(
    lake: Lake, orders: str, kwargs: dict[str, Any], error: type
):
    rules = kwargs.pop("rules")
    with pytest.raises(error):
        lake.dq_run(rules, **kwargs)
    assert recorded(lake) == 0


def test_references_bind_tables_and_files(lake: Lake, orders: str, tmp_path: Path):
    ref = tmp_path / "ref.csv"
    ref.write_text("id\n1\n", encoding="utf-8")
    refs = run_mod.refs_of(lake, ["customers=orders", f"f={ref}"])
    assert refs["customers"].kind == "table" and refs["customers"].table == "default.orders"
    assert refs["f"].kind == "file"
    assert run_mod.refs_of(lake, {"c": "default.orders"})["c"].name == "default.orders"
    with pytest.raises(InvalidInput, match="given twice"):
        run_mod.refs_of(lake, ["a=orders", "a=orders"])


def test_rules_compare_against_references(lake: Lake, orders: str, tmp_path: Path):
    ref = tmp_path / "ref.csv"
    ref.write_text("id\n1\n2\n3\n4\n5\n", encoding="utf-8")
    rules = 'Rules = [ RowCountMatch "ref" = 1.0, ReferentialIntegrity "id" "ref.id" = 1.0 ]'
    assert lake.dq_run(rules, table="orders", refs=["ref=orders"]).passed
    assert lake.dq_run(rules, table="orders", refs=[f"ref={ref}"]).passed
    ref.write_text("id\n1\n", encoding="utf-8")
    result = lake.dq_run(rules, table="orders", refs={"ref": str(ref)})
    assert [r.outcome for r in result.rules] == ["Failed", "Failed"]


# ---------------------------------------------------------------------------------------------
# Attached rulesets.


def test_attach_then_run_without_rules(lake: Lake, orders: str):
    assert lake.dq_ruleset("orders") is None
    parsed = lake.dq_attach("orders", PASSING)
    assert len(parsed.rules) == 1
    assert lake.dq_ruleset("default.orders") == PASSING
    result = lake.dq_run(table="orders")
    assert result.passed and [r.rule for r in result.rules] == ["RowCount > 3"]
    assert (
        lake.sql(f"SELECT ruleset_hash FROM {SCHEMA}.dq_runs").scalar()
        == lake.sql(f"SELECT ruleset_hash FROM {SCHEMA}.dq_rulesets").scalar()
    )
    # Rules given explicitly win over the attached ones.
    assert not lake.dq_run(RULES, table="orders").passed


def test_attach_from_a_file_and_replace(lake: Lake, orders: str, tmp_path: Path):
    path = tmp_path / "orders.dqdl"
    path.write_text(RULES, encoding="utf-8")
    lake.dq_attach("default.orders", path)
    assert lake.dq_ruleset("orders") == RULES
    lake.dq_attach("orders", str(path))
    lake.dq_attach("orders", PASSING)
    assert lake.dq_ruleset("orders") == PASSING


def test_attach_refuses_bad_rulesets_and_unknown_tables(lake: Lake, orders: str):
    with pytest.raises(DqdlSyntaxError):
        lake.dq_attach("orders", "Rules = [ RowCount > ]")
    with pytest.raises(TableNotFound):
        lake.dq_attach("nope", PASSING)
    with pytest.raises(NotFound):
        lake.dq_attach("orders", "missing.dqdl")
    assert lake.dq_ruleset("orders") is None


# ---------------------------------------------------------------------------------------------
# Row-level outcomes.


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_row_level_outcomes_to_a_file(lake: Lake, orders: str, tmp_path: Path, suffix: str):
    out = tmp_path / f"rows{suffix}"
    lake.dq_run(RULES, table="orders", row_level=out)
    if suffix == ".parquet":
        rows = pq.read_table(out).to_pylist()
    elif suffix == ".jsonl":
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    else:
        import pyarrow.csv as pcsv

        rows = pcsv.read_csv(out).to_pylist()
    assert len(rows) == 5
    by_id = {r["id"]: r for r in rows}
    assert by_id[3]["DataQualityEvaluationResult"] == "Failed"
    assert by_id[1]["DataQualityEvaluationResult"] == "Passed"
    if suffix == ".csv":  # lists are JSON text in a CSV cell
        for row in rows:
            for key in ("DataQualityRulesPass", "DataQualityRulesFail", "DataQualityRulesSkip"):
                row[key] = json.loads(row[key])
    assert by_id[3]["DataQualityRulesFail"] == ['IsComplete "email"']
    assert by_id[1]["DataQualityRulesPass"] == ['IsComplete "email"']
    assert by_id[1]["DataQualityRulesSkip"] == ["RowCount > 3"]


def test_row_level_outcomes_to_a_table_gather_runs(lake: Lake, orders: str):
    lake.sql("CREATE SCHEMA dq")
    first = lake.dq_run(RULES, table="orders", row_level="dq.orders_rows")
    second = lake.dq_run(RULES, table="orders", row_level="dq.orders_rows")
    counts = lake.sql(
        "SELECT dq_run_id, count(*), count_if(dataqualityevaluationresult = "
        "'Failed') FROM dq.orders_rows GROUP BY 1 ORDER BY 1"
    ).rows
    assert sorted(counts) == sorted([(first.run_id, 5, 1), (second.run_id, 5, 1)])


def test_a_failing_row_level_sink_keeps_the_recorded_run(lake: Lake, orders: str, tmp_path: Path):
    lake.sql("CREATE SCHEMA dq")
    lake.sql("CREATE TABLE dq.rows (something_else int)")  # exists with other columns
    with pytest.raises(run_mod.RowLevelWriteFailed) as e:
        lake.dq_run(RULES, table="orders", row_level="dq.rows")
    assert e.value.result.run_id and not e.value.result.passed
    assert recorded(lake) == 1


# ---------------------------------------------------------------------------------------------
# Notifications, delivered to a real HTTP receiver.


def test_a_failed_run_is_announced(lake: Lake, orders: str, receiver: Receiver):
    lake = with_notify(lake, webhook(receiver.url))
    try:
        result = lake.dq_run(RULES, table="orders")
    finally:
        lake.close()
    assert len(receiver.events) == 1
    event = receiver.events[0]
    assert event["kind"] == "quality.failed"
    assert event["dataset"] == "default.orders"
    assert event["title"] == "default.orders: 1 of 2 rules failed"
    assert "score 0.50" in event["summary"] and 'IsComplete "email"' in event["summary"]
    assert event["details"]["run_id"] == result.run_id
    assert event["details"]["failed_rules"][0]["rule"] == 'IsComplete "email"'


def test_a_passing_run_is_not_announced(lake: Lake, orders: str, receiver: Receiver):
    lake = with_notify(lake, webhook(receiver.url))
    try:
        assert lake.dq_run(PASSING, table="orders").passed
        assert not lake.dq_run(RULES, table="orders", notify=False).passed
    finally:
        lake.close()
    assert receiver.events == []


def test_anomalies_alone_are_announced_as_such(lake: Lake, receiver: Receiver):
    from oaklake.quality.results import ObservationResult

    lake = with_notify(lake, webhook(receiver.url))
    result = DqResult(
        dataset="default.t",
        context="default",
        rules=[RuleResult("RowCount > 0", "Passed")],
        observations=[ObservationResult("dropped", "Dataset.*.RowCount", 1, 100, 90, 110)],
    )
    try:
        run_mod.announce(lake, result)
    finally:
        lake.close()
    assert [e["kind"] for e in receiver.events] == ["quality.anomaly"]
    assert receiver.events[0]["title"] == "default.t: 1 anomaly observed"


def test_a_down_sink_does_not_lose_the_result(lake: Lake, orders: str, receiver: Receiver):
    import socket

    with socket.socket() as sock:  # bound, never listening: connecting is refused
        sock.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
        lake = with_notify(
            lake,
            webhook(down) + f'\n[[notify.sinks]]\ntype = "webhook"\n'
            f'name = "up"\nurl = "{receiver.url}"\n',
        )
        try:
            result = lake.dq_run(RULES, table="orders")
        finally:
            lake.close()
    assert not result.passed and result.run_id
    assert len(receiver.events) == 1  # the other sink still got it
    lake = oaklake.connect(lake.settings.root)
    try:
        assert recorded(lake) == 1 and recorded(lake, "dq_rule_results") == 2
    finally:
        lake.close()


def test_a_broken_notify_section_does_not_lose_the_result(lake: Lake, orders: str):
    lake = with_notify(lake, '[[notify.sinks]]\ntype = "pager"\n')
    try:
        result = lake.dq_run(RULES, table="orders")
        assert not result.passed and recorded(lake) == 1
    finally:
        lake.close()


# ---------------------------------------------------------------------------------------------
# History.


def test_history_newest_first(lake: Lake, orders: str):
    assert lake.dq_history("orders").rows == []
    first = lake.dq_run(PASSING, table="orders")
    second = lake.dq_run(RULES, table="orders")
    history = lake.dq_history("orders")
    assert history.columns[:2] == ["run_id", "context"]
    assert [r[0] for r in history.rows] == [second.run_id, first.run_id]
    assert [r[0] for r in lake.dq_history("default.orders", limit=1).rows] == [second.run_id]
    with pytest.raises(TableNotFound):
        lake.dq_history("nope")


# ---------------------------------------------------------------------------------------------
# History feeding dynamic rules and anomaly detection.

DAY0 = dt.datetime(2024, 6, 3, 6, 0, tzinfo=dt.UTC)


def load(lake: Lake, n: int) -> None:
    lake.sql("DELETE FROM orders")
    values = ", ".join(f"({i}, 'x{i}@x')" for i in range(n))
    lake.sql(f"INSERT INTO orders VALUES {values}")


def test_a_dynamic_rule_reads_earlier_runs(lake: Lake, orders: str):
    rule = "Rules = [ RowCount > avg(last(3)) * 0.5 ]"
    results = []
    for day, n in enumerate([10, 12, 11, 9, 3, 10]):
        load(lake, n)
        results.append(lake.dq_run(rule, table="orders", now=DAY0 + dt.timedelta(days=day)))
    evaluated = [r.rules[0].evaluated_rule for r in results]
    assert evaluated == [
        "RowCount > 0",  # no history yet
        "RowCount > 5",  # avg(10) / 2
        "RowCount > 5.5",  # avg(12, 10) / 2
        "RowCount > 5.5",  # avg(11, 12, 10) / 2
        "RowCount > 5.333333333333333",  # avg(9, 11, 12) / 2: 3 rows fail
        "RowCount > 3.8333333333333335",  # avg(3, 9, 11) / 2
    ]
    assert [r.rules[0].outcome for r in results] == ["Passed"] * 4 + ["Failed", "Passed"]
    # History is per context: another context starts from nothing.
    other = lake.dq_run(rule, table="orders", context="backfill")
    assert other.rules[0].evaluated_rule == "RowCount > 0"


def test_detect_anomalies_flags_a_sudden_drop(lake: Lake, orders: str):
    rules = 'Rules = [ DetectAnomalies "RowCount" ]'
    results = []
    for day, n in enumerate([100, 102, 98, 101, 99, 10]):
        load(lake, n)
        results.append(lake.dq_run(rules, table="orders", now=DAY0 + dt.timedelta(days=day)))
    assert [r.passed for r in results] == [True] * 5 + [False]
    assert not results[0].observations  # fewer than 3 earlier points: no verdict
    drop = results[5].observations[0]
    assert (drop.metric, drop.actual, drop.expected) == ("Dataset.*.RowCount", 10, 100)
    assert drop.actual < drop.lower
    stored = lake.sql(
        f"SELECT run_id, actual, is_anomaly FROM {SCHEMA}.dq_observations WHERE is_anomaly"
    ).rows
    assert stored == [(results[5].run_id, 10.0, True)]
    assert (
        lake.sql(
            f"SELECT anomalies FROM {SCHEMA}.dq_runs WHERE run_id = '{results[5].run_id}'"
        ).scalar()
        == 1
    )


def test_an_excluded_point_is_not_learned_from(lake: Lake, orders: str):
    rules = 'Rules = [ DetectAnomalies "RowCount" ]'
    runs = []
    for day, n in enumerate([100, 102, 98, 10]):
        load(lake, n)
        runs.append(lake.dq_run(rules, table="orders", now=DAY0 + dt.timedelta(days=day)))
    assert not runs[3].passed
    # The drop was a known outage: leave it out, and the next normal day is judged without it.
    assert (
        lake.dq_annotate("orders", "Dataset.*.RowCount", run_id=runs[3].run_id, include=False) == 1
    )
    load(lake, 101)
    after = lake.dq_run(rules, table="orders", now=DAY0 + dt.timedelta(days=4))
    assert after.passed
    assert after.observations[0].expected == 100  # mean of 100, 102, 98: the 10 is excluded
