"""The DQDL rule catalogue: what each rule type takes, as data the parser checks against.

One entry per rule type (docs/dqdl.md has the same table for people). The parser enforces every
field; the compiler can read the rest (``row_level``, ``excluded_in_row_composites``, ``glue``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from oaklake.quality.ast import ConditionKind

ConditionRule = Literal["required", "forbidden", "optional"]

NUMERIC: frozenset[ConditionKind] = frozenset({"numeric"})


@dataclass(frozen=True)
class RuleSpec:
    """What one rule type accepts.

    ``max_params`` None means any number (``IsPrimaryKey "a" "b" …``). ``kinds`` are the condition
    kinds it takes; ``operators`` (when set) narrows the comparison forms (``ColumnDataType`` takes
    only ``=``, ``!=``, ``in``, ``not in``). ``dynamic``: operands may use ``last(k)`` and friends.
    ``atomic``: operands must be plain numbers (no arithmetic). ``analyzer``: may be listed under
    Analyzers; ``rule``: may be listed under Rules (False only for AllStatistics). ``row_level``:
    the condition is checked per row (a threshold is a share of passing rows).
    """

    name: str
    min_params: int
    max_params: int | None
    condition: ConditionRule
    kinds: frozenset[ConditionKind] = frozenset()
    operators: frozenset[str] | None = None
    where: bool = False
    threshold: bool = False
    dynamic: bool = False
    atomic: bool = False
    analyzer: bool = False
    rule: bool = True
    row_level: bool = False
    excluded_in_row_composites: bool = False
    glue: bool = True  # False: a Deequ extra that Glue's documentation does not list
    params_hint: str = ""


def _numeric(
    name: str,
    params: int,
    hint: str,
    *,
    where: bool = True,
    dynamic: bool = True,
    atomic: bool = False,
    analyzer: bool = True,
    row_level: bool = False,
    excluded_in_row_composites: bool = False,
    glue: bool = True,
) -> RuleSpec:
    """A metric rule: one number per run, compared to a required numeric condition."""
    return RuleSpec(
        name,
        params,
        params,
        "required",
        NUMERIC,
        where=where,
        dynamic=dynamic,
        atomic=atomic,
        analyzer=analyzer,
        row_level=row_level,
        excluded_in_row_composites=excluded_in_row_composites,
        glue=glue,
        params_hint=hint,
    )


_COL = '"column"'

_SPECS = [
    _numeric("RowCount", 0, ""),
    _numeric("ColumnCount", 0, "", where=False),
    RuleSpec("ColumnExists", 1, 1, "forbidden", params_hint=_COL),
    RuleSpec("ColumnNamesMatchPattern", 1, 1, "forbidden", params_hint='"regex"'),
    RuleSpec(
        "ColumnDataType",
        1,
        1,
        "required",
        frozenset({"string"}),
        operators=frozenset({"=", "!=", "in", "not in"}),
        where=True,
        threshold=True,
        row_level=True,
        params_hint=_COL,
    ),
    _numeric("Completeness", 1, _COL, excluded_in_row_composites=True),
    RuleSpec("IsComplete", 1, 1, "forbidden", where=True, params_hint=_COL),
    RuleSpec(
        "Uniqueness",
        1,
        None,
        "required",
        NUMERIC,
        where=True,
        dynamic=True,
        analyzer=True,
        excluded_in_row_composites=True,
        params_hint='"column" ["column" …]',
    ),
    RuleSpec("IsUnique", 1, None, "forbidden", where=True, params_hint='"column" ["column" …]'),
    RuleSpec("IsPrimaryKey", 1, None, "forbidden", where=True, params_hint='"column" ["column" …]'),
    _numeric("UniqueValueRatio", 1, _COL),
    _numeric("DistinctValuesCount", 1, _COL),
    _numeric("Entropy", 1, _COL),
    _numeric("Mean", 1, _COL),
    _numeric("Sum", 1, _COL),
    _numeric("StandardDeviation", 1, _COL),
    _numeric("Variance", 1, _COL, dynamic=False),
    _numeric("ColumnCorrelation", 2, '"column1" "column2"'),
    _numeric("ColumnLength", 1, _COL, dynamic=False, atomic=True, row_level=True),
    RuleSpec(
        "ColumnValues",
        1,
        1,
        "required",
        frozenset({"numeric", "string", "date", "matches"}),
        where=True,
        threshold=True,
        analyzer=True,
        row_level=True,
        params_hint=_COL,
    ),
    RuleSpec(
        "DataFreshness",
        1,
        1,
        "required",
        frozenset({"duration"}),
        where=True,
        row_level=True,
        params_hint=_COL,
    ),
    # (a) `CustomSql "select count(*) …" > 10`: one number; (b) no condition, rows returned pass.
    RuleSpec(
        "CustomSql",
        1,
        1,
        "optional",
        NUMERIC,
        threshold=True,
        dynamic=True,
        analyzer=True,
        params_hint='"SQL statement"',
    ),
    _numeric(
        "ReferentialIntegrity",
        2,
        '"col1,col2" "reference.{rcol1,rcol2}"',
        where=False,
        analyzer=False,
        excluded_in_row_composites=True,
    ),
    RuleSpec(
        "DatasetMatch",
        2,
        3,
        "required",
        NUMERIC,
        excluded_in_row_composites=True,
        params_hint='"reference" "key->refkey,…" ["col->refcol,…"]',
    ),
    RuleSpec("RowCountMatch", 1, 1, "required", NUMERIC, params_hint='"reference"'),
    RuleSpec("SchemaMatch", 1, 1, "required", NUMERIC, params_hint='"reference"'),
    RuleSpec("AggregateMatch", 2, 2, "required", NUMERIC, params_hint='"sum(col)" "sum(ref.col)"'),
    RuleSpec("DetectAnomalies", 1, None, "forbidden", params_hint='"Metric" [parameters …]'),
    RuleSpec("AllStatistics", 1, 1, "forbidden", analyzer=True, rule=False, params_hint=_COL),
    RuleSpec(
        "FileFreshness",
        0,
        1,
        "required",
        frozenset({"date"}),
        threshold=True,
        params_hint='["s3://path"]',
    ),
    # `FileMatch "a" "b"` (two files) or `FileMatch ["path"] in ["checksum", …]`.
    RuleSpec(
        "FileMatch",
        0,
        2,
        "optional",
        frozenset({"string"}),
        operators=frozenset({"in"}),
        params_hint='["path"] ["other path"]',
    ),
    RuleSpec(
        "FileSize", 0, 1, "required", frozenset({"size"}), threshold=True, params_hint='["path"]'
    ),
    RuleSpec("FileUniqueness", 0, 1, "required", NUMERIC, params_hint='["path"]'),
    # Executable in AWS's Deequ port, not in Glue's documentation.
    _numeric("Range", 1, _COL, glue=False),
    _numeric("InterquartileRange", 1, _COL, glue=False),
    _numeric("Skewness", 1, _COL, glue=False),
    _numeric("Kurtosis", 1, _COL, glue=False),
    _numeric("ZerosCount", 1, _COL, glue=False),
    RuleSpec(
        "DuplicateRowCount",
        0,
        None,
        "required",
        NUMERIC,
        where=True,
        dynamic=True,
        analyzer=True,
        glue=False,
        params_hint='["column" …]',
    ),
]

RULES: dict[str, RuleSpec] = {spec.name: spec for spec in _SPECS}

# Metrics `DetectAnomalies "<Metric>" …` can watch (the docs spell CustomSql's as "CustomSQL").
ANOMALY_METRICS: dict[str, str] = {
    "RowCount": "RowCount",
    "Completeness": "Completeness",
    "Uniqueness": "Uniqueness",
    "Mean": "Mean",
    "Sum": "Sum",
    "StandardDeviation": "StandardDeviation",
    "Entropy": "Entropy",
    "DistinctValuesCount": "DistinctValuesCount",
    "UniqueValueRatio": "UniqueValueRatio",
    "ColumnLength": "ColumnLength",
    "ColumnValues": "ColumnValues",
    "ColumnCorrelation": "ColumnCorrelation",
    "CustomSQL": "CustomSql",
    "CustomSql": "CustomSql",
    "ColumnCount": "ColumnCount",
}

# Dynamic-rule functions: name → (argument kinds, result kind); "list" is what last() returns.
FUNCTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "last": (("count",), "list"),
    "avg": (("list",), "number"),
    "min": (("list",), "number"),
    "max": (("list",), "number"),
    "sum": (("list",), "number"),
    "std": (("list",), "number"),
    "median": (("list",), "number"),
    "abs": (("number",), "number"),
    "index": (("list", "count"), "number"),
}

# Glue's documented rule types that take each feature (for hints; the Deequ extras are left out).
THRESHOLD_TYPES = tuple(n for n, spec in RULES.items() if spec.threshold and spec.glue)
WHERE_TYPES = tuple(n for n, spec in RULES.items() if spec.where and spec.glue)
DYNAMIC_TYPES = tuple(n for n, spec in RULES.items() if spec.dynamic and spec.glue)
