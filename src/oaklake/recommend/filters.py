"""Personalize filter expressions: text → :class:`Filter` → a boolean mask over the catalogue.

A filter is written once (``CreateFilter``) and applied on every recommendation call, so the two
halves have different budgets. Compiling parses with our own Lark grammar and checks every rule
Personalize states (AND/OR stay on one dataset, ``Interactions`` only has ``EVENT_TYPE``, IF only
tests ``CurrentUser`` …), reporting mistakes with line, column, a caret and a hint. Applying is
vectorised numpy over per-field lookups (value → item indices, and numeric views) that are built
on first use and kept in the :class:`FilterContext`'s :class:`ItemIndex`, so a catalogue of 100k
items costs one pass per field, not one per call.

Semantics follow the Personalize guide (creating-filter-expressions, multiple-expression-example,
filter-expression-guidelines-requirements, filter-real-time), with these decisions where it is
silent:

* Keywords (INCLUDE, WHERE, IN, AND …), dataset names and ItemID/UserID are case-insensitive; field
  names are matched against the UPPER-CASE attribute names; ``$PARAMETER`` names are case-sensitive
  (the API says "in matching case"); values are exact strings, except event types, which
  Personalize matches ignoring case.
* AND binds before OR; there are no parentheses for grouping.
* A multi-valued attribute (``Action|Crime``) matches IN when any of its values is listed; NOT IN
  is the negation, so an item without the attribute is NOT IN every list. Comparisons hold when
  any numeric value satisfies them; a missing or non-numeric value never does.
* An expression whose ``IF CurrentUser …`` does not hold (or with no known user) is left out, as
  is an EXCLUDE expression whose parameter has no value; the rest of the filter then applies.
  When no INCLUDE expression is left, nothing restricts the items before the excludes.
* Interaction filters see the user's whole history, not Personalize's latest 100 events per event
  type (and no 3-month expiry): that is our difference.
* ``!=`` is accepted; ``NOT IN`` with a ``$PARAMETER`` is refused, as Personalize refuses it.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NoReturn

import numpy as np
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from oaklake.errors import InvalidInput, NotSupported, SqlSyntaxError, did_you_mean

__all__ = [
    "Condition",
    "Expression",
    "Filter",
    "FilterContext",
    "FilterSyntaxError",
    "ItemIndex",
    "Ref",
    "compile_filter",
    "parse_filter_values",
]

MAX_PARAM_NAME = 50
ORDERING = ("<", "<=", ">", ">=")
EVENT_TYPE = "EVENT_TYPE"
ITEM_ID = "ITEM_ID"
_DATASETS = {
    "ITEMS": "Items",
    "USERS": "Users",
    "INTERACTIONS": "Interactions",
    "CURRENTITEM": "CurrentItem",
    "CURRENTUSER": "CurrentUser",
}
_TARGETS = {"ITEMID": "ItemID", "USERID": "UserID"}
_EXAMPLE = 'INCLUDE ItemID WHERE Items.GENRE IN ("Comedy", "Drama")'
_VALUES_EXAMPLE = '{"GENRE": "\\"Comedy\\",\\"Drama\\""}'

Action = Literal["INCLUDE", "EXCLUDE"]
Target = Literal["ItemID", "UserID"]
Value = str | float


class FilterSyntaxError(SqlSyntaxError):
    """A filter expression that is not valid: position, caret snippet and a hint."""

    code = "REC_INVALID_FILTER"


# ---- the compiled form ----------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """``Dataset.FIELD`` as written; ``dataset`` is canonical (``Items``), ``field`` as given."""

    dataset: str
    field: str
    line: int
    column: int
    field_line: int
    field_column: int

    @property
    def key(self) -> str:
        return self.field.upper()


@dataclass(frozen=True)
class Condition:
    """One test. The right side is literal ``values``, a ``param`` or a ``current`` item field."""

    left: Ref
    op: str  # IN, NOT IN, =, !=, <, <=, >, >=
    values: tuple[Value, ...] = ()
    param: str | None = None
    current: Ref | None = None


@dataclass(frozen=True)
class Expression:
    """One ``INCLUDE|EXCLUDE … WHERE …`` part; ``groups`` is an OR of ANDs."""

    action: Action
    target: Target
    dataset: str
    groups: tuple[tuple[Condition, ...], ...]
    when: tuple[Condition, ...]  # IF CurrentUser … (all must hold)
    params: frozenset[str]
    text: str
    line: int
    column: int

    @property
    def conditions(self) -> tuple[Condition, ...]:
        return tuple(c for group in self.groups for c in group) + self.when


# ---- grammar --------------------------------------------------------------------------------

# Deliberately loose where the builder can say more than "unexpected token": dataset names,
# ItemID/UserID, which side CurrentItem is on, AND vs OR after IF.
_GRAMMAR = r"""
start: expression (_PIPE expression)*
expression: ACTION NAME WHERE conditions if_clause?
conditions: condition (LOGIC condition)*
if_clause: IF condition (LOGIC condition)*
condition: ref IN values        -> in_list
         | ref NOT IN values    -> not_in_list
         | ref COMP operand     -> compare
values: _LPAR operand (_COMMA operand)* _RPAR   -> value_list
      | ref                                     -> value_ref
?operand: STRING | NUMBER | PARAM | ref
ref: NAME _DOT NAME

ACTION.2: /(include|exclude)\b/i
WHERE.2: /where\b/i
IF.2: /if\b/i
NOT.2: /not\b/i
IN.2: /in\b/i
LOGIC.2: /(and|or)\b/i
COMP: /<=|>=|!=|<|>|=/
NAME: /[A-Za-z_][A-Za-z0-9_]*/
PARAM: /\$[A-Za-z0-9_]+/
STRING: /"(?:[^"\\\n]|\\.)*"/
NUMBER: /[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/
_PIPE: "|"
_LPAR: "("
_RPAR: ")"
_COMMA: ","
_DOT: "."

%import common.WS
%ignore WS
"""

_TERMINAL_WORDS = {
    "ACTION": "INCLUDE or EXCLUDE",
    "WHERE": "WHERE",
    "IF": "IF",
    "NOT": "NOT IN",
    "IN": "IN",
    "LOGIC": "AND or OR",
    "COMP": "a comparison (= != < <= > >=)",
    "NAME": "a name",
    "PARAM": "a $PARAMETER",
    "STRING": 'a "string"',
    "NUMBER": "a number",
    "_PIPE": "'|'",
    "_LPAR": "'('",
    "_RPAR": "')'",
    "_COMMA": "','",
    "_DOT": "'.'",
    "$END": "end of input",
}
_KEYWORDS_OF = {
    "ACTION": ("INCLUDE", "EXCLUDE"),
    "WHERE": ("WHERE",),
    "IF": ("IF",),
    "NOT": ("NOT IN",),
    "IN": ("IN",),
    "LOGIC": ("AND", "OR"),
}


@functools.cache
def _parser() -> Lark:
    return Lark(
        _GRAMMAR,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
    )


def compile_filter(
    text: str,
    *,
    item_fields: Iterable[str] | None = None,
    user_fields: Iterable[str] | None = None,
) -> Filter:
    """Parse and check a filter expression.

    With ``item_fields`` / ``user_fields`` (the dataset schemas), unknown fields are refused here,
    with the caret under them, as Personalize's ``CreateFilter`` does; without them, they are
    refused when the filter is applied.
    """
    compiled = _compile(text)
    if item_fields is not None or user_fields is not None:
        compiled.check_fields(item_fields=item_fields, user_fields=user_fields)
    return compiled


@functools.lru_cache(maxsize=512)
def _compile(text: str) -> Filter:
    if not isinstance(text, str) or not text.strip():
        raise FilterSyntaxError(
            "the filter expression is empty", text=text or "", line=1, column=1, hint=_EXAMPLE
        )
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as e:
        raise _syntax_error(text, e) from None
    return Filter(text=text, expressions=_Builder(text).build(tree))


# ---- syntax errors --------------------------------------------------------------------------


def _position(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _offset(text: str, line: int, column: int) -> int:
    start = 0
    for _ in range(line - 1):
        start = text.index("\n", start) + 1
    return start + column - 1


def _describe_expected(expected: set[str]) -> str:
    words: list[str] = []
    for name in sorted(expected, key=lambda n: (n == "$END", n)):
        word = _TERMINAL_WORDS.get(name, name.lower())
        if word not in words:
            words.append(word)
    return ", ".join(words)


def _suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The one keyword a misspelt word most likely meant (short words need a looser cutoff)."""
    options = list(dict.fromkeys(candidates))
    upper = word.upper()
    squeezed = {c.replace(" ", ""): c for c in options}
    if upper in squeezed:
        return squeezed[upper]
    match = difflib.get_close_matches(upper, options, n=1, cutoff=0.5)
    return match[0] if match else None


def _syntax_error(text: str, e: UnexpectedInput) -> FilterSyntaxError:
    """Turn Lark's complaint into ours: the offending word's position and a useful hint."""
    expected: set[str] = set()
    if isinstance(e, UnexpectedToken | UnexpectedEOF):
        expected = set(e.expected)
    elif isinstance(e, UnexpectedCharacters):
        expected = set(e.allowed or ())
    interactive = getattr(e, "interactive_parser", None)
    if interactive is not None:
        # LALR lists every lookahead of the state; this asks what could really come next.
        expected = set(interactive.accepts())
    at_end = isinstance(e, UnexpectedEOF) or (
        isinstance(e, UnexpectedToken) and e.token.type == "$END"
    )
    if at_end:
        pos = len(text.rstrip())
        word = ""
    else:
        pos = _offset(text, int(e.line), int(e.column))
        m = re.match(r"""[A-Za-z0-9_$]+|"[^"\n]*"?|'[^'\n]*'?|==|<>|!=|<=|>=|&&|\S""", text[pos:])
        word = m.group(0) if m else ""
    if expected == {"_DOT"}:
        # A bare word where a value belongs parses as the start of Dataset.FIELD; point at it.
        prev = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", text[:pos])
        if prev:
            pos, word = prev.start(1), prev[1]
    line, column = _position(text, pos)
    desc = repr(word) if word else "end of input"
    message = f"unexpected {desc}"
    if expected:
        message += f"; expected {_describe_expected(expected)}"
    hint = _hint_for(text, pos, word, expected)
    return FilterSyntaxError(message, text=text, line=line, column=column, hint=hint)


def _unclosed_paren(text: str) -> int | None:
    depth: list[int] = []
    in_string = False
    i = 0
    while i < len(text):
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "(":
            depth.append(i)
        elif ch == ")" and depth:
            depth.pop()
        i += 1
    return depth[-1] if depth else None


def _hint_for(text: str, pos: int, word: str, expected: set[str]) -> str:
    before = text[:pos].rstrip()
    prev = re.search(r"([A-Za-z_][A-Za-z0-9_]*)$", before)
    prev_word = prev[1].upper() if prev else ""
    is_name = bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", word))
    if word.startswith("'"):
        return 'strings go in double quotes: "Comedy"'
    if word.startswith('"') and (len(word) == 1 or not word.endswith('"')):
        return 'this string has no closing "'
    if word == "==" or (word == "=" and before.endswith("=")):
        return "equality is a single =: Items.PRICE = 10"
    if word == "<>" or (word == ">" and before.endswith("<")):
        return 'not-equal is != for numbers, NOT IN ("…") for strings'
    if word in ("&&", "&"):
        return "join conditions with AND or OR"
    if expected == {"_DOT"} and is_name:
        return f'strings go in double quotes: "{word}"; a field is written Dataset.FIELD'
    if expected == {"WHERE"} and prev_word == "WHERE":
        return "say what the filter selects: EXCLUDE ItemID WHERE …"
    if is_name and word.upper() in ("INCLUDE", "EXCLUDE") and "_PIPE" in expected:
        return f"join expressions with |: … | {word.upper()} ItemID WHERE …"
    if is_name and word.upper() == "IF" and "IF" not in expected:
        return "an expression has one IF, at its end; join its conditions with AND"
    if word == "(" and "NAME" in expected and "_LPAR" not in expected:
        return "conditions are not grouped with parentheses; AND binds before OR"
    if is_name and word.upper() in _DATASETS and "WHERE" in expected:
        return f"add WHERE before the condition: … ItemID WHERE {word}.FIELD …"
    if is_name:
        keywords = [k for name in expected for k in _KEYWORDS_OF.get(name, ())]
        guess = _suggest(word, keywords) if keywords else None
        if guess:
            return f"did you mean {guess!r}?"
    if "_LPAR" in expected and (word.startswith(('"', "$")) or word[:1].isdigit()):
        return 'IN takes a list in parentheses: IN ("Comedy", "Drama") or IN ($GENRE)'
    if "ACTION" in expected:
        return f"a filter starts with INCLUDE or EXCLUDE: {_EXAMPLE}"
    if word == "$" or (word.startswith("$") and "PARAM" not in expected):
        return "a parameter is $ and a name of letters, digits or _: $GENRE"
    if not word:
        if "_RPAR" in expected:
            open_at = _unclosed_paren(text)
            if open_at is not None:
                line, column = _position(text, open_at)
                return f"the ( at line {line}, column {column} has no closing )"
            return "a ( has no closing )"
        return "the expression stops too early: " + _EXAMPLE
    return "the shape is INCLUDE|EXCLUDE ItemID WHERE Dataset.FIELD IN (…); e.g. " + _EXAMPLE


# ---- the builder ----------------------------------------------------------------------------


def _unquote(token: Token) -> str:
    return re.sub(r"\\(.)", r"\1", str(token)[1:-1])


def _canon(x: float) -> str:
    """How a number is spelt as a lookup key: 1999.0 → "1999", 2.5 → "2.5"."""
    if x.is_integer() and abs(x) < 2**53:
        return str(int(x))
    return repr(float(x))


class _Builder:
    """Walks the Lark tree into :class:`Expression`s, checking what the grammar leaves open."""

    def __init__(self, text: str) -> None:
        self.text = text

    def fail(self, message: str, at: Token | Tree[Token] | Ref, hint: str | None) -> NoReturn:
        if isinstance(at, Ref):
            line, column = at.line, at.column
        elif isinstance(at, Token):
            line, column = int(at.line or 1), int(at.column or 1)
        else:
            line, column = at.meta.line, at.meta.column
        raise FilterSyntaxError(message, text=self.text, line=line, column=column, hint=hint)

    def build(self, tree: Tree[Token]) -> tuple[Expression, ...]:
        expressions = tuple(self.expression(child) for child in _trees(tree))
        first = expressions[0]
        for expr, child in zip(expressions, _trees(tree), strict=True):
            if expr.target != first.target:
                self.fail(
                    f"this expression filters {expr.target}, the first one {first.target}",
                    _tokens(child)[1],
                    "all expressions of a filter select the same thing: items (ItemID) for "
                    "recommendations, users (UserID) for segments",
                )
        return expressions

    def expression(self, tree: Tree[Token]) -> Expression:
        action_token, target_token = _tokens(tree)[:2]
        action: Action = "INCLUDE" if str(action_token).upper() == "INCLUDE" else "EXCLUDE"
        target = self.target(target_token)
        parts = _trees(tree)
        groups = self.where(parts[0], target)
        when = self.if_clause(parts[1], target) if len(parts) > 1 else ()
        conditions = [c for g in groups for c in g] + list(when)
        params = frozenset(c.param for c in conditions if c.param is not None)
        start, end = tree.meta.start_pos, tree.meta.end_pos
        return Expression(
            action=action,
            target=target,
            dataset=groups[0][0].left.dataset,
            groups=groups,
            when=when,
            params=params,
            text=self.text[start:end],
            line=tree.meta.line,
            column=tree.meta.column,
        )

    def target(self, token: Token) -> Target:
        name = str(token)
        upper = name.upper()
        if upper == "ITEMID":
            return "ItemID"
        if upper == "USERID":
            return "UserID"
        if upper == "ACTIONID":
            self.fail(
                "ActionID filters are not supported",
                token,
                "oaklake has no Actions dataset; filter items with ItemID",
            )
        hint = did_you_mean(name, ["ItemID", "UserID"]) or (
            "write ItemID (to filter recommended items) or UserID (to filter user segments)"
        )
        self.fail(f"unknown element {name!r} after INCLUDE/EXCLUDE", token, hint)

    def ref(self, tree: Tree[Token]) -> Ref:
        dataset_token, field_token = _tokens(tree)
        name = str(dataset_token)
        dataset = _DATASETS.get(name.upper())
        if dataset is None:
            if name.upper() in ("ACTIONS", "ACTIONINTERACTIONS"):
                self.fail(
                    f"{name} is not supported", dataset_token, "oaklake has no Actions dataset"
                )
            hint = did_you_mean(name, _DATASETS.values()) or (
                "the datasets are Items, Users, Interactions, CurrentItem and CurrentUser"
            )
            self.fail(f"unknown dataset {name!r}", dataset_token, hint)
        return Ref(
            dataset=dataset,
            field=str(field_token),
            line=int(dataset_token.line or 1),
            column=int(dataset_token.column or 1),
            field_line=int(field_token.line or 1),
            field_column=int(field_token.column or 1),
        )

    def where(self, tree: Tree[Token], target: Target) -> tuple[tuple[Condition, ...], ...]:
        groups: list[list[Condition]] = [[]]
        first: Ref | None = None
        for child in tree.children:
            if isinstance(child, Token):  # AND / OR: AND binds first, so OR starts a group
                if str(child).upper() == "OR":
                    groups.append([])
                continue
            condition = self.condition(child, target)
            if first is None:
                first = condition.left
            elif condition.left.dataset != first.dataset:
                self.fail(
                    f"AND/OR only chain conditions on the dataset of the first condition "
                    f"({first.dataset}); this one tests {condition.left.dataset}",
                    condition.left,
                    "write a second expression joined with |: expressions with the same action "
                    "combine as OR, INCLUDE … | EXCLUDE … keeps the included minus the excluded",
                )
            groups[-1].append(condition)
        return tuple(tuple(g) for g in groups)

    def if_clause(self, tree: Tree[Token], target: Target) -> tuple[Condition, ...]:
        if_token = _tokens(tree)[0]
        if target != "ItemID":
            self.fail(
                "IF CurrentUser only goes with ItemID filters",
                if_token,
                "a UserID filter tests users directly: INCLUDE UserID WHERE Users.AGE > 18",
            )
        conditions: list[Condition] = []
        for child in tree.children[1:]:
            if isinstance(child, Token):
                if str(child).upper() == "OR":
                    self.fail(
                        "the conditions of IF are joined with AND only",
                        child,
                        "for either-or, write two expressions joined with |",
                    )
                continue
            conditions.append(self.condition(child, target, in_if=True))
        return tuple(conditions)

    def condition(self, tree: Tree[Token], target: Target, *, in_if: bool = False) -> Condition:
        ref_tree = _trees(tree)[0]
        left = self.ref(ref_tree)
        if tree.data == "compare":
            op_token = next(t for t in _tokens(tree) if t.type == "COMP")
            op = str(op_token)
            operands: list[Token | Tree[Token]] = [tree.children[-1]]
        else:
            op = "IN" if tree.data == "in_list" else "NOT IN"
            values_tree = _trees(tree)[1]
            operands = list(values_tree.children)
        self.check_left(left, op, target, in_if=in_if)
        values: list[Value] = []
        param: str | None = None
        current: Ref | None = None
        for operand in operands:
            if isinstance(operand, Tree):
                ref = self.ref(operand)
                self.check_current(ref, left, in_if=in_if)
                current = ref
            elif operand.type == "PARAM":
                param = str(operand)[1:]
                if len(param) > MAX_PARAM_NAME:
                    self.fail(
                        f"parameter names are at most {MAX_PARAM_NAME} characters",
                        operand,
                        "shorten the name",
                    )
                if op == "NOT IN":
                    self.fail(
                        "NOT IN cannot take a $PARAMETER",
                        operand,
                        "use IN and the opposite action (INCLUDE instead of EXCLUDE or back)",
                    )
            elif operand.type == "STRING":
                values.append(_unquote(operand))
            else:
                values.append(float(str(operand)))
        if (param is not None or current is not None) and len(operands) > 1:
            what = "$PARAMETER" if param is not None else "CurrentItem field"
            example = "IN ($GENRE)" if param is not None else "IN CurrentItem.GENRE"
            self.fail(f"a {what} stands alone in the list", tree, f"write {example}")
        if op in ORDERING and any(isinstance(v, str) for v in values):
            self.fail(
                f"{op} compares numbers",
                operands[0],
                f"write a number or a $PARAMETER: {left.dataset}.{left.field} {op} 10",
            )
        return Condition(left=left, op=op, values=tuple(values), param=param, current=current)

    def check_left(self, left: Ref, op: str, target: Target, *, in_if: bool) -> None:
        ds = left.dataset
        if in_if:
            if ds != "CurrentUser":
                self.fail(
                    f"IF only tests CurrentUser, not {ds}",
                    left,
                    "move the condition before IF, or write IF CurrentUser.FIELD …",
                )
            return
        if ds == "CurrentUser":
            self.fail(
                "CurrentUser is tested in an IF clause at the end of the expression",
                left,
                f'… IF CurrentUser.{left.field} = "value"',
            )
        if ds == "CurrentItem":
            self.fail(
                "CurrentItem goes on the right-hand side",
                left,
                f"compare an item field with it: Items.{left.field} = CurrentItem.{left.field}",
            )
        if target == "ItemID" and ds == "Users":
            self.fail(
                "an ItemID filter cannot test Users",
                left,
                f"to test the user who gets the recommendations, end the expression with "
                f"IF CurrentUser.{left.field} …",
            )
        if target == "UserID" and ds == "Items":
            self.fail(
                "a UserID filter tests Users or Interactions, not Items",
                left,
                "write INCLUDE UserID WHERE Users.FIELD … or Interactions.EVENT_TYPE IN (…)",
            )
        if ds == "Interactions":
            if left.key != EVENT_TYPE:
                self.fail(
                    f"Interactions filters test EVENT_TYPE only, not {left.field}",
                    _field_token(left),
                    'write Interactions.EVENT_TYPE IN ("click")',
                )
            if op not in ("IN", "NOT IN"):
                self.fail(
                    f"Interactions.EVENT_TYPE takes IN or NOT IN, not {op}",
                    left,
                    'write Interactions.EVENT_TYPE IN ("purchase")',
                )

    def check_current(self, ref: Ref, left: Ref, *, in_if: bool) -> None:
        if ref.dataset != "CurrentItem":
            self.fail(
                f"the right-hand side cannot be {ref.dataset}.{ref.field}",
                ref,
                "compare with a value, a $PARAMETER or CurrentItem.FIELD",
            )
        if in_if or left.dataset != "Items":
            self.fail(
                "CurrentItem is compared with Items fields only",
                ref,
                f"write Items.{ref.field} = CurrentItem.{ref.field}",
            )


def _field_token(ref: Ref) -> Token:
    return Token("NAME", ref.field, line=ref.field_line, column=ref.field_column)


def _trees(tree: Tree[Token]) -> list[Tree[Token]]:
    return [c for c in tree.children if isinstance(c, Tree)]


def _tokens(tree: Tree[Token]) -> list[Token]:
    return [c for c in tree.children if isinstance(c, Token)]


# ---- filterValues ---------------------------------------------------------------------------


def parse_filter_values(values: Mapping[str, Any] | None) -> dict[str, tuple[str, ...]]:
    """``filterValues`` as given to GetRecommendations → parameter name → its values.

    Personalize's form is a string of quoted, comma-separated values:
    ``"\\"Comedy\\",\\"Drama\\""``. Bare values (``"10"``, ``"10, 20"``), a list
    (``["Comedy", "Drama"]``) and a plain number are accepted too.
    """
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise InvalidInput(
            f"filterValues must map parameter names to values, not {type(values).__name__}",
            code="REC_FILTER_VALUES",
            hint=f"for example {_VALUES_EXAMPLE}",
        )
    out: dict[str, tuple[str, ...]] = {}
    for name, raw in values.items():
        if not isinstance(name, str):
            raise InvalidInput(
                f"filterValues key {name!r} is not a parameter name",
                code="REC_FILTER_VALUES",
                hint=f"keys are names without $: {_VALUES_EXAMPLE}",
            )
        key = name[1:] if name.startswith("$") else name
        out[key] = _values_of(key, raw)
    return out


def _values_of(name: str, raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        return _split_values(name, raw)
    if isinstance(raw, bool) or raw is None:
        pass
    elif isinstance(raw, int | float | np.integer | np.floating):
        return (_canon(float(raw)),)
    elif isinstance(raw, Sequence | np.ndarray):
        items: list[str] = []
        for item in raw:
            if isinstance(item, str):
                items.append(item)
            elif isinstance(item, int | float | np.integer | np.floating) and not isinstance(
                item, bool
            ):
                items.append(_canon(float(item)))
            else:
                raise InvalidInput(
                    f"filterValues[{name!r}] holds {item!r}; values are strings or numbers",
                    code="REC_FILTER_VALUES",
                    hint=f"for example {_VALUES_EXAMPLE}",
                )
        return tuple(items)
    raise InvalidInput(
        f"filterValues[{name!r}] is {raw!r}; give a string of quoted values or a list",
        code="REC_FILTER_VALUES",
        hint=f"for example {_VALUES_EXAMPLE}",
    )


def _split_values(name: str, raw: str) -> tuple[str, ...]:
    """``"a","b"`` (or bare ``a, b``) → ("a", "b"); ``\\"`` and ``\\\\`` escape inside quotes."""
    out: list[str] = []
    i, n = 0, len(raw)

    def bad(message: str, at: int) -> NoReturn:
        raise InvalidInput(
            f"filterValues[{name!r}] = {raw!r}: {message} at character {at + 1}",
            code="REC_FILTER_VALUES",
            hint=f"quote each value and separate them with commas: {_VALUES_EXAMPLE}",
        )

    while i < n and raw[i].isspace():
        i += 1
    if i == n:
        return ()
    while True:
        while i < n and raw[i].isspace():
            i += 1
        if i < n and raw[i] == '"':
            j = i + 1
            chars: list[str] = []
            while j < n and raw[j] != '"':
                if raw[j] == "\\" and j + 1 < n:
                    j += 1
                chars.append(raw[j])
                j += 1
            if j >= n:
                bad("a value has no closing quote", i)
            out.append("".join(chars))
            i = j + 1
        else:
            j = raw.find(",", i)
            j = n if j < 0 else j
            value = raw[i:j].strip()
            if not value:
                bad("an empty value", i)
            if '"' in value:
                bad("a stray quote", i + raw[i:j].index('"'))
            out.append(value)
            i = j
        while i < n and raw[i].isspace():
            i += 1
        if i == n:
            return tuple(out)
        if raw[i] != ",":
            bad("a comma is missing", i)
        i += 1


# ---- the context ----------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _tokens_of(value: Any) -> list[str]:
    """The lookup keys one attribute value stands for: ``"Action|Crime"`` → two, 2.0 → "2"."""
    if value is None:
        return []
    if isinstance(value, bool | np.bool_):
        return [str(bool(value))]
    if isinstance(value, int | np.integer):
        return [str(int(value))]
    if isinstance(value, float | np.floating):
        return [] if math.isnan(value) else [_canon(float(value))]
    return [t for t in str(value).split("|") if t]


def _numbers_of(value: Any) -> list[float]:
    out: list[float] = []
    for token in _tokens_of(value):
        if _NUMBER_RE.fullmatch(token):
            out.append(float(token))
    return out


def _keys_for(values: Iterable[Value]) -> set[str]:
    """The postings keys a query value matches: the exact string, and its number spelling."""
    keys: set[str] = set()
    for v in values:
        if isinstance(v, float):
            keys.add(_canon(v))
        else:
            keys.add(v)
            if _NUMBER_RE.fullmatch(v.strip()):
                keys.add(_canon(float(v)))
    return keys


class _DerivedCache:
    """Lookups derived from an attribute array, kept for as long as that array lives.

    Keyed by the array object itself, so every :class:`FilterContext` built over the same
    arrays (one per request, as the service does) shares them. Arrays are taken as immutable:
    to change a catalogue, replace its arrays.
    """

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[np.ndarray], dict[str, Any]]] = {}

    def slot(self, arr: np.ndarray) -> dict[str, Any]:
        key = id(arr)
        entry = self._entries.get(key)
        if entry is not None and entry[0]() is arr:
            return entry[1]
        entries = self._entries

        def forget(ref: weakref.ref[np.ndarray]) -> None:
            if entries.get(key, (None,))[0] is ref:
                entries.pop(key, None)

        slot: dict[str, Any] = {}
        entries[key] = (weakref.ref(arr, forget), slot)
        return slot


_DERIVED = _DerivedCache()


class ItemIndex:
    """Per-field lookups over the catalogue, built on first use and kept for every later call.

    ``postings(field)``: value → item indices (multi-values split on ``|``, numbers spelt
    canonically). ``numbers(field)``: parallel arrays (item index, numeric value) of every value
    that is a number, for ``<``/``>``. Racing builds from two threads only waste work.
    """

    def __init__(self, n_items: int, item_attrs: Mapping[str, Any], item_ids: Any) -> None:
        self.n_items = n_items
        self.item_attrs = item_attrs
        self.item_ids = item_ids

    def fields(self) -> list[str]:
        names = list(self.item_attrs)
        if self.item_ids is not None and ITEM_ID not in names:
            names.append(ITEM_ID)
        return names

    def column(self, name: str) -> np.ndarray | None:
        """The attribute array for a field (UPPER-CASE name first, then as given), or None."""
        for key in (name.upper(), name):
            if key in self.item_attrs:
                col = np.asarray(self.item_attrs[key])
                break
        else:
            if name.upper() != ITEM_ID or self.item_ids is None:
                return None
            col = np.asarray(self.item_ids)
        if col.shape != (self.n_items,):
            raise InvalidInput(
                f"item attribute {name} has shape {col.shape} for {self.n_items} items",
                code="INVALID_INPUT",
            )
        return col

    def postings(self, name: str) -> dict[str, np.ndarray]:
        col = self._column(name)
        slot = _DERIVED.slot(col)
        found: dict[str, np.ndarray] | None = slot.get("postings")
        if found is None:
            found = slot["postings"] = _build_postings(col)
        return found

    def numbers(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        col = self._column(name)
        slot = _DERIVED.slot(col)
        found: tuple[np.ndarray, np.ndarray] | None = slot.get("numbers")
        if found is None:
            found = slot["numbers"] = _build_numbers(col)
        return found

    def _column(self, name: str) -> np.ndarray:
        col = self.column(name)
        if col is None:
            raise KeyError(name)
        return col


def _build_postings(col: np.ndarray) -> dict[str, np.ndarray]:
    if col.dtype.kind in "iuf":
        values = col.astype(np.float64)
        valid = np.flatnonzero(~np.isnan(values))
        if valid.size == 0:
            return {}
        uniq, inverse = np.unique(values[valid], return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        groups = np.split(valid[order], np.cumsum(np.bincount(inverse))[:-1])
        return {_canon(float(u)): g.astype(np.intp) for u, g in zip(uniq, groups, strict=True)}
    lists: dict[str, list[int]] = {}
    for i, value in enumerate(col.tolist()):
        for token in _tokens_of(value):
            lists.setdefault(token, []).append(i)
    return {k: np.fromiter(dict.fromkeys(v), np.intp) for k, v in lists.items()}


def _build_numbers(col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if col.dtype.kind in "iuf":
        values = col.astype(np.float64)
        valid = np.flatnonzero(~np.isnan(values))
        return valid.astype(np.intp), values[valid]
    items: list[int] = []
    nums: list[float] = []
    for i, value in enumerate(col.tolist()):
        for number in _numbers_of(value):
            items.append(i)
            nums.append(number)
    return np.asarray(items, np.intp), np.asarray(nums, np.float64)


@dataclass
class FilterContext:
    """What a filter is applied to: the catalogue (shared, indexed once) and one request.

    ``item_attrs``: UPPER-CASE field → array per item index (``|``-joined multi-values, numbers as
    float, None/NaN/"" for missing). ``user_events``: EVENT_TYPE → item indices the user
    interacted with (their whole history). Build one context per catalogue and derive each
    request's with :meth:`for_request`, which keeps the same :class:`ItemIndex`.
    """

    n_items: int
    item_attrs: dict[str, np.ndarray] = field(default_factory=dict)
    item_ids: np.ndarray | None = None
    user_attrs: dict[str, Any] | None = None
    user_events: dict[str, np.ndarray] | None = None
    current_item: int | None = None
    index: ItemIndex | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.index is None:
            self.index = ItemIndex(self.n_items, self.item_attrs, self.item_ids)

    @property
    def items(self) -> ItemIndex:
        assert self.index is not None  # set in __post_init__
        return self.index

    def for_request(
        self,
        *,
        user_attrs: dict[str, Any] | None = None,
        user_events: dict[str, np.ndarray] | None = None,
        current_item: int | None = None,
    ) -> FilterContext:
        """The same catalogue (and its built lookups) for another user or current item."""
        return replace(
            self, user_attrs=user_attrs, user_events=user_events, current_item=current_item
        )


# ---- the filter -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    """A compiled filter expression; :meth:`apply` gives the mask of items that may be shown."""

    text: str
    expressions: tuple[Expression, ...]

    @property
    def target(self) -> Target:
        return self.expressions[0].target

    @property
    def params(self) -> set[str]:
        return {p for e in self.expressions for p in e.params}

    @property
    def include_params(self) -> set[str]:
        """Parameters every call must give a value for (those of INCLUDE expressions)."""
        return {p for e in self.expressions if e.action == "INCLUDE" for p in e.params}

    @property
    def uses_current_item(self) -> bool:
        return any(c.current is not None for e in self.expressions for c in e.conditions)

    @property
    def uses_interactions(self) -> bool:
        return any(e.dataset == "Interactions" for e in self.expressions)

    @property
    def uses_current_user(self) -> bool:
        return any(e.when for e in self.expressions)

    def check_fields(
        self, *, item_fields: Iterable[str] | None = None, user_fields: Iterable[str] | None = None
    ) -> None:
        """Refuse fields the datasets do not have (names compared in upper case)."""
        known: dict[str, list[str] | None] = {
            "Items": None if item_fields is None else [*item_fields, ITEM_ID],
            "CurrentItem": None if item_fields is None else list(item_fields),
            "Users": None if user_fields is None else list(user_fields),
            "CurrentUser": None if user_fields is None else list(user_fields),
        }
        for expr in self.expressions:
            for cond in expr.conditions:
                for ref in (cond.left, cond.current):
                    if ref is None or known.get(ref.dataset) is None:
                        continue
                    names = known[ref.dataset] or []
                    if ref.key not in {n.upper() for n in names}:
                        self._unknown_field(ref, names)

    def _unknown_field(self, ref: Ref, names: Iterable[str]) -> NoReturn:
        names = list(names)
        hint = did_you_mean(ref.field.upper(), [n.upper() for n in names]) or (
            f"{ref.dataset} has " + (", ".join(sorted(names)) if names else "no fields")
        )
        raise FilterSyntaxError(
            f"{ref.dataset} has no field {ref.field!r}",
            text=self.text,
            line=ref.field_line,
            column=ref.field_column,
            hint=hint,
        )

    def check_values(self, values: Mapping[str, Any] | None) -> dict[str, tuple[str, ...]]:
        """Parse ``filterValues`` and check them against this filter's parameters."""
        given = parse_filter_values(values)
        unknown = sorted(set(given) - self.params)
        if unknown:
            name = unknown[0]
            hint = did_you_mean(name, self.params) or (
                "this filter takes " + ", ".join(f"${p}" for p in sorted(self.params))
                if self.params
                else "this filter takes no parameters"
            )
            raise InvalidInput(
                f"filterValues names ${name}, which this filter does not use",
                code="REC_FILTER_VALUES",
                hint=hint + " (names are case-sensitive)",
            )
        missing = sorted(p for p in self.include_params if not given.get(p))
        if missing:
            names = ", ".join(f"${p}" for p in missing)
            raise InvalidInput(
                f"filterValues has no value for {names}: every parameter of an INCLUDE "
                "expression needs one",
                code="REC_FILTER_VALUES",
                hint=f'give them, e.g. {{"{missing[0]}": "\\"value\\""}}',
            )
        return given

    def apply(self, ctx: FilterContext, values: Mapping[str, Any] | None = None) -> np.ndarray:
        """Bool mask (n_items,): True where the item may be recommended.

        INCLUDE expressions are united, then the union of the EXCLUDE expressions is removed.
        """
        given = self.check_values(values)
        if self.target != "ItemID":
            raise NotSupported(
                "a UserID filter selects users for segments; it cannot filter items",
                hint="filter recommendations with INCLUDE/EXCLUDE ItemID WHERE …",
            )
        run = _Run(self, ctx, given)
        include: np.ndarray | None = None
        exclude: np.ndarray | None = None
        for expr in self.expressions:
            if any(not given.get(p) for p in expr.params):
                continue  # an EXCLUDE part without its value is dropped (INCLUDE was checked)
            if expr.when and not all(run.user_holds(c) for c in expr.when):
                continue
            mask = run.expression(expr)
            if expr.action == "INCLUDE":
                include = mask if include is None else np.logical_or(include, mask, out=include)
            else:
                exclude = mask if exclude is None else np.logical_or(exclude, mask, out=exclude)
        result = include if include is not None else np.ones(ctx.n_items, dtype=bool)
        if exclude is not None:
            result &= ~exclude
        return result


class _Run:
    """One application of a filter: the values, the context and the masks' arithmetic."""

    def __init__(self, flt: Filter, ctx: FilterContext, given: dict[str, tuple[str, ...]]):
        self.filter = flt
        self.ctx = ctx
        self.given = given
        self.n = ctx.n_items

    # -- values --

    def values(self, cond: Condition) -> tuple[Value, ...]:
        if cond.param is None:
            return cond.values
        values = self.given[cond.param]
        if cond.op not in ("IN", "NOT IN"):
            if len(values) != 1:
                raise InvalidInput(
                    f"${cond.param} is compared with {cond.op}, so it takes one value, "
                    f"not {len(values)}",
                    code="REC_FILTER_VALUES",
                    hint=f'give one value: {{"{cond.param}": "\\"10\\""}}',
                )
            if cond.op in ORDERING:
                return (self.number(cond.param, values[0]),)
        return values

    @staticmethod
    def number(param: str, value: str) -> float:
        if not _NUMBER_RE.fullmatch(value.strip()):
            raise InvalidInput(
                f"${param} is compared as a number, but its value is {value!r}",
                code="REC_FILTER_VALUES",
                hint="give a number, e.g. a Unix timestamp in seconds for CREATION_TIMESTAMP",
            )
        return float(value)

    # -- items --

    def expression(self, expr: Expression) -> np.ndarray:
        result: np.ndarray | None = None
        for group in expr.groups:
            mask = self.condition(group[0])
            for cond in group[1:]:
                mask &= self.condition(cond)
            result = mask if result is None else np.logical_or(result, mask, out=result)
        assert result is not None
        return result

    def condition(self, cond: Condition) -> np.ndarray:
        if cond.left.dataset == "Interactions":
            return self.interactions(cond)
        name = cond.left.field
        if self.ctx.items.column(name) is None:
            self.filter._unknown_field(cond.left, self.ctx.items.fields())
        if cond.current is not None:
            keys, numbers = self.current_values(cond.current)
        else:
            values = self.values(cond)  # numbers already, for <, <=, >, >=
            keys = _keys_for(values)
            numbers = [v for v in values if isinstance(v, float)]
        if cond.op in ORDERING:
            return self.compare(name, cond.op, numbers)
        mask = self.lookup(name, keys)
        if cond.op in ("NOT IN", "!="):
            np.logical_not(mask, out=mask)
        return mask

    def lookup(self, name: str, keys: Iterable[str]) -> np.ndarray:
        postings = self.ctx.items.postings(name)
        hits = [postings[k] for k in keys if k in postings]
        mask = np.zeros(self.n, dtype=bool)
        if hits:
            mask[np.concatenate(hits)] = True
        return mask

    def compare(self, name: str, op: str, against: list[float]) -> np.ndarray:
        items, nums = self.ctx.items.numbers(name)
        mask = np.zeros(self.n, dtype=bool)
        for value in against:
            mask[items[_OPS[op](nums, value)]] = True
        return mask

    def current_values(self, ref: Ref) -> tuple[set[str], list[float]]:
        """The current item's value of a field: its lookup keys and its numbers."""
        current = self.ctx.current_item
        if current is None:
            raise InvalidInput(
                "this filter compares with CurrentItem, which only a related-items request "
                "(with an itemId) has",
                code="REC_INVALID_FILTER",
                hint="use the filter with a related-items recipe (sims, similar-items)",
            )
        if not 0 <= current < self.n:
            raise InvalidInput(
                f"current item index {current} is outside the catalogue of {self.n} items",
                code="INVALID_INPUT",
            )
        col = self.ctx.items.column(ref.field)
        if col is None:
            self.filter._unknown_field(ref, self.ctx.items.fields())
        value = col[current]
        return set(_tokens_of(value)), _numbers_of(value)

    def interactions(self, cond: Condition) -> np.ndarray:
        mask = np.zeros(self.n, dtype=bool)
        events = self.ctx.user_events
        wanted = {str(v).casefold() for v in self.values(cond)}
        if events:
            everything = "*" in wanted
            hits = [
                np.asarray(idx, dtype=np.intp)
                for event_type, idx in events.items()
                if (everything or event_type.casefold() in wanted) != (cond.op == "NOT IN")
            ]
            hits = [h for h in hits if h.size]
            if hits:
                mask[np.concatenate(hits)] = True
        return mask

    # -- the current user --

    def user_holds(self, cond: Condition) -> bool:
        attrs = self.ctx.user_attrs
        if attrs is None:
            return False  # no known user: an IF cannot hold
        value = _lookup_attr(attrs, cond.left.field)
        values = self.values(cond)
        if cond.op in ORDERING:
            numbers = _numbers_of(value)
            return any(bool(_OPS[cond.op](n, float(v))) for n in numbers for v in values)
        found = bool(set(_tokens_of(value)) & _keys_for(values))
        return not found if cond.op in ("NOT IN", "!=") else found


def _lookup_attr(attrs: Mapping[str, Any], name: str) -> Any:
    for key in (name.upper(), name):
        if key in attrs:
            return attrs[key]
    upper = name.upper()
    for key, value in attrs.items():
        if key.upper() == upper:
            return value
    return None


_OPS: dict[str, Any] = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}
