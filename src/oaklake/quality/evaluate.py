"""Run a DQDL ruleset against a dataset: bind it, compile the rules, scan once, judge every rule.

The order of work is the point: compile every rule into one :class:`~oaklake.quality.compile.Plan`,
bind-check its SQL without scanning (a bad ``where`` or column becomes that rule's Error, the
others still run), run the fused scans — one aggregate query, one ``GROUP BY`` per column set,
the few queries that must join — and only then decide outcomes in Python from a handful of
numbers: dynamic thresholds from history, composites, anomaly detection. Row-level outcomes, when
asked for, are one more query computed by DuckDB, never a Python loop over rows.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from oaklake.errors import InvalidInput, OakError
from oaklake.quality.anomaly import Point, detect_anomaly
from oaklake.quality.ast import Composite, Rule, RuleNode, Ruleset, format_condition, format_rule
from oaklake.quality.compile import (
    NO_ROWS,
    Measure,
    Measured,
    Plan,
    RefInfo,
    RuleError,
    compile_plan,
    ident,
    percent_reason,
    text_literal,
    value_reason,
)
from oaklake.quality.dataset import BoundDataset, Dataset, bind
from oaklake.quality.history import MetricHistory, NoHistory
from oaklake.quality.operands import OperandError, check, substitute
from oaklake.quality.results import AnalyzerResult, DqResult, ObservationResult, Outcome, RuleResult
from oaklake.quality.rules import RULES

if TYPE_CHECKING:
    from oaklake.engine.session import Engine

CompositeMode = Literal["dataset", "row"]

__all__ = ["evaluate"]


def evaluate(
    engine: Engine,
    ruleset: Ruleset,
    dataset: Dataset,
    *,
    refs: dict[str, Dataset] | None = None,
    context: str = "default",
    composite: CompositeMode = "dataset",
    row_level: bool = False,
    history: MetricHistory | None = None,
    now: dt.datetime | None = None,
) -> DqResult:
    """Evaluate ``ruleset`` on ``dataset`` and return Glue-shaped results.

    ``refs`` are the reference datasets rules name (``"ref.col"``, DatasetMatch …), keyed by
    the alias the ruleset uses (its AdditionalDataSources names work too). ``composite`` is
    Glue's ``compositeRuleEvaluation.method``; ``now`` freezes the clock for ``now()``,
    DataFreshness and anomaly timestamps; ``history`` feeds dynamic rules and DetectAnomalies.
    """
    if composite not in ("dataset", "row"):
        raise InvalidInput(
            f"composite evaluation is 'dataset' or 'row', not {composite!r}",
            hint="compositeRuleEvaluation.method: dataset (the default) or row",
        )
    started = dt.datetime.now(dt.UTC)
    run = _Run(
        engine,
        ruleset,
        dataset,
        context=context,
        composite=composite,
        history=history or NoHistory(),
        now=now or started,
    )
    result = DqResult(
        dataset=dataset.name, context=context, started_at=started, run_id=str(uuid.uuid4())
    )
    bound = bind(engine, dataset)
    ref_bound: list[BoundDataset] = []
    try:
        refs_info = run.bind_refs(refs or {}, ref_bound)
        run.execute(bound, refs_info)
        result.rules = [run.rule_result(node) for node in ruleset.rules]
        result.analyzers = [
            AnalyzerResult(a.text, dict(run.measured_of(m).metrics))
            for a, m in zip(ruleset.analyzers, run.analyzer_measures, strict=True)
        ]
        result.observations = run.observations
        result.rows_processed = int(run.values.get(run.plan.rows_alias) or 0)
        if row_level:
            result.row_level = run.row_level_table(bound, ruleset)
    finally:
        for b in (bound, *ref_bound):
            b.close()
    result.finished_at = dt.datetime.now(dt.UTC)
    return result


@dataclass
class _Leaf:
    outcome: Outcome
    reason: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    evaluated: str = ""


class _Run:
    """One evaluation: the plan, the values the scans returned, and the outcomes decided so far."""

    def __init__(
        self,
        engine: Engine,
        ruleset: Ruleset,
        dataset: Dataset,
        *,
        context: str,
        composite: CompositeMode,
        history: MetricHistory,
        now: dt.datetime,
    ) -> None:
        self.engine = engine
        self.ruleset = ruleset
        self.dataset = dataset
        self.context = context
        self.composite = composite
        self.history = history
        self.now = now
        self.plan = Plan("")
        self.by_rule: dict[int, Measure] = {}
        self.analyzer_measures: list[Measure] = []
        self.values: dict[str, Any] = {}
        self.failed: dict[str, str] = {}
        self.measured: dict[int, Measured] = {}
        self.leaf_results: dict[int, _Leaf] = {}
        self.observations: list[ObservationResult] = []
        self.row_composites: dict[int, tuple[str, str]] = {}  # id(node) -> (passed, considered)
        self._history_cache: dict[tuple[str, int], list[float]] = {}

    # -- SQL --

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        def run() -> tuple[list[str], list[tuple[Any, ...]]]:
            cursor = self.engine.con.execute(sql)
            names = [d[0] for d in (cursor.description or [])]
            return names, cursor.fetchall()

        result: tuple[list[str], list[tuple[Any, ...]]] = self.engine._duck(run)
        return result

    # -- binding and compiling --

    def bind_refs(
        self, refs: Mapping[str, Dataset], opened: list[BoundDataset]
    ) -> dict[str, RefInfo]:
        wanted = dict(refs)
        by_name = {ds.name: ds for ds in refs.values()}
        for alias in self.ruleset.data_sources.additional:
            if alias not in wanted and alias in by_name:
                wanted[alias] = by_name[alias]
        info: dict[str, RefInfo] = {}
        for alias, ds in wanted.items():
            try:
                b = bind(self.engine, ds)
            except OakError as e:
                info[alias] = RefInfo("", (), error=f"Reference dataset '{alias}': {e.message}")
                continue
            opened.append(b)
            info[alias] = RefInfo(b.view, tuple(b.columns))
        return info

    def compile(
        self,
        bound: BoundDataset,
        refs: Mapping[str, RefInfo],
        errors: Mapping[str, str] | None = None,
    ) -> None:
        self.plan, self.by_rule, self.analyzer_measures = compile_plan(
            self.ruleset,
            bound.columns,
            table=bound.view,
            now=self.now,
            refs=refs,
            files=bound.files or None,
            errors=errors,
        )

    def execute(self, bound: BoundDataset, refs: Mapping[str, RefInfo]) -> None:
        self.compile(bound, refs)
        errors = self.validate(bound.view)
        if errors:
            self.compile(bound, refs, errors)
        self.plan_row_composites(fuse=True)
        self.scan()
        self.judge_leaves()
        self.plan_row_composites(fuse=False)

    def validate(self, view: str) -> dict[str, str]:
        """Bind-check every rule's SQL without scanning; the rules that fail become Errors."""
        errors: dict[str, str] = {}
        measures = [m for m in self.plan.measures if m.checks and not m.error]
        if measures:
            everything = [c for m in measures for c in m.checks]
            try:
                self._describe(view, everything)
            except OakError:
                for m in measures:
                    try:
                        self._describe(view, list(m.checks))
                    except OakError as e:
                        errors[m.rule.text] = self._bind_reason(view, m, e)
        for m in self.plan.measures:
            for pattern in m.regexes:
                try:
                    self.query(f"SELECT regexp_full_match('', {text_literal(pattern)})")
                except OakError as e:
                    errors[m.rule.text] = f"Invalid regular expression {pattern!r}: {e.message}"
        return errors

    def _describe(self, view: str, expressions: list[str]) -> None:
        select = ", ".join(f"({e}) AS c{i}" for i, e in enumerate(expressions))
        self.query(f"DESCRIBE SELECT {select} FROM {ident(view)}")

    def _bind_reason(self, view: str, measure: Measure, error: OakError) -> str:
        where = measure.checks[0] if measure.rule.where else None
        if where is not None:
            try:
                self._describe(view, [where])
            except OakError as e:
                return f"The where clause is invalid: {e.message}"
        return error.message

    # -- scanning --

    def scan(self) -> None:
        plan = self.plan
        if plan.aggregates:
            aliases = list(plan.aggregates.values())
            try:
                names, rows = self.query(plan.aggregate_sql())
                self.values.update(zip(names, rows[0], strict=True))
            except OakError:
                self._isolate(aliases)
        for scan in plan.groups.values():
            if not scan.stats:
                continue
            try:
                names, rows = self.query(scan.sql(plan.table))
                self.values.update(zip(names, rows[0], strict=True))
            except OakError as e:
                for alias in scan.stats.values():
                    self.failed[alias] = e.message
        for alias, sql in plan.extras.items():
            try:
                self.values[alias] = self.query(sql)[1]
            except OakError as e:
                self.failed[alias] = e.message

    def _isolate(self, aliases: list[str]) -> None:
        """The fused scan failed at run time: rescan per rule so only the culprits fail."""
        wanted = set(aliases)
        groups: list[list[str]] = [[self.plan.rows_alias]]
        for m in self.plan.measures:
            mine = [a for a in m.reads if a in wanted]
            if mine:
                groups.append(mine)
        for group in groups:
            try:
                names, rows = self.query(self.plan.aggregate_sql(group))
                self.values.update(zip(names, rows[0], strict=True))
            except OakError as e:
                for alias in group:
                    self.failed.setdefault(alias, e.message)

    # -- leaves --

    def measured_of(self, measure: Measure) -> Measured:
        key = id(measure)
        if key not in self.measured:
            broken = next((self.failed[a] for a in measure.reads if a in self.failed), None)
            if measure.error:
                out = Measured(error=measure.error)
            elif broken is not None:
                out = Measured(error=broken)
            else:
                try:
                    out = measure.finish(self.values)
                except (RuleError, OperandError) as e:
                    out = Measured(error=str(e))
                except OakError as e:
                    out = Measured(error=e.message)
            self.measured[key] = out
        return self.measured[key]

    def judge_leaves(self) -> None:
        for node in self.ruleset.rules:
            for leaf in _leaves(node):
                if id(leaf) not in self.leaf_results:
                    self.leaf_results[id(leaf)] = self.judge(leaf)

    def last_values(self, rule: Rule) -> Any:
        def last(k: int) -> list[float]:
            key = (rule.text, k)
            if key not in self._history_cache:
                values = self.history.values(self.dataset.name, self.context, rule.text, k)
                self._history_cache[key] = [float(v) for v in values]
            return self._history_cache[key]

        return last

    def judge(self, rule: Rule) -> _Leaf:
        measure = self.by_rule[id(rule)]
        m = self.measured_of(measure)
        if m.error is not None:
            return _Leaf("Error", m.error, dict(m.metrics), rule.text)
        if measure.mode == "anomaly":
            return self.detect(rule, m)
        if measure.mode == "metric" and rule.condition is not None:
            if m.value is None and m.verdict is not None:
                return _Leaf(_outcome(m.verdict), m.reason, dict(m.metrics), rule.text)
            last = self.last_values(rule)
            try:
                ok = check(m.value, rule.condition, last)
                evaluated = _evaluated_text(rule, last)
            except OperandError as e:
                return _Leaf("Error", str(e), dict(m.metrics), rule.text)
            reason = None if ok else (m.reason or value_reason(m.value))
            return _Leaf(_outcome(ok), reason, dict(m.metrics), evaluated)
        if measure.mode == "metric":
            return _Leaf(
                "Error",
                f"{rule.rule_type} computes a number and needs a condition to check it against",
                dict(m.metrics),
                rule.text,
            )
        if measure.mode == "rows" and rule.threshold is not None and m.value is not None:
            ok = check(m.value, rule.threshold)
            return _Leaf(
                _outcome(ok), None if ok else value_reason(m.value), dict(m.metrics), rule.text
            )
        if m.verdict is None:
            return _Leaf("Error", "the rule produced no outcome", dict(m.metrics), rule.text)
        return _Leaf(_outcome(m.verdict), m.reason, dict(m.metrics), rule.text)

    def detect(self, rule: Rule, m: Measured) -> _Leaf:
        moment = _aware(self.now)
        anomalies: list[str] = []
        notes: list[str] = []
        for key, value in m.metrics.items():
            points = [
                Point(_aware(p.timestamp), p.value, p.included)
                for p in self.history.points(self.dataset.name, self.context, key)
            ]
            try:
                obs = detect_anomaly(points, Point(moment, value), metric=key)
            except OakError as e:
                return _Leaf("Error", e.message, dict(m.metrics), rule.text)
            if obs is None:
                used = sum(1 for p in points if p.included)
                notes.append(
                    f"Not enough history to detect anomalies in {key}: {used} earlier data "
                    f"point(s), at least 3 are needed"
                )
                continue
            self.observations.append(
                ObservationResult(obs.message, key, obs.actual, obs.expected, obs.lower, obs.upper)
            )
            if obs.is_anomaly:
                anomalies.append(obs.message)
        if not m.metrics:
            return _Leaf("Error", "no metric to watch", {}, rule.text)
        if anomalies:
            return _Leaf("Failed", "\n".join(anomalies), dict(m.metrics), rule.text)
        return _Leaf("Passed", "\n".join(notes) or None, dict(m.metrics), rule.text)

    # -- composites --

    def node_result(self, node: RuleNode) -> _Leaf:
        if isinstance(node, Rule):
            return self.leaf_results[id(node)]
        parts = [self.node_result(o) for o in node.operands]
        metrics: dict[str, float] = {}
        for p in parts:
            metrics.update(p.metrics)
        reasons = [p.reason for p in parts if p.reason]
        evaluated = f" {node.op} ".join(f"({p.evaluated})" for p in parts)
        if self.composite == "row" and id(node) in self.row_composites:
            return self.row_composite(node, parts, metrics, evaluated)
        outcomes = [p.outcome for p in parts]
        if node.op == "and":
            outcome: Outcome = (
                "Failed" if "Failed" in outcomes else "Error" if "Error" in outcomes else "Passed"
            )
        else:
            outcome = (
                "Passed" if "Passed" in outcomes else "Error" if "Error" in outcomes else "Failed"
            )
        return _Leaf(outcome, "\n".join(reasons) or None, metrics, evaluated)

    def row_composite(
        self, node: Composite, parts: list[_Leaf], metrics: dict[str, float], evaluated: str
    ) -> _Leaf:
        errors = [p.reason for p in parts if p.outcome == "Error"]
        if errors:
            return _Leaf("Error", "\n".join(e for e in errors if e) or None, metrics, evaluated)
        passed_alias, considered_alias = self.row_composites[id(node)]
        if passed_alias in self.failed or passed_alias not in self.values:
            reason = self.failed.get(passed_alias, "the row-level combination could not be run")
            return _Leaf("Error", reason, metrics, evaluated)
        passed = int(self.values[passed_alias] or 0)
        considered = int(self.values[considered_alias] or 0)
        if considered == 0:
            return _Leaf("Passed", NO_ROWS, metrics, evaluated)
        if passed == considered:
            return _Leaf("Passed", None, metrics, evaluated)
        return _Leaf("Failed", percent_reason(passed / considered), metrics, evaluated)

    def row_expression(self, node: RuleNode, *, constants: bool) -> str | None:
        """Per-row outcome of a node in row mode: TRUE/FALSE/NULL (NULL: not considered).

        Operands that have no per-row outcome (or are excluded from row-level composites) count
        with their dataset-level outcome — known only after the scan, so ``constants=False``
        returns None for them.
        """
        if isinstance(node, Rule):
            measure = self.by_rule[id(node)]
            excluded = RULES[node.rule_type].excluded_in_row_composites
            if measure.row_sql is not None and not excluded and not measure.error:
                if not constants and measure.row_complex:
                    return None
                return f"({measure.row_sql})"
            if not constants:
                return None
            leaf = self.leaf_results[id(node)]
            if leaf.outcome == "Error":
                return None
            return "TRUE" if leaf.outcome == "Passed" else "FALSE"
        parts = [self.row_expression(o, constants=constants) for o in node.operands]
        if any(p is None for p in parts):
            return None
        first, second = ("FALSE", "TRUE") if node.op == "and" else ("TRUE", "FALSE")
        any_first = " OR ".join(f"{p} IS {first}" for p in parts)
        any_second = " OR ".join(f"{p} IS {second}" for p in parts)
        return f"(CASE WHEN {any_first} THEN {first} WHEN {any_second} THEN {second} END)"

    def plan_row_composites(self, *, fuse: bool) -> None:
        """Row-mode composites: fused into the main scan when every operand is per-row,
        otherwise one extra pass once the dataset-level operands are judged."""
        if self.composite != "row":
            return
        pending: list[tuple[int, str]] = []
        for node in self.ruleset.rules:
            if not isinstance(node, Composite) or id(node) in self.row_composites:
                continue
            expression = self.row_expression(node, constants=not fuse)
            if expression is None:
                continue
            if fuse:
                passed = self.plan.agg(f"count(*) FILTER (WHERE {expression} IS TRUE)")
                considered = self.plan.agg(f"count(*) FILTER (WHERE {expression} IS NOT NULL)")
                self.row_composites[id(node)] = (passed, considered)
            else:
                pending.append((id(node), expression))
        if not pending:
            return
        inner = ", ".join(f"{e} AS c{i}" for i, (_, e) in enumerate(pending))
        outer = ", ".join(
            f"count(*) FILTER (WHERE c{i} IS TRUE) AS rp{i}, "
            f"count(*) FILTER (WHERE c{i} IS NOT NULL) AS rn{i}"
            for i in range(len(pending))
        )
        sql = f"SELECT {outer} FROM (SELECT {inner} FROM {ident(self.plan.table)}) AS r"
        try:
            names, rows = self.query(sql)
            self.values.update(zip(names, rows[0], strict=True))
        except OakError as e:
            for i in range(len(pending)):
                self.failed[f"rp{i}"] = e.message
        for i, (key, _) in enumerate(pending):
            self.row_composites[key] = (f"rp{i}", f"rn{i}")

    # -- results --

    def rule_result(self, node: RuleNode) -> RuleResult:
        leaf = self.node_result(node)
        return RuleResult(
            rule=node.text,
            outcome=leaf.outcome,
            failure_reason=leaf.reason,
            metrics=leaf.metrics,
            labels=dict(node.labels),
            evaluated_rule=leaf.evaluated or node.text,
        )

    def row_level_table(self, bound: BoundDataset, ruleset: Ruleset) -> Any:
        """Original columns + Glue's DataQualityRules{Pass,Fail,Skip} and the row verdict."""
        per_row: list[tuple[str, str]] = []
        skipped: list[str] = []
        for node in ruleset.rules:
            expression: str | None = None
            if isinstance(node, Rule):
                leaf = self.leaf_results[id(node)]
                measure = self.by_rule[id(node)]
                if leaf.outcome != "Error" and measure.row_sql is not None:
                    expression = f"({measure.row_sql})"
            elif self.composite == "row" and self.node_result(node).outcome != "Error":
                expression = self.row_expression(node, constants=True)
            if expression is None:
                skipped.append(node.text)
            else:
                per_row.append((expression, node.text))

        def listed(test: str, extra: list[str]) -> str:
            items = [f"CASE WHEN {e} IS {test} THEN {text_literal(t)} END" for e, t in per_row]
            items += [text_literal(t) for t in extra]
            body = ", ".join(items)
            return (
                f"CAST([__oak_r FOR __oak_r IN [{body}] IF __oak_r IS NOT NULL] AS VARCHAR[])"
                if items
                else "CAST([] AS VARCHAR[])"
            )

        view = ident(bound.view)
        sql = (
            "SELECT *, CASE WHEN len(\"DataQualityRulesFail\") = 0 THEN 'Passed' "
            "ELSE 'Failed' END AS \"DataQualityEvaluationResult\" FROM (\n"
            f"  SELECT {view}.*,\n"
            f'    {listed("TRUE", [])} AS "DataQualityRulesPass",\n'
            f'    {listed("FALSE", [])} AS "DataQualityRulesFail",\n'
            f'    {listed("NULL", skipped)} AS "DataQualityRulesSkip"\n'
            f"  FROM {view}\n) AS outcomes"
        )
        return self.engine._duck(lambda: self.engine.con.sql(sql).to_arrow_table())


# ---- helpers -------------------------------------------------------------------------------


def _leaves(node: RuleNode) -> list[Rule]:
    if isinstance(node, Rule):
        return [node]
    return [leaf for operand in node.operands for leaf in _leaves(operand)]


def _outcome(ok: bool) -> Outcome:
    return "Passed" if ok else "Failed"


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _evaluated_text(rule: Rule, last: Any) -> str:
    """The rule text with dynamic operands replaced by the numbers they came to."""
    if rule.condition is None:
        return rule.text
    resolved = substitute(rule.condition, last)
    if resolved == rule.condition:
        return rule.text
    head = format_rule(rule.rule_type, rule.params)
    before, after = format_condition(rule.condition), format_condition(resolved)
    if rule.text.startswith(head):
        return head + rule.text[len(head) :].replace(before, after, 1)
    return rule.text.replace(before, after, 1)
