"""Checking a number against a DQDL condition: operands resolved (dynamic ones from history), exact
comparisons as Glue makes them, and numbers printed as Glue prints them.

Pure functions: the evaluator hands in a ``last(k)`` lookup, so nothing here touches a store.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from oaklake.quality.ast import (
    Arithmetic,
    Between,
    Compare,
    Condition,
    FunctionCall,
    InList,
    Keyword,
    Matches,
    Number,
    Operand,
    Size,
    condition_operands,
    format_condition,
)

#: What ``last(k)`` reads: the k most recent earlier values of this rule's metric, newest first.
LastValues = Callable[[int], list[float]]

LIST_AS_SCALAR = (
    "Rule threshold results in list, and a single value is expected. Use aggregation functions "
    "to produce a single value; Valid example: sum(last(10)), avg(last(10))"
)


class OperandError(Exception):
    """An operand that cannot become a number (a list where one number is needed, x / 0, …)."""


def java_double(value: float) -> str:
    """``value`` as Java's ``Double.toString`` prints it, the form Glue's messages use."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        text = format(Decimal(repr(value)), "f")
        return text if "." in text else text + ".0"
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    shown = "".join(str(d) for d in digits).rstrip("0") or "0"
    power = len(digits) - 1 + exponent
    mantissa = shown[0] + "." + (shown[1:] or "0")
    return ("-" if sign else "") + f"{mantissa}E{power}"


def plain_number(value: float) -> str:
    """A number as DQDL writes it (no exponent), for rules with dynamic operands filled in."""
    if math.isnan(value) or math.isinf(value):
        return java_double(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def resolve(operand: Operand, last: LastValues | None = None) -> float | list[float]:
    """An operand's value: a number, or a list for ``last(k)``."""
    if isinstance(operand, Number):
        return operand.value
    if isinstance(operand, Size):
        return float(operand.bytes)
    if isinstance(operand, Arithmetic):
        left, right = scalar(operand.left, last), scalar(operand.right, last)
        if operand.op == "+":
            return left + right
        if operand.op == "-":
            return left - right
        if operand.op == "*":
            return left * right
        if right == 0:
            raise OperandError(f"the threshold divides by zero: {format_operand_text(operand)}")
        return left / right
    if isinstance(operand, FunctionCall):
        return _call(operand, last)
    raise OperandError(f"{format_operand_text(operand)} is not a number")


def scalar(operand: Operand, last: LastValues | None = None) -> float:
    value = resolve(operand, last)
    if isinstance(value, list):
        raise OperandError(LIST_AS_SCALAR)
    return value


def _call(call: FunctionCall, last: LastValues | None) -> float | list[float]:
    name = call.name
    if name == "last":
        count = int(scalar(call.args[0]))
        if last is None:
            return []
        return [float(v) for v in last(count)][:count]
    if name == "abs":
        return abs(scalar(call.args[0], last))
    values = resolve(call.args[0], last)
    if not isinstance(values, list):
        raise OperandError(f"{name}() takes a list of past values: {name}(last(10))")
    if name == "index":
        position = int(scalar(call.args[1]))
        # No history (or not that much of it) reads as 0.0, like the aggregations below.
        return values[position] if 0 <= position < len(values) else 0.0
    if not values:
        return 0.0  # DQDL: with no earlier runs the aggregations read 0.0
    if name == "avg":
        return statistics.fmean(values)
    if name == "min":
        return min(values)
    if name == "max":
        return max(values)
    if name == "sum":
        return math.fsum(values)
    if name == "median":
        return float(statistics.median(values))
    if name == "std":
        return statistics.pstdev(values)
    raise OperandError(f"unknown function {name}()")


def format_operand_text(operand: Operand) -> str:
    from oaklake.quality.ast import format_operand

    return format_operand(operand)


def check(value: float | None, condition: Condition, last: LastValues | None = None) -> bool:
    """Does a metric value satisfy a numeric condition? ``=`` is exact, ``between`` exclusive."""
    if isinstance(condition, Matches):
        raise OperandError("a number cannot be matched against a regular expression")
    if isinstance(condition, Compare):
        operand = condition.operand
        if isinstance(operand, Keyword):
            if operand.name != "NULL":
                raise OperandError(f"a number cannot be {operand.name}")
            return (value is None) == (condition.op == "=")
        if value is None or math.isnan(value):
            return condition.op == "!=" and value is None
        x = scalar(operand, last)
        op = condition.op
        if op == "=":
            return value == x
        if op == "!=":
            return value != x
        if op == ">":
            return value > x
        if op == ">=":
            return value >= x
        if op == "<":
            return value < x
        return value <= x
    if isinstance(condition, Between):
        if value is None or math.isnan(value):
            return False
        low, high = scalar(condition.low, last), scalar(condition.high, last)
        inside = low < value < high
        return not inside if condition.negated else inside
    assert isinstance(condition, InList)
    listed_null = any(isinstance(v, Keyword) and v.name == "NULL" for v in condition.values)
    numbers = [scalar(v, last) for v in condition.values if not isinstance(v, Keyword)]
    found = listed_null if value is None else value in numbers
    return not found if condition.negated else found


def substitute(condition: Condition, last: LastValues | None) -> Condition:
    """The condition with every dynamic operand replaced by the number it came to."""

    def fix(operand: Operand) -> Operand:
        if isinstance(operand, FunctionCall | Arithmetic):
            return Number(plain_number(scalar(operand, last)))
        return operand

    if isinstance(condition, Compare):
        return replace(condition, operand=fix(condition.operand))
    if isinstance(condition, Between):
        return replace(condition, low=fix(condition.low), high=fix(condition.high))
    if isinstance(condition, InList):
        return replace(condition, values=tuple(fix(v) for v in condition.values))
    return condition


def last_counts(condition: Condition | None) -> list[int]:
    """Every k in ``last(k)`` a condition uses (to fetch history once per k)."""
    found: list[int] = []

    def walk(operand: Operand) -> None:
        if isinstance(operand, FunctionCall):
            if operand.name == "last" and isinstance(operand.args[0], Number):
                found.append(int(operand.args[0].value))
            for arg in operand.args:
                walk(arg)
        elif isinstance(operand, Arithmetic):
            walk(operand.left)
            walk(operand.right)

    if condition is not None:
        for operand in condition_operands(condition):
            walk(operand)
    return found


def condition_text(condition: Condition) -> str:
    return format_condition(condition)
