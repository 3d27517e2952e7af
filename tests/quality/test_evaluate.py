"""The evaluator: every rule type, the worked examples of docs/dqdl.md, fused scans, errors that
stay local, dynamic rules and anomaly detection over an in-memory history, row-level outcomes,
and oracle cross-checks against plain DuckDB / Python on the same data."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
import statistics
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

import oaklake
from oaklake.app import Lake
from oaklake.errors import InvalidInput
from oaklake.quality.anomaly import Point
from oaklake.quality.dataset import Dataset
from oaklake.quality.evaluate import evaluate
from oaklake.quality.parse import parse_ruleset
from oaklake.quality.results import DqResult, RuleResult

NOW = dt.datetime(2024, 6, 2, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def qlake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    lake = oaklake.init(tmp_path_factory.mktemp("dq") / "ws")
    yield lake
    lake.close()


class MemoryHistory:
    """A MetricHistory in a dict: values per (dataset, context, rule), points per metric."""

    def __init__(
        self,
        values: dict[str, list[float]] | None = None,
        points: dict[str, list[Point]] | None = None,
    ) -> None:
        self._values = values or {}
        self._points = points or {}
        self.asked: list[tuple[str, str, str, int]] = []

    def values(self, dataset: str, context: str, rule: str, limit: int) -> list[float]:
        self.asked.append((dataset, context, rule, limit))
        return self._values.get(rule, [])[:limit]

    def points(self, dataset: str, context: str, metric: str) -> list[Point]:
        return self._points.get(metric, [])


def values_sql(columns: str, rows: list[str]) -> Dataset:
    """A dataset from literal rows: ``values_sql("x, y", ["(1, 'a')", "(2, NULL)"])``."""
    return Dataset.of_sql(f"SELECT * FROM (VALUES {', '.join(rows)}) AS t({columns})", name="t")


def run(lake: Lake, rules: str, dataset: Dataset, **options: Any) -> DqResult:
    text = rules if "Rules" in rules or "Analyzers" in rules else f"Rules = [ {rules} ]"
    options.setdefault("now", NOW)
    return evaluate(lake.engine, parse_ruleset(text), dataset, **options)


def only(result: DqResult) -> RuleResult:
    assert len(result.rules) == 1
    return result.rules[0]


def by_rule(result: DqResult) -> dict[str, RuleResult]:
    return {r.rule: r for r in result.rules}


# ---- the worked examples of the spec ---------------------------------------------------------

NUMS = values_sql("v", ["(0.4)", "(0.9)"])


def test_between_is_exclusive_on_both_bounds(qlake: Lake) -> None:
    r = only(run(qlake, 'ColumnValues "v" between 0.4 and 0.9', NUMS))
    assert r.outcome == "Failed"
    assert r.metrics == {"Column.v.ColumnValues.Compliance": 0.0}
    assert only(run(qlake, 'ColumnValues "v" between 0.3 and 1.0', NUMS)).outcome == "Passed"
    # not between: v <= a or v >= b, so the bounds themselves pass
    assert only(run(qlake, 'ColumnValues "v" not between 0.4 and 0.9', NUMS)).outcome == "Passed"
    # a metric between its own value and more fails too
    assert only(run(qlake, "RowCount between 2 and 3", NUMS)).outcome == "Failed"
    assert only(run(qlake, "RowCount between 1 and 3", NUMS)).outcome == "Passed"


def test_standard_deviation_is_the_population_one_over_non_nulls(qlake: Lake) -> None:
    data = values_sql("v", ["(0)", "(20)", "(40)", "(NULL)"])
    r = only(run(qlake, 'StandardDeviation "v" between 16.32 and 16.34', data))
    assert r.outcome == "Passed"
    assert r.metrics["Column.v.StandardDeviation"] == pytest.approx(16.3299316, abs=1e-6)
    v = only(run(qlake, 'Variance "v" > 0', data)).metrics["Column.v.Variance"]
    assert v == pytest.approx(800 / 3)


NULLS = values_sql("v", ["(1)", "(5)", "(NULL)"])


@pytest.mark.parametrize(
    ("condition", "outcome", "compliance"),
    [
        ("> 0", "Failed", None),  # NULL fails a positive check
        ("= 1", "Failed", 1 / 3),
        ("!= 5", "Failed", 2 / 3),  # ... and passes != (the 5 fails)
        ("!= 7", "Passed", 1.0),
        ("not in [21]", "Passed", 1.0),  # ... and not in
        ("not in [21, NULL]", "Failed", 2 / 3),  # unless NULL is listed
        ("in [1, 5]", "Failed", 2 / 3),
        ("in [1, 5, NULL]", "Passed", 1.0),
        ("= NULL", "Failed", 1 / 3),
        ("!= NULL", "Failed", 2 / 3),
        ("between 0 and 6", "Failed", 2 / 3),
        ("not between 2 and 3", "Failed", 2 / 3),
    ],
)
def test_null_rows_follow_the_docs_table(
    qlake: Lake, condition: str, outcome: str, compliance: float | None
) -> None:
    r = only(run(qlake, f'ColumnValues "v" {condition}', NULLS))
    assert r.outcome == outcome, r.failure_reason
    if compliance is not None:
        assert r.metrics["Column.v.ColumnValues.Compliance"] == pytest.approx(compliance)


def test_a_failure_caused_only_by_nulls_says_value_null(qlake: Lake) -> None:
    r = only(run(qlake, 'ColumnValues "v" > 0', NULLS))
    assert r.failure_reason == "Value: NULL does not meet the constraint requirement!"
    assert r.metrics == {"Column.v.Minimum": 1.0}
    r = only(run(qlake, 'ColumnValues "v" in [1, 5]', NULLS))
    assert r.failure_reason == "Value: NULL does not meet the constraint requirement!"
    r = only(run(qlake, 'ColumnValues "v" > 2', NULLS))
    assert r.failure_reason == "Value: 1.0 does not meet the constraint requirement!"
    r = only(run(qlake, 'ColumnValues "v" in [1]', NULLS))
    assert r.failure_reason == "33.33 % of rows passed the threshold"


def test_string_null_semantics_empty_and_whitespace(qlake: Lake) -> None:
    data = values_sql("s", ["('a')", "('')", "('  ')", "(NULL)", "(chr(9))"])
    cases = {
        'ColumnValues "s" = EMPTY with threshold = 0.2': "Passed",
        'ColumnValues "s" = WHITESPACES_ONLY with threshold = 0.4': "Passed",  # spaces, a tab
        'ColumnValues "s" != EMPTY with threshold = 0.8': "Passed",  # NULL passes !=
        'ColumnValues "s" in ["a", EMPTY] with threshold = 0.4': "Passed",
        'ColumnValues "s" not in ["a", NULL] with threshold = 0.6': "Passed",
        'ColumnValues "s" matches "[a-z]" with threshold = 0.2': "Passed",
        'ColumnValues "s" not matches "[a-z]" with threshold = 0.6': "Passed",  # NULL fails
    }
    result = run(qlake, ", ".join(cases), data)
    for (rule, expected), got in zip(cases.items(), result.rules, strict=True):
        assert got.outcome == expected, (rule, got)


def test_matches_is_a_whole_string_match(qlake: Lake) -> None:
    data = values_sql("s", ["('abc')", "('abc1')"])
    r = only(run(qlake, 'ColumnValues "s" matches "[a-z]+"', data))
    assert r.outcome == "Failed"
    assert r.metrics["Column.s.ColumnValues.Compliance"] == 0.5
    assert only(run(qlake, 'ColumnValues "s" matches "[a-z0-9]*"', data)).outcome == "Passed"


def test_column_length_reads_null_as_length_zero(qlake: Lake) -> None:
    data = values_sql("s", ["('hello')", "(NULL)"])
    longer = only(run(qlake, 'ColumnLength "s" > 4', data))
    assert longer.outcome == "Failed"
    assert longer.failure_reason == "Value: 0.0 does not meet the constraint requirement!"
    assert longer.metrics == {"Column.s.MinimumLength": 0.0, "Column.s.MaximumLength": 5.0}
    assert only(run(qlake, 'ColumnLength "s" < 6', data)).outcome == "Passed"
    inlist = only(run(qlake, 'ColumnLength "s" in [0, 5]', data))
    assert inlist.outcome == "Passed"
    assert inlist.metrics["Column.s.LengthCompliance"] == 1.0


DOC_COMPOSITE = values_sql("myCol1, myCol2", ["(2, 1)", "(0, 3)"])
DOC_RULE = '(ColumnValues "myCol1" > 1) or (ColumnValues "myCol2" > 2)'


def test_composite_doc_example_fails_in_dataset_mode(qlake: Lake) -> None:
    r = only(run(qlake, DOC_RULE, DOC_COMPOSITE))
    assert r.outcome == "Failed"
    assert r.metrics == {"Column.myCol1.Minimum": 0.0, "Column.myCol2.Minimum": 1.0}
    assert r.failure_reason == (
        "Value: 0.0 does not meet the constraint requirement!\n"
        "Value: 1.0 does not meet the constraint requirement!"
    )


def test_composite_doc_example_passes_in_row_mode(qlake: Lake) -> None:
    r = only(run(qlake, DOC_RULE, DOC_COMPOSITE, composite="row"))
    assert r.outcome == "Passed", r.failure_reason
    both = only(run(qlake, DOC_RULE.replace(" or ", " and "), DOC_COMPOSITE, composite="row"))
    assert both.outcome == "Failed"
    assert both.failure_reason == "0.00 % of rows passed the threshold"


def test_row_mode_takes_excluded_and_dataset_level_operands_at_dataset_level(qlake: Lake) -> None:
    data = values_sql("a, b", ["(1, NULL)", "(2, 3)"])
    # Completeness is excluded at row level: its dataset outcome (0.5 > 0.4: Passed) counts.
    r = only(
        run(qlake, '(Completeness "b" > 0.4) and (ColumnValues "a" > 0)', data, composite="row")
    )
    assert r.outcome == "Passed"
    r = only(run(qlake, '(RowCount > 5) or (ColumnValues "a" > 1)', data, composite="row"))
    assert r.outcome == "Failed"
    assert r.failure_reason == "50.00 % of rows passed the threshold"


def test_composite_mode_must_be_dataset_or_row(qlake: Lake) -> None:
    with pytest.raises(InvalidInput):
        run(qlake, "RowCount > 0", NUMS, composite="rows")  # type: ignore[arg-type]


def test_aggregate_match_ratios_with_zero(qlake: Lake) -> None:
    zero = values_sql("a, b", ["(0, 0)", "(0, 0)"])
    r = only(run(qlake, 'AggregateMatch "sum(a)" "sum(b)" = 1.0', zero))
    assert r.outcome == "Passed"
    assert r.metrics == {"Column.a,b.AggregateMatch": 1.0}
    some = values_sql("a, b", ["(3, 0)", "(4, 0)"])
    r = only(run(qlake, 'AggregateMatch "sum(a)" "sum(b)" = 0', some))
    assert r.outcome == "Passed"
    assert r.metrics == {"Column.a,b.AggregateMatch": 0.0}
    r = only(run(qlake, 'AggregateMatch "avg(a)" "avg(a)" = 1', some))
    assert r.metrics == {"Column.a.AggregateMatch": 1.0}


def test_uniqueness_counts_rows_with_a_non_null_key(qlake: Lake) -> None:
    data = values_sql("v", ["(1)", "(1)", "(2)", "(NULL)"])
    r = only(run(qlake, 'Uniqueness "v" > 0.3', data))
    assert r.metrics == {"Column.v.Uniqueness": pytest.approx(1 / 3)}
    pair = values_sql("a, b", ["(1, NULL)", "(1, NULL)", "(NULL, NULL)", "(2, 2)"])
    r = only(run(qlake, 'Uniqueness "a" "b" > 0', pair))
    assert r.metrics == {"Multicolumn.a,b.Uniqueness": pytest.approx(1 / 3)}


def test_is_unique_ignores_nulls(qlake: Lake) -> None:
    data = values_sql("v", ["(1)", "(2)", "(NULL)", "(NULL)"])
    r = only(run(qlake, 'IsUnique "v"', data))
    assert r.outcome == "Passed"
    assert r.metrics == {"Column.v.Uniqueness": 1.0}
    dup = values_sql("v", ["(1)", "(1)", "(2)"])
    r = only(run(qlake, 'IsUnique "v"', dup))
    assert r.outcome == "Failed"
    assert r.failure_reason == "Value: 0.3333333333333333 does not meet the constraint requirement!"


def test_entropy_uses_the_natural_log(qlake: Lake) -> None:
    data = values_sql("v", ["('a')", "('a')", "('b')", "('b')", "(NULL)"])
    r = only(run(qlake, 'Entropy "v" > 0.69', data))
    assert r.outcome == "Passed"
    assert r.metrics["Column.v.Entropy"] == pytest.approx(math.log(2))


def test_distinct_values_count_counts_null_as_one_bucket(qlake: Lake) -> None:
    data = values_sql("v", ["('a')", "('b')", "('b')", "(NULL)", "(NULL)"])
    r = only(run(qlake, 'DistinctValuesCount "v" = 3', data))
    assert r.outcome == "Passed", r.metrics
    assert only(run(qlake, 'UniqueValueRatio "v" = 0.5', data)).outcome == "Passed"


# ---- every rule type -----------------------------------------------------------------------

PEOPLE = values_sql(
    "id, name, age, email, joined, score",
    [
        "(1, 'ann', 34, 'ann@x.org', TIMESTAMP '2024-06-01 10:00:00', 0.5)",
        "(2, 'bob', 41, NULL, TIMESTAMP '2024-05-20 10:00:00', 0.0)",
        "(3, 'cy', NULL, 'cy@x.org', TIMESTAMP '2024-06-02 09:00:00', 0.9)",
        "(4, 'dee', 29, 'dee@y.org', NULL, 0.0)",
    ],
)

EVERY_RULE = {
    "RowCount = 4": ("Passed", {"Dataset.*.RowCount": 4.0}),
    "ColumnCount = 6": ("Passed", {"Dataset.*.ColumnCount": 6.0}),
    'ColumnExists "email"': ("Passed", {"Dataset.email.ColumnExists": 1.0}),
    'ColumnExists "phone"': ("Failed", {"Dataset.phone.ColumnExists": 0.0}),
    'ColumnNamesMatchPattern "[a-z]+"': ("Passed", {"Dataset.*.ColumnNamesPatternMatchRatio": 1.0}),
    'ColumnNamesMatchPattern "[a-z]{3,}"': (
        "Failed",
        {"Dataset.*.ColumnNamesPatternMatchRatio": 5 / 6},
    ),
    'ColumnDataType "age" = "Integer"': ("Failed", {"Column.age.ColumnDataType.Compliance": 0.75}),
    'ColumnDataType "name" != "Integer"': (
        "Passed",
        {"Column.name.ColumnDataType.Compliance": 1.0},
    ),
    'Completeness "email" >= 0.75': ("Passed", {"Column.email.Completeness": 0.75}),
    'IsComplete "id"': ("Passed", {"Column.id.Completeness": 1.0}),
    'Uniqueness "score" = 0.5': ("Passed", {"Column.score.Uniqueness": 0.5}),
    'IsUnique "id"': ("Passed", {"Column.id.Uniqueness": 1.0}),
    'IsPrimaryKey "id"': ("Passed", {"Column.id.Completeness": 1.0, "Column.id.Uniqueness": 1.0}),
    'IsPrimaryKey "age"': (
        "Failed",
        {"Column.age.Completeness": 0.75, "Column.age.Uniqueness": 1.0},
    ),
    'UniqueValueRatio "score" = 0.6666666666666666': (
        "Passed",
        {"Column.score.UniqueValueRatio": 2 / 3},
    ),
    'DistinctValuesCount "score" = 3': ("Passed", {"Column.score.DistinctValuesCount": 3.0}),
    'Entropy "id" > 1.38': ("Passed", {"Column.id.Entropy": math.log(4)}),
    'Mean "age" = 34.666666666666664': ("Passed", {"Column.age.Mean": 104 / 3}),
    'Sum "score" = 1.4': ("Passed", {"Column.score.Sum": 1.4}),
    'StandardDeviation "id" < 2': ("Passed", {"Column.id.StandardDeviation": math.sqrt(1.25)}),
    'Variance "id" = 1.25': ("Passed", {"Column.id.Variance": 1.25}),
    'ColumnCorrelation "id" "id" > 0.99': ("Passed", {"Multicolumn.id,id.ColumnCorrelation": 1.0}),
    'ColumnLength "name" between 1 and 4': (
        "Passed",
        {"Column.name.MinimumLength": 2.0, "Column.name.MaximumLength": 3.0},
    ),
    'ColumnValues "id" <= 4': ("Passed", {"Column.id.Maximum": 4.0}),
    'ColumnValues "name" in ["ann","bob"] with threshold >= 0.5': (
        "Passed",
        {"Column.name.ColumnValues.Compliance": 0.5},
    ),
    'DataFreshness "joined" <= 2 days': (
        "Failed",
        {"Column.joined.DataFreshness.Compliance": 0.5},
    ),
    'CustomSql "select max(age) from primary" = 41': ("Passed", {"Dataset.*.CustomSQL": 41.0}),
    'CustomSql "select id from primary where age > 30"': (
        "Failed",
        {"Dataset.*.CustomSQL.Compliance": 0.5},
    ),
    'CustomSql "select id, name from primary where age > 30" with threshold = 0.5': (
        "Passed",
        {"Dataset.*.CustomSQL.Compliance": 0.5},
    ),
    'Range "age" = 12': ("Passed", {"Column.age.Range": 12.0}),
    'InterquartileRange "id" = 1.5': ("Passed", {"Column.id.InterquartileRange": 1.5}),
    'Skewness "id" = 0': ("Passed", {"Column.id.Skewness": 0.0}),
    'Kurtosis "id" < 0': ("Passed", {"Column.id.Kurtosis": -1.36}),
    'ZerosCount "score" = 2': ("Passed", {"Column.score.ZerosCount": 2.0}),
    'DuplicateRowCount "score" = 2': ("Passed", {"Multicolumn.score.DuplicateRowCount": 2.0}),
    "DuplicateRowCount = 0": ("Passed", {"Dataset.*.DuplicateRowCount": 0.0}),
}


@pytest.fixture(scope="module")
def every(qlake: Lake) -> DqResult:
    return run(qlake, ", ".join(EVERY_RULE), PEOPLE)


@pytest.mark.parametrize("rule", list(EVERY_RULE))
def test_every_rule_type(every: DqResult, rule: str) -> None:
    outcome, metrics = EVERY_RULE[rule]
    result = by_rule(every)[rule]
    assert result.outcome == outcome, result.failure_reason
    assert result.metrics == pytest.approx(metrics)
    if outcome == "Failed":
        assert result.failure_reason


def test_every_rule_type_in_the_catalogue_is_covered() -> None:
    from oaklake.quality.rules import RULES

    covered = {r.split(" ")[0] for r in EVERY_RULE}
    elsewhere = {
        "ReferentialIntegrity",  # test_reference_rules
        "DatasetMatch",
        "RowCountMatch",
        "SchemaMatch",
        "AggregateMatch",  # test_aggregate_match_ratios_with_zero
        "DetectAnomalies",  # test_detect_anomalies_*
        "AllStatistics",  # test_analyzers_report_metrics_only
        "FileFreshness",  # test_file_rules
        "FileMatch",
        "FileSize",
        "FileUniqueness",
    }
    assert set(RULES) <= covered | elsewhere


def test_failure_reasons_are_glue_shaped(every: DqResult) -> None:
    rules = by_rule(every)
    assert rules['ColumnNamesMatchPattern "[a-z]{3,}"'].failure_reason == (
        "Columns that do not match the pattern: id"
    )
    assert rules['DataFreshness "joined" <= 2 days'].failure_reason == (
        "50.00 % of rows passed the threshold"
    )
    assert rules['IsPrimaryKey "age"'].failure_reason == (
        "Value: 0.75 does not meet the constraint requirement!"
    )
    assert rules['ColumnExists "phone"'].failure_reason == "Column 'phone' does not exist"


def test_threshold_failure_reports_the_share(qlake: Lake) -> None:
    r = only(run(qlake, 'ColumnValues "name" in ["ann"] with threshold > 0.5', PEOPLE))
    assert r.outcome == "Failed"
    assert r.failure_reason == "Value: 0.25 does not meet the constraint requirement!"


def test_date_conditions_and_now(qlake: Lake) -> None:
    rules = {
        'ColumnValues "joined" > (now() - 3 days) with threshold = 0.5': "Passed",
        'ColumnValues "joined" > "2024-05-25" with threshold = 0.5': "Passed",
        'ColumnValues "joined" between "2024-05-01" and "2024-07-01" with threshold = 0.75': (
            "Passed"
        ),
        'ColumnValues "joined" <= now()': "Failed",  # the NULL row fails
    }
    result = run(qlake, ", ".join(rules), PEOPLE)
    for rule, expected in rules.items():
        assert by_rule(result)[rule].outcome == expected, by_rule(result)[rule]


def test_data_freshness_uses_the_frozen_now(qlake: Lake) -> None:
    later = NOW + dt.timedelta(days=30)
    r = only(run(qlake, 'DataFreshness "joined" <= 2 days', PEOPLE, now=later))
    assert r.metrics["Column.joined.DataFreshness.Compliance"] == 0.0
    r = only(run(qlake, 'DataFreshness "joined" > 1 hours', PEOPLE))
    assert r.metrics["Column.joined.DataFreshness.Compliance"] == 0.75  # NULL fails
    r = only(run(qlake, 'DataFreshness "joined" between 2 hours and 2 days', PEOPLE))
    assert r.metrics["Column.joined.DataFreshness.Compliance"] == 0.5


def test_column_data_type_counts_castable_strings(qlake: Lake) -> None:
    data = values_sql("s", ["('12')", "('x')", "('3.5')", "('2024-01-31')", "(NULL)"])
    result = run(
        qlake,
        'ColumnDataType "s" = "Integer" with threshold > 0.3, '
        'ColumnDataType "s" = "Double" with threshold >= 0.4, '
        'ColumnDataType "s" = "Date" with threshold = 0.2, '
        'ColumnDataType "s" in ["Date", "Integer"] with threshold > 0.5, '
        'ColumnDataType "s" = "DECIMAL(5,1)" with threshold = 0.4, '
        'ColumnDataType "s" = "Varchar"',
        data,
    )
    rules = by_rule(result)
    outcomes = [r.outcome for r in result.rules]
    assert outcomes == ["Passed", "Passed", "Passed", "Passed", "Passed", "Error"], rules
    assert result.rules[-1].failure_reason.startswith("Unrecognized data type: Varchar")
    dated = values_sql("s", ["('31/12/2024')", "('2024-12-31')"])
    r = only(run(qlake, 'ColumnDataType "s" = "Date" with format = "dd/MM/yyyy"', dated))
    assert r.metrics == {"Column.s.ColumnDataType.Compliance": 0.5}


def test_where_filters_rows_and_denominators(qlake: Lake) -> None:
    result = run(
        qlake,
        'RowCount = 2 where "age > 30", '
        'Completeness "email" = 0.5 where "age > 30", '
        'ColumnValues "name" in ["ann", "bob"] where "age > 30", '
        'IsUnique "score" where "score > 0", '
        'Mean "age" = 41 where "name = \'bob\'"',
        PEOPLE,
    )
    assert [r.outcome for r in result.rules] == ["Passed"] * 5, result.rules


def test_a_where_that_matches_no_rows_passes_with_a_note(qlake: Lake) -> None:
    result = run(
        qlake,
        'ColumnValues "age" > 100 where "age > 1000", Mean "age" > 100 where "age > 1000", '
        'RowCount > 0 where "age > 1000"',
        PEOPLE,
    )
    first, second, third = result.rules
    assert (first.outcome, first.failure_reason) == ("Passed", "No rows matched the filter")
    assert (second.outcome, second.failure_reason) == ("Passed", "No rows matched the filter")
    assert third.outcome == "Failed"  # a count of zero is a value


def test_where_is_spark_sql(qlake: Lake) -> None:
    # Spark's / is floating point even for integers; backticks quote names.
    r = only(run(qlake, 'RowCount = 2 where "`id` / 4 > 0.5"', PEOPLE))
    assert r.outcome == "Passed", r.metrics


def test_labels_are_reported(qlake: Lake) -> None:
    text = 'DefaultLabels = ["team"="core"]\nRules = [ RowCount > 0 labels=["sev"="high"] ]'
    r = only(run(qlake, text, PEOPLE))
    assert r.labels == {"team": "core", "sev": "high"}


# ---- errors stay with their rule -------------------------------------------------------------


def test_missing_column_is_an_error_with_a_hint_and_others_still_run(qlake: Lake) -> None:
    result = run(
        qlake,
        'IsComplete "naem", RowCount = 4, ColumnValues "agee" > 0, Completeness "email" > 0.5',
        PEOPLE,
    )
    outcomes = [r.outcome for r in result.rules]
    assert outcomes == ["Error", "Passed", "Error", "Passed"]
    assert result.rules[0].failure_reason == "Column 'naem' does not exist; did you mean 'name'?"
    assert result.rules[2].failure_reason.startswith("Column 'agee' does not exist")
    assert result.score == 0.5


def test_bad_where_is_an_error_and_others_still_run(qlake: Lake) -> None:
    result = run(
        qlake,
        'Completeness "email" > 0.5 where "nosuch > 1", RowCount = 4, '
        'IsUnique "id" where "id >", Mean "age" > 0',
        PEOPLE,
    )
    outcomes = [r.outcome for r in result.rules]
    assert outcomes == ["Error", "Passed", "Error", "Passed"]
    assert result.rules[0].failure_reason.startswith("The where clause is invalid:")
    assert "nosuch" in result.rules[0].failure_reason
    assert result.rules[2].failure_reason.startswith("The where clause is not valid SQL")


def test_other_rule_errors(qlake: Lake) -> None:
    result = run(
        qlake,
        'Mean "name" > 0, ColumnValues "name" matches "(" , CustomSql "select nope from primary", '
        'CustomSql "selec 1" > 0, RowCount > 0',
        PEOPLE,
    )
    rules = result.rules
    assert [r.outcome for r in rules] == ["Error", "Error", "Error", "Error", "Passed"]
    assert rules[0].failure_reason == "Mean needs a numeric column; 'name' is VARCHAR"
    assert rules[1].failure_reason.startswith("Invalid regular expression '('")
    assert rules[2].failure_reason.startswith("The output from CustomSQL must contain")
    assert rules[3].failure_reason.startswith("The SQL statement is not valid")


def test_composite_errors_propagate_unless_decided(qlake: Lake) -> None:
    result = run(
        qlake,
        '(RowCount > 0) or (IsComplete "nope"), (RowCount > 100) or (IsComplete "nope"), '
        '(RowCount > 100) and (IsComplete "nope")',
        PEOPLE,
    )
    assert [r.outcome for r in result.rules] == ["Passed", "Error", "Failed"]


# ---- one dataset, three ways in --------------------------------------------------------------

SAME_RULES = (
    'RowCount = 4, IsComplete "id", IsUnique "id", Completeness "email" = 0.75, '
    'ColumnValues "age" between 20 and 50 with threshold >= 0.75, Mean "score" > 0.3, '
    'Entropy "name" > 1, DistinctValuesCount "email" = 4, ColumnLength "name" <= 3, '
    'StandardDeviation "age" < 10, ColumnValues "email" matches "[a-z]+@[a-z]+\\\\.org" '
    "with threshold = 0.75"
)


def test_table_sql_csv_and_parquet_give_the_same_outcomes(qlake: Lake, tmp_path: Path) -> None:
    qlake.sql("CREATE TABLE people3 (id int, name varchar, age int, email varchar, score double)")
    qlake.sql(
        "INSERT INTO people3 VALUES (1, 'ann', 34, 'ann@x.org', 0.5), (2, 'bob', 41, NULL, 0.0),"
        " (3, 'cy', NULL, 'cy@x.org', 0.9), (4, 'dee', 29, 'dee@y.org', 0.0)"
    )
    csv = tmp_path / "people.csv"
    csv.write_text(
        "id,name,age,email,score\n1,ann,34,ann@x.org,0.5\n2,bob,41,,0.0\n3,cy,,cy@x.org,0.9\n"
        "4,dee,29,dee@y.org,0.0\n"
    )
    parquet = tmp_path / "people.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{csv}')) TO '{parquet}' (FORMAT parquet)")
    datasets = [
        Dataset.of_table("people3"),
        Dataset.of_sql("SELECT * FROM people3 WHERE id > 0"),
        Dataset.of_file(csv),
        Dataset.of_file(parquet),
    ]
    seen = []
    for ds in datasets:
        result = run(qlake, SAME_RULES, ds)
        seen.append([(r.rule, r.outcome, r.metrics) for r in result.rules])
        assert result.rows_processed == 4
    assert all(s == seen[0] for s in seen[1:])
    assert [o for _, o, _ in seen[0]] == ["Passed"] * 11, seen[0]


# ---- fused scans -----------------------------------------------------------------------------


class CountingConnection:
    """Passes everything to DuckDB and records the SQL of every execute."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self.log: list[str] = []

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        self.log.append(sql)
        return self._con.execute(sql, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


TWENTY = (
    'RowCount > 0, IsComplete "id", Completeness "email" > 0.5, IsUnique "id", '
    'Uniqueness "id" > 0.9, IsPrimaryKey "id", ColumnValues "age" between 0 and 120 '
    'with threshold > 0.5, ColumnValues "name" matches "[a-z]+", Mean "age" > 10, '
    'Sum "score" > 0, StandardDeviation "age" < 100, ColumnLength "name" <= 10, '
    'DataFreshness "joined" <= 30 days, ColumnValues "score" >= 0, Completeness "age" > 0.5 '
    'where "score > 0", DistinctValuesCount "name" = 4, Entropy "name" > 1, '
    'UniqueValueRatio "name" > 0.5, ColumnCorrelation "id" and "age" > -1, ColumnCount = 6'
)


def test_twenty_rules_take_one_aggregate_and_one_group_by_per_column_set(
    tmp_path: Path,
) -> None:
    lake = oaklake.init(tmp_path / "ws")
    try:
        counting = CountingConnection(lake.engine.con)
        lake.engine._con = counting  # type: ignore[assignment]
        result = run(lake, TWENTY, PEOPLE)
        assert len(result.rules) == 20
        assert all(r.outcome != "Error" for r in result.rules), result.rules
        view = next(s for s in counting.log if "CREATE" in s).split('"')[1]
        scans = [s for s in counting.log if view in s and s.lstrip().upper().startswith("SELECT")]
        # count(*)…, then GROUP BY id, then GROUP BY name: nothing else reads the data.
        assert len(scans) == 3, scans
        assert sum("GROUP BY" in s for s in scans) == 2
    finally:
        lake.close()


# ---- dynamic rules ---------------------------------------------------------------------------


def test_dynamic_thresholds_read_history_and_show_the_numbers(qlake: Lake) -> None:
    history = MemoryHistory(
        {
            "RowCount > avg(last(3)) * 0.8": [5.0, 4.0, 3.0, 100.0],
            'Completeness "email" between min(last(2)) - 0.1 and max(last(2)) + 0.1': [0.7, 0.8],
            "RowCount < index(last(3),0) + std(last(2))": [3.0, 5.0],  # canonical text
        }
    )
    result = run(
        qlake,
        "RowCount > avg(last(3)) * 0.8, "
        'Completeness "email" between min(last(2)) - 0.1 and max(last(2)) + 0.1, '
        "RowCount < index(last(3), 0) + std(last(2))",
        PEOPLE,
        history=history,
        context="nightly",
    )
    first, second, third = result.rules
    assert first.outcome == "Passed"
    assert first.evaluated_rule == "RowCount > 3.2"
    assert second.outcome == "Passed"
    assert second.evaluated_rule == 'Completeness "email" between 0.6 and 0.9'
    assert third.outcome == "Failed"  # 4 < 3 + 1 is false
    assert third.evaluated_rule == "RowCount < 4"
    assert ("t", "nightly", "RowCount > avg(last(3)) * 0.8", 3) in history.asked


def test_dynamic_rules_without_history_read_zero(qlake: Lake) -> None:
    r = only(run(qlake, "RowCount > avg(last(10)) * 0.5", PEOPLE))
    assert r.outcome == "Passed"
    assert r.evaluated_rule == "RowCount > 0"
    r = only(run(qlake, "RowCount > max(last(10)) + index(last(2), 1)", PEOPLE))
    assert r.evaluated_rule == "RowCount > 0"


def test_a_list_used_as_a_number_is_an_error(qlake: Lake) -> None:
    from oaklake.quality.ast import Compare, FunctionCall, Number, Rule, Ruleset

    rule = Rule(
        "RowCount",
        condition=Compare(">", FunctionCall("last", (Number("3"),))),
        text="RowCount > last(3)",
    )
    result = evaluate(qlake.engine, Ruleset(rules=(rule,)), PEOPLE, now=NOW)
    assert result.rules[0].outcome == "Error"
    assert result.rules[0].failure_reason.startswith("Rule threshold results in list")


# ---- anomaly detection -----------------------------------------------------------------------


def _points(values: list[float]) -> list[Point]:
    return [Point(NOW - dt.timedelta(days=len(values) - i), v) for i, v in enumerate(values)]


def test_detect_anomalies_flags_a_value_outside_the_band(qlake: Lake) -> None:
    history = MemoryHistory(points={"Dataset.*.RowCount": _points([100, 101, 99, 100, 102])})
    result = run(qlake, 'DetectAnomalies "RowCount"', PEOPLE, history=history)
    r = only(result)
    assert r.outcome == "Failed"
    assert r.metrics == {"Dataset.*.RowCount": 4.0}
    (obs,) = result.observations
    assert obs.metric == "Dataset.*.RowCount"
    assert obs.actual == 4.0
    assert obs.lower < obs.expected < obs.upper
    assert obs.expected == pytest.approx(100.4)


def test_detect_anomalies_passes_a_normal_value(qlake: Lake) -> None:
    history = MemoryHistory(points={"Column.email.Completeness": _points([0.74, 0.76, 0.75])})
    result = run(qlake, 'DetectAnomalies "Completeness" "email"', PEOPLE, history=history)
    assert only(result).outcome == "Passed"
    assert len(result.observations) == 1


def test_detect_anomalies_without_enough_history_passes_and_says_so(qlake: Lake) -> None:
    history = MemoryHistory(points={"Dataset.*.RowCount": _points([100, 100])})
    result = run(qlake, 'DetectAnomalies "RowCount"', PEOPLE, history=history)
    r = only(result)
    assert r.outcome == "Passed"
    assert r.failure_reason is not None and "Not enough history" in r.failure_reason
    assert result.observations == []


# ---- analyzers and reference datasets ----------------------------------------------------------


def test_analyzers_report_metrics_only(qlake: Lake) -> None:
    result = run(
        qlake,
        'Analyzers = [ RowCount, AllStatistics "age", AllStatistics "name", Completeness "x" ]',
        PEOPLE,
    )
    assert result.rules == []
    assert result.score == 1.0
    counts, age, name, missing = result.analyzers
    assert counts.metrics == {"Dataset.*.RowCount": 4.0}
    assert age.metrics["Column.age.Mean"] == pytest.approx(104 / 3)
    assert age.metrics["Column.age.Completeness"] == 0.75
    assert age.metrics["Column.age.Minimum"] == 29.0
    assert name.metrics["Column.name.MaximumLength"] == 3.0
    assert "Column.name.Mean" not in name.metrics
    assert missing.metrics == {}


def test_reference_rules(qlake: Lake) -> None:
    ref = values_sql("rid, rname, extra", ["(1, 'ann', 0)", "(2, 'bob', 0)", "(3, 'cyx', 0)"])
    small = values_sql("id, name", ["(1, 'ann')", "(2, 'bob')", "(3, 'cy')", "(9, 'zed')"])
    text = (
        'DataSources = { "AdditionalDataSources": ["reference"] }\n'
        "Rules = [\n"
        '  ReferentialIntegrity "id" "reference.rid" = 0.75,\n'
        '  ReferentialIntegrity "id,name" "reference.{rid,rname}" = 0.5,\n'
        '  DatasetMatch "reference" "id->rid" "name->rname" = 0.5,\n'
        '  RowCountMatch "reference" > 1.3,\n'
        '  SchemaMatch "reference" = 0,\n'
        '  AggregateMatch "sum(id)" "sum(reference.rid)" = 2.5,\n'
        '  RowCountMatch "other" > 0\n'
        "]"
    )
    result = run(qlake, text, small, refs={"reference": ref})
    rules = result.rules
    assert [r.outcome for r in rules] == ["Passed"] * 6 + ["Error"], rules
    assert rules[0].metrics == {"Column.reference.ReferentialIntegrity": 0.75}
    assert rules[2].metrics == {"Dataset.reference.DatasetMatch": 0.5}
    assert rules[3].metrics == {"Dataset.reference.RowCountMatch": pytest.approx(4 / 3)}
    assert rules[5].metrics == {"Column.id,rid.AggregateMatch": 2.5}
    assert rules[6].failure_reason.startswith("Reference dataset 'other' was not given")
    same = run(qlake, 'SchemaMatch "reference" = 1', small, refs={"reference": small})
    assert only(same).outcome == "Passed"


def test_references_resolve_by_their_data_source_name(qlake: Lake) -> None:
    prev = Dataset.of_sql("SELECT * FROM (VALUES (1), (2)) AS t(id)", name="orders_prev")
    text = (
        'DataSources = { "AdditionalDataSources": ["orders_prev"] }\n'
        'Rules = [ RowCountMatch "orders_prev" = 2, '
        'CustomSql "select count(*) from primary join orders_prev using (id)" = 2 ]'
    )
    result = run(qlake, text, PEOPLE, refs={"previous run": prev})
    assert [r.outcome for r in result.rules] == ["Passed", "Passed"], result.rules


def test_a_reference_that_cannot_be_read_is_an_error_of_its_rules(qlake: Lake) -> None:
    result = run(
        qlake,
        'RowCountMatch "ref" = 1, RowCount = 4',
        PEOPLE,
        refs={"ref": Dataset.of_table("no_such_table")},
    )
    assert [r.outcome for r in result.rules] == ["Error", "Passed"]
    assert "no_such_table" in (result.rules[0].failure_reason or "")


# ---- file rules ------------------------------------------------------------------------------


def test_file_rules(qlake: Lake, tmp_path: Path) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    a = folder / "a.csv"
    a.write_text("x\n1\n2\n")
    b = folder / "b.csv"
    b.write_text("x\n1\n2\n")
    c = folder / "c.csv"
    c.write_text("x\n3\n" * 300)
    digest = hashlib.sha256(a.read_bytes()).hexdigest()
    md5 = hashlib.md5(a.read_bytes()).hexdigest()
    text = (
        f'FileFreshness > (now() - 1 days), FileFreshness "{folder}" < "2000-01-01", '
        f'FileSize < 1 KB with threshold > 0.6, FileSize "{a}" = {a.stat().st_size}, '
        f'FileMatch "{a}" "{b}", FileMatch "{a}" "{c}", '
        f'FileMatch "{a}" in ["{digest}"], '
        f'FileMatch "{a}" in ["{md5}"] with hashAlgorithm = "MD5", '
        f'FileMatch in ["{digest}"], FileUniqueness = 0.6666666666666666, '
        f'FileFreshness "s3://bucket/x" > "2024-01-01"'
    )
    result = run(qlake, text, Dataset.of_file(folder), now=dt.datetime.now(dt.UTC))
    outcomes = [r.outcome for r in result.rules]
    assert outcomes == [
        "Passed",
        "Failed",
        "Passed",
        "Passed",
        "Passed",
        "Failed",
        "Passed",
        "Passed",
        "Failed",  # c.csv has another checksum
        "Passed",
        "Error",
    ], result.rules
    fresh = result.rules[0].metrics
    assert fresh == {"Dataset.*.FileFreshness.Compliance": 1.0, "Dataset.*.FileCount": 3.0}
    size = result.rules[2].metrics
    assert size["Dataset.*.MaximumFileSize"] == c.stat().st_size
    assert size["Dataset.*.FileSize.Compliance"] == pytest.approx(2 / 3)
    assert "c.csv" in (result.rules[8].failure_reason or "")


def test_file_rules_need_files(qlake: Lake) -> None:
    r = only(run(qlake, "FileSize < 1 GB", PEOPLE))
    assert r.outcome == "Error"
    assert "needs a file dataset" in (r.failure_reason or "")


# ---- row-level outcomes ------------------------------------------------------------------------


def test_row_level_outcomes(qlake: Lake) -> None:
    result = run(
        qlake,
        'RowCount > 0, ColumnValues "age" > 30, IsComplete "email", '
        'ColumnValues "name" in ["ann", "bob"] where "id < 3", IsUnique "score", '
        f'{DOC_RULE.replace("myCol1", "age").replace("myCol2", "id")}, ColumnValues "nope" > 1',
        PEOPLE,
        row_level=True,
        composite="row",
    )
    table = result.row_level
    assert table.column_names == [
        "id",
        "name",
        "age",
        "email",
        "joined",
        "score",
        "DataQualityRulesPass",
        "DataQualityRulesFail",
        "DataQualityRulesSkip",
        "DataQualityEvaluationResult",
    ]
    rows = {r["id"]: r for r in table.to_pylist()}
    composite = '(ColumnValues "age" > 1) or (ColumnValues "id" > 2)'
    assert rows[1]["DataQualityRulesPass"] == [
        'ColumnValues "age" > 30',
        'IsComplete "email"',
        'ColumnValues "name" in ["ann","bob"] where "id < 3"',
        'IsUnique "score"',
        composite,
    ]
    assert rows[1]["DataQualityRulesFail"] == []
    assert rows[1]["DataQualityRulesSkip"] == ["RowCount > 0", 'ColumnValues "nope" > 1']
    assert rows[1]["DataQualityEvaluationResult"] == "Passed"
    assert rows[3]["DataQualityRulesFail"] == ['ColumnValues "age" > 30']  # NULL age
    assert 'ColumnValues "name" in ["ann","bob"] where "id < 3"' in rows[3]["DataQualityRulesSkip"]
    assert rows[2]["DataQualityRulesFail"] == ['IsComplete "email"', 'IsUnique "score"']
    assert rows[4]["DataQualityRulesFail"] == [
        'ColumnValues "age" > 30',
        'IsUnique "score"',
    ]
    assert [r["DataQualityEvaluationResult"] for r in table.to_pylist()] == [
        "Passed",
        "Failed",
        "Failed",
        "Failed",
    ]


def test_no_row_level_table_unless_asked(qlake: Lake) -> None:
    assert run(qlake, "RowCount > 0", PEOPLE).row_level is None


# ---- the result envelope -----------------------------------------------------------------------


def test_result_fields(qlake: Lake) -> None:
    result = run(qlake, "RowCount > 0, RowCount > 10", PEOPLE, context="ctx")
    assert result.rows_processed == 4
    assert result.dataset == "t"
    assert result.context == "ctx"
    assert uuid.UUID(result.run_id)
    assert result.finished_at is not None and result.started_at <= result.finished_at
    assert result.score == 0.5
    body = result.to_dict()
    assert body["rules"][1]["failure_reason"] == (
        "Value: 4.0 does not meet the constraint requirement!"
    )


def test_views_are_dropped_after_the_run(qlake: Lake) -> None:
    before = qlake.engine.con.execute("SELECT count(*) FROM duckdb_views()").fetchall()
    run(qlake, "RowCount > 0", PEOPLE, refs={"r": PEOPLE}, row_level=True)
    after = qlake.engine.con.execute("SELECT count(*) FROM duckdb_views()").fetchall()
    assert before == after


# ---- oracle cross-checks -----------------------------------------------------------------------


def test_metrics_match_an_independent_computation(qlake: Lake) -> None:
    rng = random.Random(7)
    rows = []
    for _ in range(300):
        a = rng.choice([None, *range(12)])
        b = rng.choice([None, "x", "y", "z", "", "xyz"])
        c = round(rng.uniform(-5, 5), 3)
        rows.append((a, b, c))

    def lit(v: Any) -> str:
        if v is None:
            return "NULL"
        return f"'{v}'" if isinstance(v, str) else repr(v)

    data = values_sql("a, b, c", [f"({lit(a)}, {lit(b)}, {lit(c)})" for a, b, c in rows])
    rules = (
        'Completeness "a" > 0, Uniqueness "a" > 0, Entropy "b" > 0, UniqueValueRatio "a" > 0, '
        'DistinctValuesCount "b" > 0, StandardDeviation "c" > 0, Mean "c" > -10, '
        'ColumnCorrelation "a" "c" > -2, ColumnLength "b" < 10, '
        'ColumnValues "a" > 5 with threshold > 0, ColumnValues "b" in ["x", "y"] with threshold > 0'
    )
    metrics: dict[str, float] = {}
    for r in run(qlake, rules, data).rules:
        metrics.update(r.metrics)

    a_vals = [a for a, _, _ in rows if a is not None]
    freq_a = Counter(a_vals)
    freq_b = Counter(b for _, b, _ in rows if b is not None)
    n_b = sum(freq_b.values())
    cs = [c for _, _, c in rows]
    pairs = [(a, c) for a, _, c in rows if a is not None]
    expected = {
        "Column.a.Completeness": len(a_vals) / len(rows),
        "Column.a.Uniqueness": sum(1 for v in freq_a.values() if v == 1) / len(a_vals),
        "Column.b.Entropy": -sum(v / n_b * math.log(v / n_b) for v in freq_b.values()),
        "Column.a.UniqueValueRatio": sum(1 for v in freq_a.values() if v == 1) / len(freq_a),
        "Column.b.DistinctValuesCount": len(freq_b)
        + (1 if any(b is None for _, b, _ in rows) else 0),
        "Column.c.StandardDeviation": statistics.pstdev(cs),
        "Column.c.Mean": statistics.fmean(cs),
        "Multicolumn.a,c.ColumnCorrelation": statistics.correlation(
            [float(a) for a, _ in pairs], [c for _, c in pairs]
        ),
        "Column.b.MinimumLength": min(len(b or "") for _, b, _ in rows),
        "Column.b.MaximumLength": max(len(b or "") for _, b, _ in rows),
        "Column.a.ColumnValues.Compliance": sum(1 for a in a_vals if a > 5) / len(rows),
        "Column.b.ColumnValues.Compliance": sum(1 for _, b, _ in rows if b in ("x", "y"))
        / len(rows),
    }
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key

    # and plain DuckDB agrees on the same rows
    con = duckdb.connect()
    con.execute("CREATE TABLE t (a INTEGER, b VARCHAR, c DOUBLE)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
    stddev, corr = con.execute("SELECT stddev_pop(c), corr(a, c) FROM t").fetchall()[0]
    assert metrics["Column.c.StandardDeviation"] == pytest.approx(stddev)
    assert metrics["Multicolumn.a,c.ColumnCorrelation"] == pytest.approx(corr)
