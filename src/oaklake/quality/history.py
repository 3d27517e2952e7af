"""Where past runs' metrics come from, for dynamic rules (``avg(last(10))``) and DetectAnomalies.

The evaluator only needs this protocol; the Iceberg-backed store in the workspace implements it,
and tests can pass an in-memory one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from oaklake.quality.anomaly import Point


class MetricHistory(Protocol):
    def values(self, dataset: str, context: str, rule: str, limit: int) -> list[float]:
        """The most recent ``limit`` earlier values of this rule's primary metric, newest first."""
        ...

    def points(self, dataset: str, context: str, metric: str) -> list[Point]:
        """Every earlier value of a metric (with its EXCLUDE annotations), oldest first."""
        ...


class NoHistory:
    """A first run: ``last(k)`` is empty and anomaly detection has nothing to score against."""

    def values(self, dataset: str, context: str, rule: str, limit: int) -> list[float]:
        return []

    def points(self, dataset: str, context: str, metric: str) -> list[Point]:
        return []
