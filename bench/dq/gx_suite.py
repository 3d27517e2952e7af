"""The 20 rules as Great Expectations 1.x expectations, run on a pandas DataFrame.

The Parquet file is read with ``pandas.read_parquet`` (pyarrow) into a DataFrame and validated
through an ephemeral context's pandas datasource: the way GX documents checking a file. Where GX
has no expectation that computes DQDL's metric, the closest one is used and NOTES says how it
differs; ColumnCorrelation has no GX expectation at all, so it is a small custom expectation
(``ExpectColumnPairCorrelationToBeBetween``) over pandas' ``Series.corr``, written as GX's
documentation describes (a metric provider and an aggregate expectation).

GX's ``between`` bounds are inclusive unless ``strict_min``/``strict_max`` is set; DQDL's are
exclusive, so the strict flags are set wherever DQDL says ``between``, ``>`` or ``<``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

STATUSES = ["NEW", "PAID", "SHIPPED", "DELIVERED", "CANCELLED"]
# Anchored: GX's pandas regex expectations search (re.search), DQDL's ``matches`` is whole-value.
EMAIL_RE = r"^[a-z0-9._]+@[a-z0-9-]+\.(com|org|net)$"

# Rule number (rules.dqdl order) -> how the GX check differs from the DQDL rule, when it does.
NOTES: dict[int, str] = {
    1: "GX row-count bounds are inclusive: 9000001..10999999 (same for an integer)",
    7: "no DQDL-style uniqueness (values seen once / rows) in GX: "
    "ExpectColumnProportionOfUniqueValuesToBeBetween is distinct values / non-NULL rows",
    9: "no entropy in GX: ExpectColumnKLDivergenceToBeLessThan against a uniform partition over "
    "the k=6 observed statuses; KL(p||uniform) = ln k - H(p), so H > 1.0 <=> KL < ln 6 - 1",
    10: "GX mostly=0.99 means >= 0.99 of non-NULL values (DQDL: > 0.99 of all rows)",
    12: "GX ignores NULLs in regex checks (DQDL fails them); the regex is anchored for GX",
    14: "GX's between ignores NULLs, as the DQDL rule's where clause does",
    16: "GX's stdev is the sample standard deviation (ddof=1); DQDL's is the population one",
    18: "GX has no correlation expectation: a custom one over pandas Series.corr (Pearson)",
    19: "DQDL CustomSql count of shipped_at < created_at; GX: ExpectColumnPairValuesAToBe"
    "GreaterThanB(shipped_at, created_at, or_equal) skipping rows where either is NULL",
}

# GX 1.24 checks ``between`` with numpy comparisons only on int64/float64 and datetime64[ns]
# columns; on anything else (here the INTEGER column, read as int32, and the DATE column, read as
# Python dates) it maps a Python function over every value. The "tuned" variant retypes those
# two columns right after reading (timed as part of the read), as a GX-savvy user would.
TUNED = (
    "GX tuned: after read_parquet, quantity int32 -> int64 and signup_date (Python dates) -> "
    "datetime64[ns], so GX's between checks (rules 11, 20) are vectorised instead of a Python "
    "function mapped over every value"
)

_CUSTOM: Any = None


def _custom_correlation() -> Any:
    """Register (once) a Pearson-correlation metric and the expectation that checks it."""
    global _CUSTOM
    if _CUSTOM is not None:
        return _CUSTOM
    from great_expectations.core.metric_domain_types import MetricDomainTypes
    from great_expectations.execution_engine import PandasExecutionEngine
    from great_expectations.expectations.expectation import ColumnAggregateExpectation
    from great_expectations.expectations.metrics.column_aggregate_metric_provider import (
        ColumnAggregateMetricProvider,
    )
    from great_expectations.expectations.metrics.metric_provider import metric_value

    class ColumnPairCorrelation(ColumnAggregateMetricProvider):  # type: ignore[misc]
        metric_name = "column.bench_pearson_correlation"
        value_keys = ("other_column",)

        @metric_value(engine=PandasExecutionEngine)
        def _pandas(
            cls,
            execution_engine: Any,
            metric_domain_kwargs: dict[str, Any],
            metric_value_kwargs: dict[str, Any],
            metrics: dict[str, Any],
            runtime_configuration: dict[str, Any],
        ) -> float:
            frame, _, accessor = execution_engine.get_compute_domain(
                metric_domain_kwargs, domain_type=MetricDomainTypes.COLUMN
            )
            column = frame[accessor["column"]]
            return float(column.corr(frame[metric_value_kwargs["other_column"]]))

    class ExpectColumnPairCorrelationToBeBetween(ColumnAggregateExpectation):  # type: ignore[misc]
        other_column: str
        min_value: float | None = None
        max_value: float | None = None
        strict_min: bool = False
        strict_max: bool = False

        metric_dependencies = ("column.bench_pearson_correlation",)
        success_keys = ("other_column", "min_value", "max_value", "strict_min", "strict_max")
        args_keys = ("column", "other_column", "min_value", "max_value")

        def _validate(
            self,
            metrics: dict[str, Any],
            runtime_configuration: dict[str, Any] | None = None,
            execution_engine: Any = None,
        ) -> Any:
            return self._validate_metric_value_between(
                metric_name="column.bench_pearson_correlation",
                metrics=metrics,
                runtime_configuration=runtime_configuration,
                execution_engine=execution_engine,
            )

    _CUSTOM = ExpectColumnPairCorrelationToBeBetween
    return _CUSTOM


def expectations(tuned: bool = False) -> list[Any]:
    """One expectation per rule, in rules.dqdl order (``tuned``: for the retyped DataFrame)."""
    import great_expectations as gx
    import pandas as pd

    e = gx.expectations
    corr = _custom_correlation()
    k = 6  # statuses observed in the data: the five valid ones and UNKNOWN
    uniform = {"values": [*STATUSES, "UNKNOWN"], "weights": [1 / k] * k}
    return [
        e.ExpectTableRowCountToBeBetween(min_value=9_000_001, max_value=10_999_999),
        e.ExpectColumnValuesToNotBeNull(column="id"),
        e.ExpectColumnValuesToBeUnique(column="id"),
        e.ExpectColumnValuesToNotBeNull(column="created_at"),
        e.ExpectColumnProportionOfNonNullValuesToBeBetween(
            column="email", min_value=0.95, strict_min=True
        ),
        e.ExpectColumnProportionOfNonNullValuesToBeBetween(column="country", min_value=0.99),
        e.ExpectColumnProportionOfUniqueValuesToBeBetween(
            column="email", min_value=0.9, strict_min=True
        ),
        e.ExpectColumnUniqueValueCountToBeBetween(column="status", min_value=5, max_value=5),
        e.ExpectColumnKLDivergenceToBeLessThan(
            column="status", partition_object=uniform, threshold=math.log(k) - 1.0
        ),
        e.ExpectColumnValuesToBeInSet(column="status", value_set=STATUSES, mostly=0.99),
        e.ExpectColumnValuesToBeBetween(
            column="quantity", min_value=0, max_value=21, strict_min=True, strict_max=True
        ),
        e.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_RE),
        e.ExpectColumnValueLengthsToEqual(column="sku", value=10),
        e.ExpectColumnValuesToBeBetween(column="discount", max_value=0.5),
        e.ExpectColumnMeanToBeBetween(
            column="amount", min_value=50, max_value=150, strict_min=True, strict_max=True
        ),
        e.ExpectColumnStdevToBeBetween(
            column="amount", min_value=40, max_value=75, strict_min=True, strict_max=True
        ),
        e.ExpectColumnSumToBeBetween(
            column="quantity",
            min_value=100_000_000,
            max_value=110_000_000,
            strict_min=True,
            strict_max=True,
        ),
        corr(column="quantity", other_column="amount", min_value=0.3, strict_min=True),
        e.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="shipped_at",
            column_B="created_at",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        e.ExpectColumnValuesToBeBetween(
            column="signup_date",
            min_value=pd.Timestamp("2014-12-31") if tuned else dt.date(2014, 12, 31),
            max_value=pd.Timestamp("2025-01-01") if tuned else dt.date(2025, 1, 1),
            strict_min=True,
            strict_max=True,
        ),
    ]


class GreatExpectations:
    """An ephemeral GX context with one pandas DataFrame asset and the 20-expectation suite.

    ``tuned`` retypes two columns after reading (see TUNED); otherwise the DataFrame is what
    ``pandas.read_parquet`` gives.
    """

    def __init__(self, path: str, result_format: str = "BASIC", tuned: bool = False) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.path = path
        self.result_format = result_format
        self.tuned = tuned
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = self.context.data_sources.add_pandas("bench")
        asset = source.add_dataframe_asset("orders")
        self.batch_definition = asset.add_batch_definition_whole_dataframe("all")
        self.suite = self.context.suites.add(gx.ExpectationSuite(name="bench_dq"))
        # GX returns results in its own order: keep each expectation's id to put them back.
        self.ids = [self.suite.add_expectation(x).id for x in expectations(tuned)]

    def read(self) -> tuple[float, Any]:
        import pandas as pd

        start = time.perf_counter()
        frame = pd.read_parquet(self.path)
        if self.tuned:
            frame["quantity"] = frame["quantity"].astype("int64")
            frame["signup_date"] = pd.to_datetime(frame["signup_date"]).astype("datetime64[ns]")
        return time.perf_counter() - start, frame

    def validate(self, frame: Any) -> tuple[float, list[bool], list[Any]]:
        start = time.perf_counter()
        batch = self.batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(self.suite, result_format=self.result_format)
        seconds = time.perf_counter() - start
        by_id = {r.expectation_config.id: r for r in result.results}
        passed = [bool(by_id[i].success) for i in self.ids]
        observed = [_observed(by_id[i].result) for i in self.ids]
        return seconds, passed, observed

    def run(self) -> dict[str, Any]:
        """Read + validate once: both times, and each expectation's outcome."""
        read_s, frame = self.read()
        validate_s, passed, observed = self.validate(frame)
        del frame
        return {"read_s": read_s, "validate_s": validate_s, "passed": passed, "observed": observed}


def _observed(result: dict[str, Any]) -> Any:
    if "observed_value" in result:
        value = result["observed_value"]
        return value if isinstance(value, int | float | str | type(None)) else str(value)
    if "unexpected_percent" in result and result["unexpected_percent"] is not None:
        return round(1 - result["unexpected_percent"] / 100, 7)
    return None
