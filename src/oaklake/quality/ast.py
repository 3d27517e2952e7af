"""The DQDL syntax tree: what a ruleset says, with variables resolved and defaults merged.

Nodes are frozen dataclasses; sequences are tuples so a node never changes after parsing. The
``text`` of a rule is its canonical form (Glue's printed form, normalised: parameters always
quoted, connector words dropped, one space between parts), which is also the key rule outcomes are
reported under; ``format_*`` below produce it, and parsing that text gives the same node again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

# ---- operands -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    """A numeric literal, kept as written (``0.95``, ``-5``) so the rule text round-trips."""

    text: str

    @property
    def value(self) -> float:
        return float(self.text)

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.text)


@dataclass(frozen=True)
class String:
    value: str


@dataclass(frozen=True)
class Keyword:
    """``NULL``, ``EMPTY`` or ``WHITESPACES_ONLY`` (always upper case here)."""

    name: Literal["NULL", "EMPTY", "WHITESPACES_ONLY"]


@dataclass(frozen=True)
class Date:
    """A quoted ``"YYYY-MM-DD"`` used as a date."""

    text: str

    @property
    def value(self) -> dt.date:
        return dt.date.fromisoformat(self.text)


@dataclass(frozen=True)
class Time:
    """A quoted time of day, ``"9:30 AM"`` or ``"21:45"`` (today, evaluated at run time)."""

    text: str

    @property
    def value(self) -> dt.time:
        return parse_time(self.text)


@dataclass(frozen=True)
class Now:
    """``now()`` or ``(now() - 3 days)``: offset_amount is signed (-3); unit None for now()."""

    offset_amount: int = 0
    unit: Literal["days", "hours", "minutes"] | None = None


@dataclass(frozen=True)
class Duration:
    amount: int
    unit: Literal["days", "hours", "minutes"]


_SIZE_FACTORS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


@dataclass(frozen=True)
class Size:
    amount: int
    unit: Literal["B", "KB", "MB", "GB", "TB"]

    @property
    def bytes(self) -> int:
        return self.amount * _SIZE_FACTORS[self.unit]


@dataclass(frozen=True)
class Arithmetic:
    op: Literal["+", "-", "*", "/"]
    left: Operand
    right: Operand


@dataclass(frozen=True)
class FunctionCall:
    """A dynamic-rule function over previous runs: last, avg, min, max, sum, std, median, abs,
    index. ``last(k)`` yields a list; the others yield a number."""

    name: str
    args: tuple[Operand, ...]


Operand = (
    Number | String | Keyword | Date | Time | Now | Duration | Size | Arithmetic | FunctionCall
)

# ---- conditions -----------------------------------------------------------------------------

CompareOp = Literal["=", "!=", ">", ">=", "<", "<="]


@dataclass(frozen=True)
class Compare:
    op: CompareOp
    operand: Operand


@dataclass(frozen=True)
class Between:
    """``between low and high``: EXCLUSIVE, low < v < high (negated: v <= low or v >= high)."""

    low: Operand
    high: Operand
    negated: bool = False


@dataclass(frozen=True)
class InList:
    values: tuple[Operand, ...]
    negated: bool = False


@dataclass(frozen=True)
class Matches:
    """A regular expression that must match the WHOLE value."""

    pattern: str
    negated: bool = False


Condition = Compare | Between | InList | Matches

ConditionKind = Literal["numeric", "string", "date", "duration", "size", "matches"]

# ---- rules and rulesets ---------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    rule_type: str
    params: tuple[str, ...] = ()
    condition: Condition | None = None
    where: str | None = None
    threshold: Condition | None = None
    tags: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    text: str = ""


@dataclass(frozen=True)
class Composite:
    """``(r1) and (r2)``; operands are rules or composites with the other operator."""

    op: Literal["and", "or"]
    operands: tuple[RuleNode, ...]
    labels: dict[str, str] = field(default_factory=dict)
    text: str = ""


RuleNode = Rule | Composite


@dataclass(frozen=True)
class Analyzer:
    type: str
    params: tuple[str, ...] = ()
    where: str | None = None
    text: str = ""


@dataclass(frozen=True)
class DataSources:
    primary: str | None = None
    additional: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ruleset:
    metadata: dict[str, str] = field(default_factory=dict)
    data_sources: DataSources = field(default_factory=DataSources)
    variables: dict[str, str | tuple[str, ...]] = field(default_factory=dict)
    default_labels: dict[str, str] = field(default_factory=dict)
    rules: tuple[RuleNode, ...] = ()
    analyzers: tuple[Analyzer, ...] = ()


# ---- helpers for the compiler ---------------------------------------------------------------


def parse_time(text: str) -> dt.time:
    """``"9:30 AM"``, ``"9:30 pm"``, ``"21:45"`` → a time; ValueError when it is not one."""
    body = text.strip()
    meridiem = None
    if body[-2:].upper() in ("AM", "PM"):
        meridiem = body[-2:].upper()
        body = body[:-2].strip()
    hours, _, minutes = body.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and len(hours) <= 2):
        raise ValueError(f"not a time: {text!r}")
    h, m = int(hours), int(minutes)
    if meridiem is not None:
        if not 1 <= h <= 12:
            raise ValueError(f"not a time: {text!r}")
        h = h % 12 + (12 if meridiem == "PM" else 0)
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise ValueError(f"not a time: {text!r}")
    return dt.time(h, m)


def operand_kind(operand: Operand) -> ConditionKind | None:
    """The kind of value an operand is; None for the NULL keyword, which goes with any kind."""
    if isinstance(operand, Number | Arithmetic | FunctionCall):
        return "numeric"
    if isinstance(operand, Date | Time | Now):
        return "date"
    if isinstance(operand, Duration):
        return "duration"
    if isinstance(operand, Size):
        return "size"
    if isinstance(operand, Keyword) and operand.name == "NULL":
        return None
    return "string"


def condition_operands(condition: Condition) -> tuple[Operand, ...]:
    if isinstance(condition, Compare):
        return (condition.operand,)
    if isinstance(condition, Between):
        return (condition.low, condition.high)
    if isinstance(condition, InList):
        return condition.values
    return ()


def condition_kind(condition: Condition) -> ConditionKind:
    """What a condition compares: numbers, strings, dates, durations, sizes, or a regex."""
    if isinstance(condition, Matches):
        return "matches"
    for operand in condition_operands(condition):
        kind = operand_kind(operand)
        if kind is not None:
            return kind
    return "string"  # only NULL: a null test, which string rules (ColumnValues) carry


def is_dynamic(node: Condition | Operand | None) -> bool:
    """True when a condition uses values of previous runs (``last(…)``)."""
    if node is None:
        return False
    if isinstance(node, FunctionCall):
        return True
    if isinstance(node, Arithmetic):
        return is_dynamic(node.left) or is_dynamic(node.right)
    if isinstance(node, Compare | Between | InList):
        return any(is_dynamic(o) for o in condition_operands(node))
    return False


# ---- canonical text -------------------------------------------------------------------------

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def quote(value: str) -> str:
    """A DQDL string literal: double quotes, with ``\\`` and ``"`` escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_operand(operand: Operand) -> str:
    if isinstance(operand, Number):
        return operand.text
    if isinstance(operand, String):
        return quote(operand.value)
    if isinstance(operand, Keyword):
        return operand.name
    if isinstance(operand, Date | Time):
        return quote(operand.text)
    if isinstance(operand, Now):
        if operand.unit is None:
            return "now()"
        sign = "-" if operand.offset_amount < 0 else "+"
        return f"(now() {sign} {abs(operand.offset_amount)} {operand.unit})"
    if isinstance(operand, Duration | Size):
        return f"{operand.amount} {operand.unit}"
    if isinstance(operand, FunctionCall):
        return f"{operand.name}({','.join(format_operand(a) for a in operand.args)})"
    prec = _PRECEDENCE[operand.op]
    left = format_operand(operand.left)
    if isinstance(operand.left, Arithmetic) and _PRECEDENCE[operand.left.op] < prec:
        left = f"({left})"
    right = format_operand(operand.right)
    if isinstance(operand.right, Arithmetic) and (
        _PRECEDENCE[operand.right.op] < prec
        or (_PRECEDENCE[operand.right.op] == prec and operand.op in "-/")
    ):
        right = f"({right})"
    return f"{left} {operand.op} {right}"


def format_condition(condition: Condition) -> str:
    neg = "not " if getattr(condition, "negated", False) else ""
    if isinstance(condition, Compare):
        return f"{condition.op} {format_operand(condition.operand)}"
    if isinstance(condition, Between):
        low, high = format_operand(condition.low), format_operand(condition.high)
        return f"{neg}between {low} and {high}"
    if isinstance(condition, InList):
        return f"{neg}in [{','.join(format_operand(v) for v in condition.values)}]"
    return f"{neg}matches {quote(condition.pattern)}"


def format_labels(labels: dict[str, str]) -> str:
    return "labels=[" + ", ".join(f"{quote(k)}={quote(v)}" for k, v in labels.items()) + "]"


def format_rule(
    rule_type: str,
    params: tuple[str, ...],
    condition: Condition | None = None,
    where: str | None = None,
    threshold: Condition | None = None,
    tags: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> str:
    """Glue's order: type, parameters, condition, where, threshold, other tags, labels."""
    parts = [rule_type, *(quote(p) for p in params)]
    if condition is not None:
        parts.append(format_condition(condition))
    if where is not None:
        parts.append(f"where {quote(where)}")
    if threshold is not None:
        parts.append(f"with threshold {format_condition(threshold)}")
    for key, value in (tags or {}).items():
        parts.append(f"with {key} = {quote(value)}")
    if labels:
        parts.append(format_labels(labels))
    return " ".join(parts)


def format_composite(
    op: str, operands: tuple[RuleNode, ...], labels: dict[str, str] | None = None
) -> str:
    """Each operand in parentheses; a nested composite keeps its own, as in Glue."""
    text = f" {op} ".join(f"({o.text})" for o in operands)
    if labels:
        text += " " + format_labels(labels)
    return text
