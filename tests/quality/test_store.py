"""The metric store: quality runs as Iceberg rows in oaklake_system, read back as history."""

from __future__ import annotations

import datetime as dt

import pytest

from oaklake.app import Lake
from oaklake.errors import InvalidInput, NotFound
from oaklake.quality.history import MetricHistory
from oaklake.quality.results import AnalyzerResult, DqResult, ObservationResult, RuleResult
from oaklake.quality.store import SCHEMA, TABLES, MetricStore, lit, new_run_id, ruleset_hash

DAY0 = dt.datetime(2024, 6, 1, 6, 0, tzinfo=dt.UTC)
ROWCOUNT = "Dataset.*.RowCount"


def a_run(rows: int, *, dataset: str = "default.orders", context: str = "default") -> DqResult:
    return DqResult(
        dataset=dataset,
        context=context,
        rules=[
            RuleResult("RowCount > 10", "Passed", None, {ROWCOUNT: float(rows)}, {"team": "ops"}),
            RuleResult(
                'IsPrimaryKey "id"',
                "Failed",
                "Value: 0.9 does not meet the constraint requirement!",
                {"Column.id.Uniqueness": 0.9, "Column.id.Completeness": 1.0},
            ),
            RuleResult('Completeness "x" > 0.5', "Error", "column x does not exist"),
        ],
        analyzers=[AnalyzerResult("RowCount", {ROWCOUNT: float(rows)})],
        observations=[],
        rows_processed=rows,
    )


@pytest.fixture
def store(lake: Lake) -> MetricStore:
    return MetricStore(lake)


def record_days(store: MetricStore, counts: list[int], **kw: str) -> list[str]:
    return [
        store.record(
            a_run(n, **kw), ruleset_text="Rules = [ RowCount > 10 ]", at=DAY0 + dt.timedelta(days=i)
        )
        for i, n in enumerate(counts)
    ]


def test_tables_are_created_on_first_use_and_not_before(lake: Lake, store: MetricStore):
    assert not lake.catalog.schema_exists(SCHEMA)
    assert store.values("default.orders", "default", "RowCount > 10", 3) == []  # reading: no DDL
    assert store.points("default.orders", "default", ROWCOUNT) == []
    assert not lake.catalog.schema_exists(SCHEMA)
    store.record(a_run(100))
    assert sorted(lake.catalog.list_tables(SCHEMA)) == sorted(TABLES)
    for name, columns in TABLES.items():
        assert lake.table(f"{SCHEMA}.{name}").columns == [c for c, _ in columns]


def test_a_run_is_queryable_with_sql(lake: Lake, store: MetricStore):
    run_id = store.record(a_run(100), ruleset_text="Rules = [ RowCount > 10 ]", at=DAY0)
    runs = lake.sql(f"SELECT * FROM {SCHEMA}.dq_runs")
    assert len(runs.rows) == 1
    row = dict(zip(runs.columns, runs.rows[0], strict=True))
    assert row["run_id"] == run_id
    assert row["dataset"] == "default.orders" and row["context"] == "default"
    assert row["started_at"] == DAY0.replace(tzinfo=None)  # UTC, stored without a zone
    assert row["score"] == pytest.approx(1 / 3)
    assert (row["rules_total"], row["rules_passed"], row["rules_failed"], row["rules_error"]) == (
        3,
        1,
        1,
        1,
    )
    assert row["rows_processed"] == 100
    assert row["ruleset_hash"] == ruleset_hash("Rules = [ RowCount > 10 ]")

    metrics = lake.sql(
        f"SELECT rule, analyzer, metric, value, ordinal, included FROM {SCHEMA}.dq_metrics "
        "ORDER BY rule NULLS LAST, ordinal"
    ).rows
    assert metrics == [
        ('IsPrimaryKey "id"', None, "Column.id.Uniqueness", 0.9, 0, True),
        ('IsPrimaryKey "id"', None, "Column.id.Completeness", 1.0, 1, True),
        ("RowCount > 10", None, ROWCOUNT, 100.0, 0, True),
        (None, "RowCount", ROWCOUNT, 100.0, 0, True),
    ]
    results = lake.sql(
        f"SELECT rule, outcome, failure_reason, labels['team'] AS team FROM "
        f"{SCHEMA}.dq_rule_results ORDER BY rule"
    ).rows
    assert results == [
        ('Completeness "x" > 0.5', "Error", "column x does not exist", None),
        (
            'IsPrimaryKey "id"',
            "Failed",
            "Value: 0.9 does not meet the constraint requirement!",
            None,
        ),
        ("RowCount > 10", "Passed", None, "ops"),
    ]


def test_one_commit_per_table_per_run(lake: Lake, store: MetricStore):
    store.record(a_run(100))
    before = {n: len(lake.table(f"{SCHEMA}.{n}").iceberg.snapshots()) for n in TABLES}
    result = a_run(120)
    result.observations = [ObservationResult("RowCount jumped", ROWCOUNT, 120, 100, 90, 110)]
    store.record(result)
    after = {n: len(lake.table(f"{SCHEMA}.{n}").iceberg.snapshots()) for n in TABLES}
    grown = {n: after[n] - before[n] for n in TABLES}
    assert grown == {
        "dq_runs": 1,
        "dq_rule_results": 1,
        "dq_metrics": 1,
        "dq_observations": 1,
        "dq_annotations": 0,
        "dq_rulesets": 0,
    }
    obs = lake.sql(f"SELECT metric, actual, expected, lower, upper FROM {SCHEMA}.dq_observations")
    assert obs.rows == [(ROWCOUNT, 120.0, 100.0, 90.0, 110.0)]


def test_values_are_newest_first_and_limited(store: MetricStore):
    record_days(store, [100, 110, 120, 130])
    assert store.values("default.orders", "default", "RowCount > 10", 3) == [130, 120, 110]
    assert store.values("default.orders", "default", "RowCount > 10", 10) == [130, 120, 110, 100]
    assert store.values("default.orders", "default", "RowCount > 10", 0) == []
    # The primary metric is the rule's first one (Uniqueness, not Completeness, for IsPrimaryKey).
    assert store.values("default.orders", "default", 'IsPrimaryKey "id"', 2) == [0.9, 0.9]
    assert store.values("default.orders", "default", "RowCount > 99", 3) == []  # another rule


def test_history_is_kept_per_dataset_and_context(store: MetricStore):
    record_days(store, [100, 110])
    record_days(store, [5, 6], context="nightly")
    record_days(store, [7], dataset="default.other")
    assert store.values("default.orders", "default", "RowCount > 10", 5) == [110, 100]
    assert store.values("default.orders", "nightly", "RowCount > 10", 5) == [6, 5]
    assert store.values("default.other", "default", "RowCount > 10", 5) == [7]


def test_points_are_oldest_first_one_per_run(store: MetricStore):
    record_days(store, [100, 110, 120])
    points = store.points("default.orders", "default", ROWCOUNT)
    # The rule and the analyzer both report RowCount: still one point per run.
    assert [(p.timestamp, p.value, p.included) for p in points] == [
        (DAY0, 100.0, True),
        (DAY0 + dt.timedelta(days=1), 110.0, True),
        (DAY0 + dt.timedelta(days=2), 120.0, True),
    ]
    assert all(p.timestamp.tzinfo is not None for p in points)  # comparable with aware clocks
    assert store.points("default.orders", "default", "Column.nope.Mean") == []


def test_a_point_prefers_unfiltered_reports_of_the_metric(store: MetricStore):
    completeness = "Column.email.Completeness"
    for day, (filtered, full) in enumerate([(0.5, 0.9), (0.4, 0.8)]):
        run = DqResult(
            dataset="default.orders",
            context="default",
            rules=[
                RuleResult(
                    'Completeness "email" > 0.1 where "id > 1"',
                    "Passed",
                    None,
                    {completeness: filtered},
                ),
                RuleResult(
                    'DetectAnomalies "Completeness" "email"', "Passed", None, {completeness: full}
                ),
            ],
        )
        store.record(run, at=DAY0 + dt.timedelta(days=day))
    assert [p.value for p in store.points("default.orders", "default", completeness)] == [0.9, 0.8]
    # The filtered rule's own history is still its own.
    assert store.values(
        "default.orders", "default", 'Completeness "email" > 0.1 where "id > 1"', 5
    ) == [0.4, 0.5]


def test_exclude_and_include_annotations(store: MetricStore):
    ids = record_days(store, [100, 110, 5, 120])
    assert store.annotate("default.orders", ROWCOUNT, run_id=ids[2], include=False) == 1
    points = store.points("default.orders", "default", ROWCOUNT)
    assert [p.included for p in points] == [True, True, False, True]
    assert [p.value for p in points] == [100, 110, 5, 120]  # still there, just not learned from
    # Dynamic rules skip the excluded value too.
    assert store.values("default.orders", "default", "RowCount > 10", 3) == [120, 110, 100]
    # Other metrics of that run are untouched.
    assert store.values("default.orders", "default", 'IsPrimaryKey "id"', 4) == [0.9] * 4
    # The latest annotation wins: include it again, by time this time.
    assert (
        store.annotate("default.orders", ROWCOUNT, at=DAY0 + dt.timedelta(days=2), include=True)
        == 1
    )
    assert [p.included for p in store.points("default.orders", "default", ROWCOUNT)] == [True] * 4


def test_annotations_apply_per_context(store: MetricStore):
    ids = record_days(store, [100, 110])
    record_days(store, [100, 110], context="nightly")
    store.annotate("default.orders", ROWCOUNT, run_id=ids[0], include=False)
    assert [p.included for p in store.points("default.orders", "default", ROWCOUNT)] == [
        False,
        True,
    ]
    assert [p.included for p in store.points("default.orders", "nightly", ROWCOUNT)] == [True, True]


def test_annotation_mistakes(store: MetricStore):
    ids = record_days(store, [100])
    with pytest.raises(NotFound) as e:
        store.annotate("default.orders", "Dataset.*.RowCont", run_id=ids[0], include=False)
    assert "did you mean 'Dataset.*.RowCount'" in (e.value.hint or "")
    with pytest.raises(NotFound):
        store.annotate("default.orders", ROWCOUNT, run_id="dq-nope", include=False)
    with pytest.raises(InvalidInput):
        store.annotate("default.orders", ROWCOUNT, include=False)
    with pytest.raises(InvalidInput):
        store.annotate("default.orders", ROWCOUNT, run_id=ids[0], at=DAY0, include=False)


def test_store_is_a_metric_history(store: MetricStore):
    history: MetricHistory = store  # the evaluator's protocol, structurally
    assert history.values("x", "default", "RowCount > 1", 1) == []


def test_attached_rulesets_latest_wins(store: MetricStore):
    assert store.ruleset("default.orders") is None
    store.attach("default.orders", "Rules = [ RowCount > 0 ]")
    store.attach("default.orders", "Rules = [ RowCount > 5 ]")
    store.attach("default.other", 'Rules = [ IsComplete "id" ]')
    assert store.ruleset("default.orders") == "Rules = [ RowCount > 5 ]"
    assert store.ruleset("default.other") == 'Rules = [ IsComplete "id" ]'
    store.attach("default.orders", None)  # detach
    assert store.ruleset("default.orders") is None


def test_quotes_in_names_are_data_not_sql(store: MetricStore):
    tricky = "default.o'rders"
    store.record(a_run(100, dataset=tricky, context="it's"), at=DAY0)
    assert store.values(tricky, "it's", "RowCount > 10", 1) == [100]
    assert lit("a'b") == "'a''b'" and lit(None) == "NULL"


def test_run_ids_sort_by_time():
    early = new_run_id(DAY0)
    late = new_run_id(DAY0 + dt.timedelta(microseconds=1))
    assert early.startswith("dq-20240601T060000000000-") and early < late
    assert new_run_id(DAY0) != new_run_id(DAY0)


def test_docs_list_every_system_table_column():
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "dqdl.md").read_text("utf-8")
    for name, columns in TABLES.items():
        row = re.search(rf"^\| `{name}` \|(.*)$", page, re.M)
        assert row, f"docs/dqdl.md has no row for {name}"
        missing = [col for col, _ in columns if f"`{col}`" not in row[1]]
        assert not missing, f"docs/dqdl.md: {name} lacks {missing}"


def test_tables_of_an_older_version_gain_the_new_columns(lake: Lake, store: MetricStore):
    store.record(a_run(100), at=DAY0)
    lake.sql(f"ALTER TABLE {SCHEMA}.dq_runs DROP COLUMN anomalies")  # as an older oaklake made it
    later = MetricStore(lake)
    assert later.values("default.orders", "default", "RowCount > 10", 1) == [100]
    later.record(a_run(110), at=DAY0 + dt.timedelta(days=1))
    assert lake.sql(f"SELECT anomalies FROM {SCHEMA}.dq_runs ORDER BY started_at").rows == [
        (None,),
        (0,),
    ]
