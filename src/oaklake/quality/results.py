"""Quality results in Glue's shape, and their stable JSON form (`oaklake dq run --format json`).

The JSON object is a public contract (docs/dqdl.md): ``{"score", "rules": [{"rule", "outcome",
"failure_reason", "metrics", "labels"}], "analyzers": [{"analyzer", "metrics"}],
"observations": [...], "rows_processed"}`` plus context fields; keys are only ever added.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["Passed", "Failed", "Error"]


@dataclass
class RuleResult:
    rule: str
    outcome: Outcome
    failure_reason: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    evaluated_rule: str | None = None  # dynamic operands resolved to numbers

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "outcome": self.outcome,
            "failure_reason": self.failure_reason,
            "metrics": {k: _num(v) for k, v in self.metrics.items()},
            "labels": dict(self.labels),
            "evaluated_rule": self.evaluated_rule,
        }


@dataclass
class AnalyzerResult:
    analyzer: str
    metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"analyzer": self.analyzer, "metrics": {k: _num(v) for k, v in self.metrics.items()}}


@dataclass
class ObservationResult:
    """Glue's MetricBasedObservation: an anomaly (or a note) about one metric."""

    description: str
    metric: str
    actual: float
    expected: float
    lower: float
    upper: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "metric": self.metric,
            "actual": _num(self.actual),
            "expected": _num(self.expected),
            "lower": _num(self.lower),
            "upper": _num(self.upper),
        }


@dataclass
class DqResult:
    dataset: str
    context: str
    rules: list[RuleResult] = field(default_factory=list)
    analyzers: list[AnalyzerResult] = field(default_factory=list)
    observations: list[ObservationResult] = field(default_factory=list)
    rows_processed: int = 0
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    finished_at: dt.datetime | None = None
    run_id: str = ""
    row_level: Any = None  # a pyarrow Table when row-level outcomes were asked for

    @property
    def score(self) -> float:
        """Passed rules / evaluated rules (analyzers don't count), as Glue computes it."""
        if not self.rules:
            return 1.0
        return sum(r.outcome == "Passed" for r in self.rules) / len(self.rules)

    @property
    def passed(self) -> bool:
        return all(r.outcome == "Passed" for r in self.rules)

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "rules": [r.to_dict() for r in self.rules],
            "analyzers": [a.to_dict() for a in self.analyzers],
            "observations": [o.to_dict() for o in self.observations],
            "rows_processed": self.rows_processed,
            "dataset": self.dataset,
            "context": self.context,
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


def _num(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value
