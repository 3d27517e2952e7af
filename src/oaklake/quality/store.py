"""Quality results and metric history as Iceberg tables in the workspace (``oaklake_system``).

Everything a quality run leaves behind is a row in an ordinary Iceberg table, so it is queried
with the same SQL as the data it describes (``SELECT * FROM oaklake_system.dq_metrics``), moves
with the workspace to PostgreSQL + S3, and is readable by any Iceberg engine. ``MetricStore`` is
also the evaluator's ``MetricHistory``: dynamic rules (``avg(last(7))``) and DetectAnomalies read
earlier runs back from these tables.

A run is appended with one commit per table (details first, the ``dq_runs`` row last), so a row
in ``dq_runs`` means the run's details are all there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from oaklake.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    import pyarrow as pa

    from oaklake.app import Lake
    from oaklake.quality.anomaly import Point
    from oaklake.quality.results import DqResult, ObservationResult

SCHEMA = "oaklake_system"

# Every system table quality owns, as (column, Athena type); docs/dqdl.md ("Running checks")
# documents them. Times are UTC (Iceberg `timestamp`, no zone). Columns are only ever added.
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "dq_runs": (
        ("run_id", "string"),
        ("dataset", "string"),
        ("context", "string"),
        ("started_at", "timestamp"),
        ("finished_at", "timestamp"),
        ("score", "double"),
        ("rules_total", "int"),
        ("rules_passed", "int"),
        ("rules_failed", "int"),
        ("rules_error", "int"),
        ("rows_processed", "bigint"),
        ("observations", "int"),
        ("anomalies", "int"),
        ("ruleset_hash", "string"),
        ("dataset_kind", "string"),
        ("snapshot_id", "bigint"),
    ),
    "dq_rule_results": (
        ("run_id", "string"),
        ("dataset", "string"),
        ("context", "string"),
        ("rule", "string"),
        ("outcome", "string"),
        ("failure_reason", "string"),
        ("labels", "map<string,string>"),
        ("evaluated_rule", "string"),
        ("at", "timestamp"),
    ),
    "dq_metrics": (
        ("run_id", "string"),
        ("dataset", "string"),
        ("context", "string"),
        ("rule", "string"),
        ("analyzer", "string"),
        ("metric", "string"),
        ("value", "double"),
        ("ordinal", "int"),
        ("at", "timestamp"),
        ("included", "boolean"),
    ),
    "dq_observations": (
        ("run_id", "string"),
        ("dataset", "string"),
        ("context", "string"),
        ("metric", "string"),
        ("description", "string"),
        ("actual", "double"),
        ("expected", "double"),
        ("lower", "double"),
        ("upper", "double"),
        ("is_anomaly", "boolean"),
        ("at", "timestamp"),
    ),
    "dq_annotations": (
        ("dataset", "string"),
        ("context", "string"),
        ("metric", "string"),
        ("run_id", "string"),
        ("at", "timestamp"),
        ("inclusion", "string"),
        ("annotated_at", "timestamp"),
    ),
    "dq_rulesets": (
        ("dataset", "string"),
        ("ruleset", "string"),
        ("ruleset_hash", "string"),
        ("attached_at", "timestamp"),
    ),
}


def lit(value: str | None) -> str:
    """A SQL string literal (or NULL) for the system-table queries built here."""
    if value is None:
        return "NULL"
    return "'" + value.replace("'", "''") + "'"


def utc(value: dt.datetime) -> dt.datetime:
    """An aware datetime in UTC (naive ones are taken as UTC already)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _naive(value: dt.datetime) -> dt.datetime:
    """What the ``timestamp`` columns store: UTC wall-clock time without a zone."""
    return utc(value).replace(tzinfo=None)


def is_anomaly(observation: ObservationResult) -> bool:
    """An observation is an anomaly when the actual value fell outside its expected band (the
    evaluator also reports in-band observations, so a run shows what it compared against)."""
    o = observation
    return bool(o.actual < o.lower or o.actual > o.upper)


def ruleset_hash(text: str) -> str:
    """A short fingerprint of a ruleset's text: which rules a run evaluated."""
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:16]


def new_run_id(at: dt.datetime) -> str:
    """Sortable by time, unique without coordination: ``dq-20240601T120000123456-1a2b3c4d``."""
    return f"dq-{utc(at):%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}"


# Which report of a metric stands for the run (see MetricStore.points).
_PREFERENCE = """CASE WHEN rule IS NULL THEN 0 WHEN rule LIKE 'DetectAnomalies %' THEN 1
    WHEN rule NOT LIKE '% where "%' THEN 2 ELSE 3 END"""


class MetricStore:
    """Reads and writes the ``oaklake_system.dq_*`` tables of one workspace.

    Implements :class:`oaklake.quality.history.MetricHistory` for the evaluator.
    """

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self._ready = False

    # -- tables ---------------------------------------------------------------------------
    def ensure_tables(self) -> None:
        """Create the schema and every missing table (first use in a workspace), and add the
        columns a newer oaklake knows to tables an older one created (columns are only added)."""
        if self._ready:
            return
        catalog = self.lake.catalog
        catalog.create_schema(SCHEMA, if_not_exists=True)
        for name, columns in TABLES.items():
            if not catalog.table_exists(SCHEMA, name):
                ddl = ", ".join(f"{col} {dtype}" for col, dtype in columns)
                self.lake.sql(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{name} ({ddl})")
                continue
            have = set(self.lake.table(f"{SCHEMA}.{name}").columns)
            missing = ", ".join(f"{col} {dtype}" for col, dtype in columns if col not in have)
            if missing:
                self.lake.sql(f"ALTER TABLE {SCHEMA}.{name} ADD COLUMNS ({missing})")
        self._ready = True

    def _exists(self) -> bool:
        """True when the tables exist; reading never creates them (a first run has no history)."""
        if self._ready:
            return True
        catalog = self.lake.catalog
        if not all(catalog.table_exists(SCHEMA, name) for name in TABLES):
            return False
        self.ensure_tables()  # an older workspace may lack newer columns
        return True

    def _query(self, sql: str) -> list[tuple[Any, ...]]:
        if not self._exists():
            return []
        return self.lake.sql(sql).rows

    def _append(self, name: str, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.lake.table(f"{SCHEMA}.{name}").append(_arrow(name, rows))

    # -- writing a run --------------------------------------------------------------------
    def record(
        self,
        result: DqResult,
        *,
        ruleset_text: str = "",
        at: dt.datetime | None = None,
        dataset_kind: str | None = None,
        snapshot_id: int | None = None,
    ) -> str:
        """Append one run; return its run id (``result.run_id`` is filled in when empty).

        ``at`` is the time its metrics are filed under (default: when the run started); a
        backfill or a test passes the evaluation time it simulated.
        """
        self.ensure_tables()
        when = _naive(at or result.started_at)
        if not result.run_id:
            result.run_id = new_run_id(at or result.started_at)
        finished = result.finished_at or dt.datetime.now(dt.UTC)
        key = {"run_id": result.run_id, "dataset": result.dataset, "context": result.context}
        metrics: list[dict[str, Any]] = []
        rule_rows: list[dict[str, Any]] = []
        for rule in result.rules:
            rule_rows.append(
                {
                    **key,
                    "rule": rule.rule,
                    "outcome": rule.outcome,
                    "failure_reason": rule.failure_reason,
                    "labels": list(rule.labels.items()),
                    "evaluated_rule": rule.evaluated_rule,
                    "at": when,
                }
            )
            for i, (metric, value) in enumerate(rule.metrics.items()):
                metrics.append(
                    {
                        **key,
                        "rule": rule.rule,
                        "analyzer": None,
                        "metric": metric,
                        "value": _float(value),
                        "ordinal": i,
                        "at": when,
                        "included": True,
                    }
                )
        for analyzer in result.analyzers:
            for i, (metric, value) in enumerate(analyzer.metrics.items()):
                metrics.append(
                    {
                        **key,
                        "rule": None,
                        "analyzer": analyzer.analyzer,
                        "metric": metric,
                        "value": _float(value),
                        "ordinal": i,
                        "at": when,
                        "included": True,
                    }
                )
        observations = [
            {
                **key,
                "metric": o.metric,
                "description": o.description,
                "actual": _float(o.actual),
                "expected": _float(o.expected),
                "lower": _float(o.lower),
                "upper": _float(o.upper),
                "is_anomaly": is_anomaly(o),
                "at": when,
            }
            for o in result.observations
        ]
        counts = {
            o: sum(r.outcome == o for r in result.rules) for o in ("Passed", "Failed", "Error")
        }
        run = {
            **key,
            "started_at": when,
            "finished_at": _naive(finished),
            "score": result.score,
            "rules_total": len(result.rules),
            "rules_passed": counts["Passed"],
            "rules_failed": counts["Failed"],
            "rules_error": counts["Error"],
            "rows_processed": int(result.rows_processed),
            "observations": len(observations),
            "anomalies": sum(is_anomaly(o) for o in result.observations),
            "ruleset_hash": ruleset_hash(ruleset_text) if ruleset_text else None,
            "dataset_kind": dataset_kind,
            "snapshot_id": snapshot_id,
        }
        self._append("dq_metrics", metrics)
        self._append("dq_rule_results", rule_rows)
        self._append("dq_observations", observations)
        self._append("dq_runs", [run])  # last: a dq_runs row means the details are in
        return result.run_id

    # -- MetricHistory --------------------------------------------------------------------
    def values(self, dataset: str, context: str, rule: str, limit: int) -> list[float]:
        """The rule's primary metric (the first it reports) in its ``limit`` latest runs, newest
        first. Points excluded by an annotation are skipped, as anomaly detection skips them."""
        if limit <= 0:
            return []
        rows = self._query(f"""
            {self._effective(dataset, context, f"m.rule = {lit(rule)} AND m.ordinal = 0")}
            SELECT value FROM effective WHERE included AND value IS NOT NULL
            ORDER BY at DESC, run_id DESC LIMIT {int(limit)}""")
        return [float(r[0]) for r in rows]

    def points(self, dataset: str, context: str, metric: str) -> list[Point]:
        """Every earlier value of ``metric``, oldest first, one per run, with its inclusion flag.

        A run may report a metric more than once (an analyzer, DetectAnomalies, a rule with a
        ``where`` filter that measured fewer rows): the point is the first of, in this order, an
        analyzer's, DetectAnomalies', an unfiltered rule's, any rule's value."""
        from oaklake.quality.anomaly import Point

        rows = self._query(f"""
            {self._effective(dataset, context, f"m.metric = {lit(metric)}")},
            per_run AS (
                SELECT at, value, included, run_id, row_number() OVER (
                    PARTITION BY run_id ORDER BY {_PREFERENCE}, ordinal, rule) AS n
                FROM effective WHERE value IS NOT NULL)
            SELECT at, value, included FROM per_run WHERE n = 1 ORDER BY at, run_id""")
        return [Point(utc(r[0]), float(r[1]), bool(r[2])) for r in rows]

    def _effective(self, dataset: str, context: str, condition: str) -> str:
        """A WITH clause: the matching metric rows with their latest annotation applied."""
        return f"""
            WITH notes AS (
                SELECT metric, run_id, inclusion, row_number() OVER (
                    PARTITION BY metric, run_id ORDER BY annotated_at DESC) AS n
                FROM {SCHEMA}.dq_annotations
                WHERE dataset = {lit(dataset)} AND context = {lit(context)}),
            effective AS (
                SELECT m.run_id, m.rule, m.metric, m.value, m.ordinal, m.at,
                       coalesce(a.inclusion = 'INCLUDE', m.included) AS included
                FROM {SCHEMA}.dq_metrics m
                LEFT JOIN notes a ON a.n = 1 AND a.metric = m.metric AND a.run_id = m.run_id
                WHERE m.dataset = {lit(dataset)} AND m.context = {lit(context)} AND {condition})"""

    # -- annotations ----------------------------------------------------------------------
    def annotate(
        self,
        dataset: str,
        metric: str,
        *,
        include: bool,
        run_id: str | None = None,
        at: dt.datetime | None = None,
        context: str = "default",
    ) -> int:
        """Include or exclude a metric's value of one run (or of every run at ``at``) from what
        later runs learn from (Glue's PutDataQualityStatisticAnnotation); the latest annotation
        of a point wins. Returns how many points were annotated."""
        if (run_id is None) == (at is None):
            raise InvalidInput(
                "annotate one point: give either a run id or a time",
                hint="the run ids are in oaklake_system.dq_runs",
            )
        if run_id is not None:
            where = f"run_id = {lit(run_id)}"
        else:
            assert at is not None
            where = f"at = TIMESTAMP {lit(_naive(at).isoformat(sep=' '))}"
        rows = self._query(f"""
            SELECT DISTINCT run_id, at FROM {SCHEMA}.dq_metrics
            WHERE dataset = {lit(dataset)} AND context = {lit(context)}
              AND metric = {lit(metric)} AND {where}""")
        if not rows:
            point = f"run {run_id}" if run_id is not None else f"time {at}"
            known = self._query(f"""
                SELECT DISTINCT metric FROM {SCHEMA}.dq_metrics
                WHERE dataset = {lit(dataset)} AND context = {lit(context)} ORDER BY metric""")
            from oaklake.errors import did_you_mean

            names = [str(r[0]) for r in known]
            raise NotFound(
                f"no value of metric {metric!r} for {dataset} (context {context!r}) at {point}",
                hint=did_you_mean(metric, names)
                or (
                    "metrics recorded for it: " + ", ".join(names[:10])
                    if names
                    else "no quality run of this dataset and context has been recorded"
                ),
            )
        now = _naive(dt.datetime.now(dt.UTC))
        inclusion = "INCLUDE" if include else "EXCLUDE"
        self._append(
            "dq_annotations",
            [
                {
                    "dataset": dataset,
                    "context": context,
                    "metric": metric,
                    "run_id": r[0],
                    "at": r[1],
                    "inclusion": inclusion,
                    "annotated_at": now,
                }
                for r in rows
            ],
        )
        return len(rows)

    # -- attached rulesets ----------------------------------------------------------------
    def attach(self, dataset: str, ruleset: str | None) -> None:
        """Record ``ruleset`` as the table's default (None detaches); the latest row wins."""
        self.ensure_tables()
        self._append(
            "dq_rulesets",
            [
                {
                    "dataset": dataset,
                    "ruleset": ruleset,
                    "ruleset_hash": ruleset_hash(ruleset) if ruleset is not None else None,
                    "attached_at": _naive(dt.datetime.now(dt.UTC)),
                }
            ],
        )

    def ruleset(self, dataset: str) -> str | None:
        rows = self._query(f"""
            SELECT ruleset FROM {SCHEMA}.dq_rulesets WHERE dataset = {lit(dataset)}
            ORDER BY attached_at DESC LIMIT 1""")
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    # -- reading runs ---------------------------------------------------------------------
    HISTORY_COLUMNS = (
        "run_id",
        "context",
        "started_at",
        "finished_at",
        "score",
        "rules_total",
        "rules_passed",
        "rules_failed",
        "rules_error",
        "rows_processed",
        "observations",
        "anomalies",
    )

    def history_sql(self, dataset: str, limit: int | None = None) -> str:
        cols = ", ".join(self.HISTORY_COLUMNS)
        tail = f" LIMIT {int(limit)}" if limit else ""
        return (
            f"SELECT {cols} FROM {SCHEMA}.dq_runs WHERE dataset = {lit(dataset)} "
            f"ORDER BY started_at DESC, run_id DESC{tail}"
        )

    def has_runs(self, dataset: str) -> bool:
        return bool(
            self._query(f"SELECT 1 FROM {SCHEMA}.dq_runs WHERE dataset = {lit(dataset)} LIMIT 1")
        )


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and number not in (float("inf"), float("-inf")) else None


_TYPES: dict[str, Any] = {}


def arrow_schema(name: str) -> pa.Schema:
    """The Arrow schema of a system table (what rows are built with before appending)."""
    import pyarrow as pa

    if not _TYPES:
        simple = {
            "string": pa.string(),
            "timestamp": pa.timestamp("us"),
            "double": pa.float64(),
            "int": pa.int32(),
            "bigint": pa.int64(),
            "boolean": pa.bool_(),
            "map<string,string>": pa.map_(pa.string(), pa.string()),
        }
        for table, columns in TABLES.items():
            _TYPES[table] = pa.schema([pa.field(col, simple[dtype]) for col, dtype in columns])
    schema: pa.Schema = _TYPES[name]
    return schema


def _arrow(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    """Rows as an Arrow table typed like the system table (so all-NULL columns still append)."""
    import pyarrow as pa

    schema = arrow_schema(name)
    return pa.Table.from_pylist(
        [{f.name: r.get(f.name) for f in schema} for r in rows], schema=schema
    )
