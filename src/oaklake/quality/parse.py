"""DQDL text → :mod:`oaklake.quality.ast`, or a :class:`DqdlSyntaxError` that says what to write.

Two steps: Lark (grammar.lark, LALR) checks the shape, then :class:`_Builder` walks the tree,
resolves variables, merges DefaultLabels and checks each rule against the ``RULES`` registry. The
grammar is loose where a specific message beats "unexpected token" (clause order, units, rule
type names), so most mistakes are reported by the builder, with the position of the offending
word and a hint. Nothing is returned until the whole document has passed: no half rulesets.
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from importlib import resources
from typing import Any, NoReturn, TypeVar, cast

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from oaklake.errors import SqlSyntaxError, did_you_mean
from oaklake.quality.ast import (
    Analyzer,
    Arithmetic,
    Between,
    Compare,
    Composite,
    Condition,
    DataSources,
    Date,
    Duration,
    FunctionCall,
    InList,
    Keyword,
    Matches,
    Now,
    Number,
    Operand,
    Rule,
    RuleNode,
    Ruleset,
    Size,
    String,
    Time,
    condition_kind,
    condition_operands,
    format_composite,
    format_rule,
    is_dynamic,
    operand_kind,
    parse_time,
)
from oaklake.quality.rules import (
    ANOMALY_METRICS,
    DYNAMIC_TYPES,
    FUNCTIONS,
    RULES,
    THRESHOLD_TYPES,
    WHERE_TYPES,
    RuleSpec,
)

__all__ = ["DqdlSyntaxError", "parse_rule", "parse_ruleset"]

MAX_LABELS = 10
MAX_LABEL_KEY = 128
MAX_LABEL_VALUE = 256

SECTIONS = ("Metadata", "DataSources", "variables", "DefaultLabels", "Rules", "Analyzers")
_SECTION_OF_TREE = {
    "metadata": "Metadata",
    "data_sources": "DataSources",
    "variable": "variables",
    "default_labels": "DefaultLabels",
    "rules_section": "Rules",
    "analyzers_section": "Analyzers",
}
# Keywords DQDL spells only in lower case, and words it accepts in two spellings.
LOWER_ONLY = ("between", "in", "not", "matches", "with", "where", "labels", "threshold")
DURATION_UNITS = ("days", "hours", "minutes")
SIZE_UNITS = ("B", "KB", "MB", "GB", "TB")
_ORDERING = (">", ">=", "<", "<=")
_BOOLEAN_COUNTERPART = {
    "IsComplete": 'Completeness "{0}" > 0.95',
    "IsUnique": 'Uniqueness "{0}" > 0.95',
    "IsPrimaryKey": 'Uniqueness "{0}" > 0.95',
}
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME_RE = re.compile(r"\d{1,2}:\d{2}(?:\s?[AaPp][Mm])?")

Branch = Token | Tree[Token]
_T = TypeVar("_T")


class DqdlSyntaxError(SqlSyntaxError):
    """A DQDL document or rule that is not valid: position, caret snippet and a hint."""

    code = "DQDL_SYNTAX_ERROR"


def parse_ruleset(text: str) -> Ruleset:
    """Parse a whole DQDL document (``Rules = [ … ]`` and the optional other sections)."""
    tree = _parse(text, "start")
    return _Builder(text).ruleset(tree)


def parse_rule(text: str) -> RuleNode:
    """Parse one rule as written inside ``Rules = [ … ]``: a plain rule or a composite."""
    tree = _parse(text, "rule_entry")
    return _Builder(text).node(_child_trees(tree)[0])


# ---- Lark -----------------------------------------------------------------------------------


@functools.cache
def _parser() -> Lark:
    grammar = resources.files("oaklake.quality").joinpath("grammar.lark").read_text("utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        start=["start", "rule_entry"],
        propagate_positions=True,
        maybe_placeholders=False,
    )


def _parse(text: str, start: str) -> Tree[Token]:
    try:
        return _parser().parse(text, start=start)
    except UnexpectedInput as e:
        raise _syntax_error(text, e) from None


_TERMINAL_WORDS = {
    "_COMMA": "','",
    "_RSQB": "']'",
    "_LSQB": "'['",
    "_LPAR": "'('",
    "_RPAR": "')'",
    "_LBRACE": "'{'",
    "_RBRACE": "'}'",
    "_COLON": "':'",
    "_EQ": "'='",
    "NE": "'!='",
    "GE": "'>='",
    "LE": "'<='",
    "GT": "'>'",
    "LT": "'<'",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "STRING": "a quoted string",
    "NUMBER": "a number",
    "UNIT": "a unit",
    "VAR": "a $variable",
    "VAR_NAME": "a variable name",
    "RULE_NAME": "a rule type",
    "BARE": "a parameter",
    "FUNC_NAME": "a function",
    "TAG_NAME": "a tag name",
    "LOGIC": "and/or",
    "$END": "end of input",
}


def _describe_expected(expected: set[str]) -> str:
    words: list[str] = []
    for name in sorted(expected):
        word = _TERMINAL_WORDS.get(name)
        if word is None:
            pattern = _parser().get_terminal(name).pattern
            word = repr(pattern.value) if pattern.type == "str" else name.lower()
        if word not in words:
            words.append(word)
    if len(words) > 6:
        words = [*words[:6], "…"]
    return ", ".join(words)


def _position(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _offset(text: str, line: int, column: int) -> int:
    start = 0
    for _ in range(line - 1):
        start = text.index("\n", start) + 1
    return start + column - 1


def _syntax_error(text: str, e: UnexpectedInput) -> DqdlSyntaxError:
    """Turn Lark's complaint into our error: position of the offending word and a useful hint."""
    expected: set[str] = set()
    if isinstance(e, UnexpectedToken | UnexpectedEOF):
        expected = set(e.expected)
    elif isinstance(e, UnexpectedCharacters):
        expected = set(e.allowed or ())
    at_end = isinstance(e, UnexpectedEOF) or (
        isinstance(e, UnexpectedToken) and e.token.type == "$END"
    )
    if at_end:
        end = len(text.rstrip())
        line, column = _position(text, end)
        pos, word = end, ""
    else:
        line, column = int(e.line), int(e.column)
        pos = _offset(text, line, column)
        m = re.match(r'[A-Za-z0-9_.$]+|"[^"\n]*"?|==|<>|\S', text[pos:])
        word = m.group(0) if m else ""
    if expected == {"_LPAR"}:
        # A bare word where a value belongs lexes as a function name; point at the word itself.
        prev = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", text[:pos])
        if prev and prev[1].lower() not in ("and", "or"):  # not `(a) and b`: that is a rule
            pos, word = prev.start(1), prev[1]
            line, column = _position(text, pos)
    desc = repr(word) if word else "end of input"
    message = f"unexpected {desc}"
    if expected:
        message += f"; expected {_describe_expected(expected)}"
    hint = _hint_for(text, pos, word, expected)
    return DqdlSyntaxError(message, text=text, line=line, column=column, hint=hint)


def _hint_for(text: str, pos: int, word: str, expected: set[str]) -> str:
    before = text[:pos].rstrip()
    lower = word.lower()
    for m in re.finditer(r"^\s*([A-Za-z]+)\s*=", text[:pos], re.M):
        for section in ("Metadata", "DataSources", "DefaultLabels", "Rules", "Analyzers"):
            if m[1] != section and m[1].lower() == section.lower():
                return f"section names are case-sensitive: write {section}"
    prev = re.search(r"([A-Za-z_]+)$", before)
    for candidate in (word, prev[1] if prev else ""):
        if candidate.lower() in LOWER_ONLY and candidate != candidate.lower():
            return f"keywords are lower case: write {candidate.lower()}"
    if lower in ("null", "empty", "whitespaces_only") and word not in (lower, word.upper()):
        return f"write {word.upper()} or {lower}"
    if lower == "now" and word != lower:
        return "write now() in lower case"
    if word == "==" or (word == "=" and before.endswith("=")):
        return "equality is a single =: RowCount = 10"
    if word == "<>" or (word == ">" and before.endswith("<")):
        return "not-equal is written !="
    if word.startswith('"') and (len(word) == 1 or not word.endswith('"')):
        return 'this string has no closing "'
    if re.fullmatch(r"\.\d+", word):
        return f"numbers start with a digit: write 0{word}"
    if re.fullmatch(r"[eE][+-]?\d*", word) and re.search(r"\d$", before):
        return "numbers are written without an exponent: 100000, not 1e5"
    if "AND_L" in expected and re.search(r"\bbetween\b", before.rsplit("\n", 1)[-1]):
        return "between needs two bounds: between 1 and 5"
    if lower in ("and", "or") and expected & {"_COMMA", "_RSQB", "$END"}:
        return 'to combine rules put each in parentheses: (RowCount > 0) and (IsComplete "id")'
    if "RULE_NAME" in expected and "_LPAR" in expected and before.endswith(","):
        return "remove the trailing comma"
    if expected & {"_COMMA", "$END"} and word in RULES:
        return f"rules are separated by commas: add one before {word}"
    if "UNIT" in expected and re.fullmatch(r"[A-Za-z]+", word):
        return "units are days, hours or minutes (sizes: B, KB, MB, GB, TB)"
    if expected >= {"_LPAR"} and "RULE_NAME" not in expected and word in RULES:
        return f"each side of and/or goes in parentheses: ({word} …)"
    if expected == {"_LPAR"} and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", word):
        return f'strings go in double quotes: "{word}"'
    if "STRING" in expected and "_EQ" not in expected and re.fullmatch(r"[A-Za-z0-9_.]+", word):
        return f'quote it: "{word}"'
    if not word:
        if "_RSQB" in expected:
            return "a list is missing its closing ]"
        if "_RPAR" in expected:
            return "a ( is missing its closing )"
    return "see docs/dqdl.md for the DQDL syntax"


# ---- tree helpers ---------------------------------------------------------------------------


def _child_trees(tree: Tree[Token]) -> list[Tree[Token]]:
    return [c for c in tree.children if isinstance(c, Tree)]


def _tokens(tree: Tree[Token]) -> list[Token]:
    return [c for c in tree.children if isinstance(c, Token)]


def _unquote(token: Token) -> str:
    """A STRING token's value: quotes off, ``\\"`` and ``\\\\`` unescaped (``\\x`` kept)."""
    return re.sub(r'\\(["\\])', r"\1", str(token)[1:-1])


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# ---- the builder ----------------------------------------------------------------------------


class _Builder:
    """Walks a parse tree into AST nodes, checking what the grammar leaves open."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.variables: dict[str, str | tuple[str, ...]] = {}
        self.variable_lines: dict[str, int] = {}
        self.default_labels: dict[str, str] = {}
        # id(operand) → (operand, line, column); holding the operand keeps its id unique.
        self.positions: dict[int, tuple[object, int, int]] = {}
        # id(composite) → (composite, its own labels): a labelled group is never flattened.
        self.own: dict[int, tuple[Composite, dict[str, str]]] = {}

    # -- errors --

    def fail(self, message: str, at: Branch | Operand | None, hint: str | None = None) -> NoReturn:
        line, column = self.where(at)
        raise DqdlSyntaxError(message, text=self.text, line=line, column=column, hint=hint)

    def where(self, at: Branch | Operand | None) -> tuple[int | None, int | None]:
        if isinstance(at, Token):
            return at.line, at.column
        if isinstance(at, Tree):
            meta = at.meta
            if not meta.empty:
                return meta.line, meta.column
            return None, None
        if at is not None and id(at) in self.positions:
            _, line, column = self.positions[id(at)]
            return line, column
        return None, None

    def mark(self, operand: _T, at: Branch) -> _T:
        line, column = self.where(at)
        if line is not None and column is not None:
            self.positions[id(operand)] = (operand, line, column)
        return operand

    # -- document --

    def ruleset(self, tree: Tree[Token]) -> Ruleset:
        metadata: dict[str, str] = {}
        sources = DataSources()
        rules: list[RuleNode] = []
        analyzers: list[Analyzer] = []
        seen: dict[str, Tree[Token]] = {}
        last = -1
        anchor: Branch | None = None
        for section in _child_trees(tree):
            name = _SECTION_OF_TREE[section.data]
            index = SECTIONS.index(name)
            if name in seen and name != "variables":
                self.fail(f"{name} is given twice", section, f"merge the two {name} sections")
            if index < last:
                self.fail(
                    f"{name} must come before {SECTIONS[last]}",
                    section,
                    "sections go in this order: " + ", ".join(SECTIONS),
                )
            seen[name] = section
            last = index
            if name == "Metadata":
                metadata = self.metadata(section)
            elif name == "DataSources":
                sources = self.data_sources(section)
            elif name == "variables":
                self.variable(section)
            elif name == "DefaultLabels":
                self.default_labels = self.labels(_child_trees(section)[0], defaults=True)
            elif name == "Rules":
                anchor = section
                rules = [self.node(child) for child in _child_trees(section)]
            else:
                anchor = anchor or section
                analyzers = [self.analyzer(child) for child in _child_trees(section)]
        if not rules and not analyzers:
            if anchor is None:
                raise DqdlSyntaxError(
                    "No rules or analyzers provided",
                    text=self.text,
                    line=1,
                    column=1,
                    hint="add at least one rule: Rules = [ RowCount > 0 ]",
                )
            self.fail(
                "No rules or analyzers provided",
                anchor,
                "add at least one rule: Rules = [ RowCount > 0 ]",
            )
        return Ruleset(
            metadata=metadata,
            data_sources=sources,
            variables=dict(self.variables),
            default_labels=dict(self.default_labels),
            rules=tuple(rules),
            analyzers=tuple(analyzers),
        )

    def pairs(self, section: Tree[Token]) -> list[tuple[Token, Token | Tree[Token]]]:
        out = []
        for pair in _child_trees(_child_trees(section)[0]):
            key, value = pair.children
            out.append((cast(Token, key), value))
        return out

    def metadata(self, section: Tree[Token]) -> dict[str, str]:
        result: dict[str, str] = {}
        for key, value in self.pairs(section):
            name = _unquote(key)
            if name != "Version":
                self.fail(
                    f"unknown Metadata key {name!r}",
                    key,
                    (did_you_mean(name, ["Version"]) or "") + ' Metadata takes only "Version"',
                )
            if not isinstance(value, Token):
                self.fail("the Metadata Version is a string", value, 'write "Version": "1.0"')
            result[name] = _unquote(value)
        return result

    def data_sources(self, section: Tree[Token]) -> DataSources:
        primary: str | None = None
        additional: tuple[str, ...] = ()
        keys = ("Primary", "AdditionalDataSources")
        for key, value in self.pairs(section):
            name = _unquote(key)
            if name == "Primary":
                if not isinstance(value, Token):
                    self.fail("Primary is one data source name", value, '"Primary": "orders"')
                primary = _unquote(value)
            elif name == "AdditionalDataSources":
                if isinstance(value, Token):
                    self.fail(
                        "AdditionalDataSources is a list", value, '"AdditionalDataSources": ["ref"]'
                    )
                additional = tuple(_unquote(t) for t in _tokens(value))
            else:
                hint = (
                    did_you_mean(name, keys)
                    or "DataSources takes Primary and AdditionalDataSources"
                )
                self.fail(f"unknown DataSources key {name!r}", key, hint)
        return DataSources(primary=primary, additional=additional)

    def variable(self, section: Tree[Token]) -> None:
        name_token = cast(Token, section.children[0])
        value = section.children[1]
        name = str(name_token)
        if name[0] in "_.":
            self.fail(
                f"variable name {name!r} starts with {name[0]!r}",
                name_token,
                "variable names may not start with _ or .",
            )
        if name in self.variables:
            self.fail(
                f"variable {name!r} is already defined on line {self.variable_lines[name]}",
                name_token,
                "a variable is defined once; use another name",
            )
        number_hint = (
            "variables hold strings or lists of strings: "
            'write the number in the rule, or quote it ("100")'
        )
        if isinstance(value, Tree) and value.data == "number":
            self.fail(f"variable {name!r} is a number", value, number_hint)
        if isinstance(value, Token):
            resolved: str | tuple[str, ...] = _unquote(value)
        else:
            items: list[str] = []
            for item in value.children:
                if isinstance(item, Tree):
                    self.fail(f"variable {name!r} holds a number", item, number_hint)
                items.append(_unquote(item))
            resolved = tuple(items)
        self.variables[name] = resolved
        self.variable_lines[name] = name_token.line or 0

    def lookup(self, token: Token) -> str | tuple[str, ...]:
        name = str(token)[1:]
        if name not in self.variables:
            known = [f"${n}" for n in self.variables]
            hint = did_you_mean(str(token), known) or (
                f'define it before the rules: {name} = "value"'
            )
            self.fail(f"unknown variable {str(token)!r}", token, hint)
        return self.variables[name]

    # -- labels --

    def labels(self, tree: Tree[Token], *, defaults: bool = False) -> dict[str, str]:
        result: dict[str, str] = {}
        items = _child_trees(tree)
        if not items:
            self.fail("Labels must have at least one label", tree, 'labels=["team"="payments"]')
        for label in items:
            key_token, value_token = _tokens(label)
            key, value = _unquote(key_token), _unquote(value_token)
            if not key or not value:
                self.fail("Label key or value cannot be empty", label, 'labels=["key"="value"]')
            if len(key) > MAX_LABEL_KEY:
                self.fail(
                    f"Label key has length {len(key)} exceeding the maximum length of "
                    f"{MAX_LABEL_KEY} characters",
                    key_token,
                    "shorten the key",
                )
            if len(value) > MAX_LABEL_VALUE:
                self.fail(
                    f"Label value has length {len(value)} exceeding the maximum length of "
                    f"{MAX_LABEL_VALUE} characters",
                    value_token,
                    "shorten the value",
                )
            if key in result:
                self.fail(
                    "Duplicate label key. Key must be unique.", key_token, f"{key!r} is given twice"
                )
            result[key] = value
        if len(result) > MAX_LABELS:
            self.fail(
                f"Number of labels exceed maximum allowed (MAX: {MAX_LABELS})",
                tree,
                f"a rule carries at most {MAX_LABELS} labels"
                + ("" if defaults else ", DefaultLabels included"),
            )
        return result

    def merged_labels(self, own: dict[str, str], at: Branch | None) -> dict[str, str]:
        merged = {**self.default_labels, **own}
        if len(merged) > MAX_LABELS:
            self.fail(
                f"Number of labels exceed maximum allowed (MAX: {MAX_LABELS})",
                at,
                f"{len(self.default_labels)} DefaultLabels + {len(own)} rule labels: a rule "
                f"carries at most {MAX_LABELS}, DefaultLabels included",
            )
        return merged

    # -- rules --

    def node(self, tree: Tree[Token], outer_labels: Tree[Token] | None = None) -> RuleNode:
        if tree.data == "simple_rule":
            return self.rule(tree, outer_labels)
        if tree.data == "composite":
            return self.composite(tree, outer_labels)
        if tree.data == "paren":
            return self.node(_child_trees(tree)[0], outer_labels)
        # paren_rule: a parenthesised rule or composite, maybe with labels after it
        children = _child_trees(tree)
        labels = children[1] if len(children) > 1 else None
        if labels is not None and outer_labels is not None:
            self.fail("labels are given twice", labels, "give one labels=[…] per rule")
        return self.node(children[0], labels or outer_labels)

    def composite(self, tree: Tree[Token], outer_labels: Tree[Token] | None) -> Composite:
        operators = [t for t in _tokens(tree) if t.type == "LOGIC"]
        op = str(operators[0]).lower()
        for token in operators[1:]:
            if str(token).lower() != op:
                self.fail(
                    f"'{op}' and '{str(token).lower()}' are mixed without parentheses",
                    token,
                    "group them so the order is clear: ((A) and (B)) or (C)",
                )
        parts = _child_trees(tree)
        labels_tree = parts[-1] if parts[-1].data == "labels_clause" else None
        if labels_tree is not None and outer_labels is not None:
            self.fail("labels are given twice", outer_labels, "give one labels=[…] per rule")
        labels_tree = labels_tree or outer_labels
        operands: list[RuleNode] = []
        for part in parts:
            if part.data != "paren":
                continue
            operand = self.node(part)
            # `(a) and ((b) and (c))` means `(a) and (b) and (c)`; Glue prints it that way too.
            if isinstance(operand, Composite) and operand.op == op and not self.own[id(operand)][1]:
                operands.extend(operand.operands)
            else:
                operands.append(operand)
        own = self.labels(_child_trees(labels_tree)[0]) if labels_tree is not None else {}
        labels = self.merged_labels(own, labels_tree)
        composite = Composite(
            op=cast(Any, op),
            operands=tuple(operands),
            labels=labels,
            text=format_composite(op, tuple(operands), own),
        )
        self.own[id(composite)] = (composite, own)
        return composite

    def rule_spec(self, token: Token, *, analyzer: bool) -> RuleSpec:
        name = str(token)
        spec = RULES.get(name)
        if spec is None:
            same = [n for n in RULES if n.lower() == name.lower()]
            if same:
                hint = f"rule types are case-sensitive: write {same[0]}"
            else:
                hint = did_you_mean(name, RULES) or "docs/dqdl.md lists the rule types"
            self.fail(f"unknown rule type {name!r}", token, hint)
        if analyzer and not spec.analyzer:
            counterpart = _BOOLEAN_COUNTERPART.get(name, "").split(" ")[0]
            hint = (
                f"use {counterpart} in Analyzers, or move {name} to Rules"
                if counterpart
                else f"move {name} to Rules"
            )
            self.fail(f"{name} cannot be used as an analyzer", token, hint)
        if not analyzer and not spec.rule:
            self.fail(
                f"{name} is analyzer-only",
                token,
                f'list it under Analyzers: Analyzers = [ {name} "column" ]',
            )
        return spec

    def params(self, tree: Tree[Token], spec: RuleSpec, name_token: Token) -> tuple[str, ...]:
        values: list[str] = []
        trees = [c for c in _child_trees(tree) if c.data == "param"]
        for param in trees:
            token = _tokens(param)[-1]
            if token.type == "STRING":
                values.append(_unquote(token))
            elif token.type == "VAR":
                value = self.lookup(token)
                if isinstance(value, tuple):
                    self.fail(
                        f"{str(token)!r} is a list; a parameter is one string",
                        token,
                        f"use a string variable, or the list in a condition: in {token}",
                    )
                values.append(value)
            else:
                values.append(str(token))
        name = spec.name
        count = len(values)
        usage = f"{name} {spec.params_hint}".strip()
        if count < spec.min_params:
            want = (
                "at least " if spec.max_params is None or spec.max_params > spec.min_params else ""
            )
            self.fail(
                f"{name} takes {want}{_plural(spec.min_params, 'parameter')}, got {count}",
                name_token,
                f"write {usage}",
            )
        if spec.max_params is not None and count > spec.max_params:
            extra = trees[spec.max_params]
            hint = f"write {usage}"
            for param in trees[spec.max_params :]:
                word = str(_tokens(param)[-1])
                connector = [t for t in _child_trees(param) if t.data == "connector"]
                if word.lower() in LOWER_ONLY and word != word.lower():
                    hint = f"keywords are lower case: write {word.lower()}"
                    break
                if word in RULES and connector:
                    hint = f"to combine rules put each in parentheses: ({name} …) and ({word} …)"
                    break
            if spec.max_params == 0:
                message = f"{name} takes no parameters"
            else:
                message = f"{name} takes {_plural(spec.max_params, 'parameter')}, got {count}"
            self.fail(message, extra, hint)
        if name == "DetectAnomalies":
            self.check_anomaly_metric(values, trees)
        return tuple(values)

    def check_anomaly_metric(self, values: list[str], trees: list[Tree[Token]]) -> None:
        metric = values[0]
        if metric not in ANOMALY_METRICS:
            hint = did_you_mean(metric, ANOMALY_METRICS) or (
                "DetectAnomalies watches: "
                + ", ".join(k for k in ANOMALY_METRICS if k != "CustomSql")
            )
            self.fail(f"DetectAnomalies cannot watch {metric!r}", trees[0], hint)
        spec = RULES[ANOMALY_METRICS[metric]]
        count = len(values) - 1
        if count < spec.min_params or (spec.max_params is not None and count > spec.max_params):
            self.fail(
                f"{metric} takes {_plural(spec.min_params, 'parameter')}, got {count}",
                trees[0],
                f'write DetectAnomalies "{metric}" {spec.params_hint}'.strip(),
            )

    def clauses(self, tree: Tree[Token]) -> list[Tree[Token]]:
        kinds = ("where_clause", "threshold_clause", "tag_clause", "labels_clause")
        return [c for c in _child_trees(tree) if c.data in kinds]

    def rule(self, tree: Tree[Token], outer_labels: Tree[Token] | None = None) -> Rule:
        name_token = _tokens(tree)[0]
        spec = self.rule_spec(name_token, analyzer=False)
        name = spec.name
        params = self.params(tree, spec, name_token)
        cond_tree = next(
            (
                c
                for c in _child_trees(tree)
                if c.data in ("compare", "between", "in_list", "matches")
            ),
            None,
        )
        condition = None
        if cond_tree is not None:
            if spec.condition == "forbidden":
                example = _BOOLEAN_COUNTERPART.get(name, "")
                hint = (
                    f"remove the condition, or use {example.format(*params)}"
                    if example
                    else ("remove the condition")
                )
                self.fail(f"{name} takes no condition", cond_tree, hint)
            condition = self.settle(self.condition(cond_tree), spec, cond_tree)
        elif spec.condition == "required":
            example = f"{name} {spec.params_hint} > 0".replace("  ", " ")
            if spec.kinds == frozenset({"duration"}):
                example = f"{name} {spec.params_hint} <= 24 hours"
            self.fail(f"{name} needs a condition", name_token, f"for example: {example}")
        elif name == "FileMatch" and len(params) != 2:
            self.fail(
                "FileMatch compares two files, or one against checksums",
                name_token,
                'FileMatch "s3://a/f.csv" "s3://b/f.csv", or FileMatch "s3://a/f.csv" in ["<md5>"]',
            )

        where: str | None = None
        threshold: Condition | None = None
        tags: dict[str, str] = {}
        own_labels: dict[str, str] = {}
        labels_at: Tree[Token] | None = None
        seen_with = False
        for clause in self.clauses(tree):
            if clause.data == "where_clause":
                if where is not None:
                    self.fail("where is given twice", clause, "combine them with AND in one where")
                if seen_with or labels_at is not None:
                    after = (
                        "with threshold"
                        if threshold is not None
                        else ("with" if seen_with else "labels")
                    )
                    self.fail(
                        f"where must come before {after}",
                        clause,
                        f'write {name} … where "…" {after} …',
                    )
                where = self.where_clause(clause, spec)
            elif clause.data == "threshold_clause":
                if threshold is not None:
                    self.fail("one threshold per rule", clause, "remove the second with threshold")
                threshold = self.threshold(clause, spec, condition)
                seen_with = True
            elif clause.data == "tag_clause":
                key_token, value = cast(Token, clause.children[1]), clause.children[2]
                key = _unquote(key_token) if key_token.type == "STRING" else str(key_token)
                if key in tags:
                    self.fail(f"tag {key!r} is given twice", key_token, "give each tag once")
                if isinstance(value, Tree):  # `with recentFiles = 1`
                    tags[key] = "".join(str(t) for t in value.children)
                else:
                    tags[key] = _unquote(value)
                seen_with = True
            else:
                if labels_at is not None:
                    self.fail("labels are given twice", clause, "give one labels=[…] per rule")
                labels_at = clause
                own_labels = self.labels(_child_trees(clause)[0])
        if outer_labels is not None:
            if labels_at is not None:
                self.fail("labels are given twice", outer_labels, "give one labels=[…] per rule")
            labels_at = outer_labels
            own_labels = self.labels(_child_trees(outer_labels)[0])
        labels = self.merged_labels(own_labels, labels_at)
        text = format_rule(name, params, condition, where, threshold, tags, own_labels)
        return Rule(
            rule_type=name,
            params=params,
            condition=condition,
            where=where,
            threshold=threshold,
            tags=tags,
            labels=labels,
            text=text,
        )

    def where_clause(self, clause: Tree[Token], spec: RuleSpec) -> str:
        if not spec.where:
            self.fail(
                f"{spec.name} does not take a where clause",
                clause,
                "where works with " + ", ".join(WHERE_TYPES),
            )
        token = _tokens(clause)[-1]
        value = _unquote(token)
        if not value.strip():
            self.fail("where needs a SQL condition", token, 'for example: where "amount > 0"')
        return value

    def threshold(
        self, clause: Tree[Token], spec: RuleSpec, condition: Condition | None
    ) -> Condition:
        if not spec.threshold:
            self.fail(
                f"{spec.name} takes no threshold",
                clause,
                "with threshold works with "
                + ", ".join(THRESHOLD_TYPES)
                + "; for others put the bound in the condition",
            )
        if spec.name == "CustomSql" and condition is not None:
            self.fail(
                "CustomSql takes a threshold only without a condition",
                clause,
                'CustomSql "select id from primary where …" with threshold > 0.9',
            )
        cond_tree = _child_trees(clause)[0]
        threshold = self.condition(cond_tree)
        if isinstance(threshold, Matches) or condition_kind(threshold) != "numeric":
            self.fail(
                "a threshold is a number: the share of rows that pass",
                cond_tree,
                "for example: with threshold > 0.9",
            )
        if is_dynamic(threshold):
            self.fail(
                "a threshold is a plain number", cond_tree, "for example: with threshold > 0.9"
            )
        self.check_list(threshold, cond_tree)
        return threshold

    def analyzer(self, tree: Tree[Token]) -> Analyzer:
        name_token = _tokens(tree)[0]
        spec = self.rule_spec(name_token, analyzer=True)
        params = self.params(tree, spec, name_token)
        for child in _child_trees(tree):
            if child.data in ("compare", "between", "in_list", "matches"):
                self.fail(
                    "analyzers take no condition",
                    child,
                    "an analyzer only computes the metric; to check it, add a rule under Rules",
                )
            if child.data in ("threshold_clause", "tag_clause", "labels_clause"):
                self.fail(
                    "analyzers take only parameters and where",
                    child,
                    "move the rule under Rules",
                )
        where = None
        for clause in self.clauses(tree):
            where = self.where_clause(clause, spec)
        return Analyzer(
            type=spec.name,
            params=params,
            where=where,
            text=format_rule(spec.name, params, where=where),
        )

    # -- conditions --

    def condition(self, tree: Tree[Token]) -> Condition:
        negated = any(t.type == "NOT" for t in _tokens(tree))
        if tree.data == "compare":
            op_tree, operand_tree = tree.children
            op_tokens = _tokens(cast(Tree[Token], op_tree))
            op = str(op_tokens[0]) if op_tokens else "="
            operand = self.operand(operand_tree)
            if isinstance(operand, Keyword) and op not in ("=", "!="):
                self.fail(
                    f"{operand.name} can only be compared with = or !=",
                    operand_tree,
                    f"write = {operand.name}, != {operand.name} or in [ …, {operand.name}]",
                )
            return Compare(cast(Any, op), operand)
        if tree.data == "between":
            items = [
                c
                for c in tree.children
                if not (isinstance(c, Token) and c.type in ("NOT", "BETWEEN", "AND_L", "AND_U"))
            ]
            low, high = (self.operand(c) for c in items)
            for operand, at in ((low, items[0]), (high, items[1])):
                if isinstance(operand, Keyword):
                    self.fail(f"{operand.name} cannot be a between bound", at, "between 1 and 5")
            return Between(low, high, negated)
        if tree.data == "in_list":
            target = tree.children[-1]
            if isinstance(target, Token):  # in $list
                value = self.lookup(target)
                values: tuple[Operand, ...] = tuple(
                    self.mark(String(v), target)
                    for v in (value if isinstance(value, tuple) else (value,))
                )
            else:
                values = tuple(self.operand(c, in_list=True) for c in target.children)
            if not values:
                self.fail("an in-list needs at least one value", target, 'in ["A", "B"]')
            return InList(values, negated)
        target = tree.children[-1]
        token = cast(Token, target)
        if token.type == "VAR":
            value = self.lookup(token)
            if isinstance(value, tuple):
                self.fail(
                    f"{token} is a list", token, 'matches takes one pattern: matches "[A-Z]+"'
                )
            return Matches(value, negated)
        return Matches(_unquote(token), negated)

    def operand(self, tree: Branch, *, in_list: bool = False) -> Operand:
        if isinstance(tree, Token):
            if tree.type == "STRING":
                return self.mark(String(_unquote(tree)), tree)
            value = self.lookup(tree)
            if isinstance(value, tuple):
                self.fail(
                    f"{str(tree)!r} is a list",
                    tree,
                    f"a list variable goes after in: in {tree}",
                )
            return self.mark(String(value), tree)
        if tree.data == "keyword":
            word = str(tree.children[0]).upper()
            return self.mark(Keyword(cast(Any, word)), tree)
        operand = self.expr(tree)
        if in_list and not isinstance(operand, Number | Now | Duration | Size):
            self.fail(
                "list values are plain values", tree, "in [1, 2, 3]: no arithmetic or functions"
            )
        if isinstance(operand, FunctionCall) and operand.name == "last":
            self.fail(
                "last(…) is a list of past values, not a number",
                tree,
                "aggregate it: avg(last(10)), or pick one: index(last(10), 0)",
            )
        return operand

    def expr(self, tree: Tree[Token]) -> Operand:
        kind = tree.data
        if kind == "number":
            return self.mark(Number("".join(str(t) for t in tree.children)), tree)
        if kind == "quantity":
            return self.mark(self.quantity(tree), tree)
        if kind == "group":
            inner = _child_trees(tree)[0]
            now = self.now_offset(inner)
            if now is not None:
                return self.mark(now, tree)
            return self.mark(self.expr(inner), tree)
        if kind == "call":
            return self.mark(self.call(tree), tree)
        # binop
        left_tree, op_token, right_tree = tree.children
        left = self.expr(cast(Tree[Token], left_tree))
        right = self.expr(cast(Tree[Token], right_tree))
        for side, at in ((left, left_tree), (right, right_tree)):
            if isinstance(side, Now):
                self.fail(
                    "a now() offset goes in parentheses",
                    tree,
                    "write (now() - 3 days)",
                )
            if isinstance(side, Duration | Size):
                self.fail(
                    "durations and sizes take no arithmetic",
                    at,
                    "write 36 hours, not 1 day + 12 hours",
                )
            if isinstance(side, FunctionCall) and side.name == "last":
                self.fail(
                    "last(…) is a list of past values, not a number",
                    at,
                    "aggregate it: avg(last(10)) * 0.8",
                )
        return self.mark(Arithmetic(cast(Any, str(op_token)), left, right), tree)

    def now_offset(self, tree: Tree[Token]) -> Now | None:
        """``(now() ± N unit)`` → Now(±N, unit); None when the group is something else."""
        if tree.data != "binop":
            return None
        left, op, right = tree.children
        if not (isinstance(left, Tree) and left.data == "call" and str(left.children[0]) == "now"):
            return None
        self.call(left)  # checks now() has no arguments
        if str(op) not in "+-" or not (isinstance(right, Tree) and right.data == "quantity"):
            self.fail(
                "now() takes an offset in days, hours or minutes",
                tree,
                "write (now() - 3 days)",
            )
        quantity = self.quantity(right)
        if not isinstance(quantity, Duration):
            self.fail("now() takes an offset in days, hours or minutes", right, "(now() - 3 days)")
        sign = -1 if str(op) == "-" else 1
        return Now(sign * quantity.amount, quantity.unit)

    def quantity(self, tree: Tree[Token]) -> Duration | Size:
        number, unit_token = _tokens(tree)
        unit = str(unit_token)
        if unit in DURATION_UNITS or unit in SIZE_UNITS:
            if "." in number:
                whole = "90 minutes" if unit in DURATION_UNITS else "1536 KB"
                self.fail(f"{number} {unit}: use a whole number", number, f"for example: {whole}")
            if unit in DURATION_UNITS:
                return Duration(int(number), cast(Any, unit))
            return Size(int(number), cast(Any, unit))
        lower = unit.lower()
        if lower in DURATION_UNITS:
            hint = f"units are lower case: write {lower}"
        elif lower + "s" in DURATION_UNITS:
            hint = f"units are plural: write {number} {lower}s"
        elif unit.upper() in SIZE_UNITS:
            hint = f"size units are upper case: write {unit.upper()}"
        elif lower in ("week", "weeks") and number.isdigit():
            hint = f"units are days, hours or minutes: write {int(number) * 7} days"
        elif unit.upper() == "PB":
            hint = "sizes go up to TB"
        else:
            hint = "units are days, hours or minutes"
        self.fail(f"unknown unit {unit!r}", unit_token, hint)

    def call(self, tree: Tree[Token]) -> Operand:
        name_token = _tokens(tree)[0]
        name = str(name_token)
        args_trees = _child_trees(tree)
        if name == "now":
            if args_trees:
                self.fail("now() takes no arguments", tree, "write (now() - 3 days) for an offset")
            return Now()
        if name not in FUNCTIONS:
            if name.lower() == "now":
                hint = "write now() in lower case"
            elif name.lower() in FUNCTIONS:
                hint = f"function names are lower case: write {name.lower()}"
            else:
                hint = did_you_mean(name, [*FUNCTIONS, "now"]) or (
                    "the functions are " + ", ".join(FUNCTIONS) + " and now()"
                )
            self.fail(f"unknown function {name!r}", name_token, hint)
        kinds, _ = FUNCTIONS[name]
        usage = {"last": "last(10)", "index": "index(last(10), 0)", "abs": "abs(avg(last(3)) - 1)"}
        example = usage.get(name, f"{name}(last(10))")
        if len(args_trees) != len(kinds):
            self.fail(
                f"{name}() takes {_plural(len(kinds), 'argument')}, got {len(args_trees)}",
                tree,
                f"write {example}",
            )
        args: list[Operand] = []
        for want, arg_tree in zip(kinds, args_trees, strict=True):
            arg = self.expr(arg_tree)
            is_list = isinstance(arg, FunctionCall) and arg.name == "last"
            if want == "count":
                if not (isinstance(arg, Number) and arg.text.isdigit()):
                    self.fail(f"{name}() takes a whole number", arg_tree, f"write {example}")
                if name == "last" and int(arg.text) < 1:
                    self.fail("last() needs at least one run", arg_tree, "write last(1) or more")
            elif want == "list" and not is_list:
                self.fail(f"{name}() takes a list of past values", arg_tree, f"write {example}")
            elif want == "number" and (is_list or operand_kind(arg) != "numeric"):
                self.fail(f"{name}() takes a number", arg_tree, f"write {example}")
            args.append(arg)
        return FunctionCall(name, tuple(args))

    # -- checking a condition against the rule type --

    def settle(self, condition: Condition, spec: RuleSpec, at: Tree[Token]) -> Condition:
        """Decide dates vs strings and bare sizes, then check the condition fits the rule type."""
        kinds = spec.kinds
        if "size" in kinds:
            condition = self.bare_sizes(condition)
        if "date" in kinds:
            condition = self.dates(condition, strings_allowed="string" in kinds)
        kind = condition_kind(condition)
        if kind not in kinds:
            self.fail(
                f"{spec.name} takes {self.kinds_text(kinds)} conditions, not {kind}",
                at,
                self.kind_hint(spec),
            )
        form = self.form(condition)
        if spec.operators is not None and form not in spec.operators:
            self.fail(
                f"{spec.name} does not take {form}",
                at,
                f"{spec.name} takes "
                + ", ".join(sorted(spec.operators))
                + f": {self.kind_hint(spec)}",
            )
        if is_dynamic(condition) and not spec.dynamic:
            self.fail(
                f"{spec.name} takes no dynamic operands (last(), avg() …)",
                at,
                "dynamic operands work with " + ", ".join(DYNAMIC_TYPES),
            )
        if spec.atomic:
            for operand in condition_operands(condition):
                if not isinstance(operand, Number | Keyword):
                    self.fail(
                        f"{spec.name} compares with plain numbers",
                        operand,
                        f'for example: {spec.name} "name" between 0 and 64',
                    )
        self.check_list(condition, at)
        return condition

    def check_list(self, condition: Condition, at: Tree[Token]) -> None:
        """A list holds one kind of value (NULL goes with any); EMPTY etc. only in string lists."""
        if not isinstance(condition, InList):
            return
        first: str | None = None
        for value in condition.values:
            kind = operand_kind(value)
            if kind is None:
                continue
            if first is None:
                first = kind
            elif kind != first:
                self.fail(
                    f"a list holds one kind of value: {first} and {kind} are mixed",
                    value,
                    'quote all of them ("1", "2") or none (1, 2)',
                )

    @staticmethod
    def form(condition: Condition) -> str:
        neg = "not " if getattr(condition, "negated", False) else ""
        if isinstance(condition, Compare):
            return condition.op
        if isinstance(condition, Between):
            return neg + "between"
        if isinstance(condition, InList):
            return neg + "in"
        return neg + "matches"

    @staticmethod
    def kinds_text(kinds: frozenset[str]) -> str:
        order = ("numeric", "string", "date", "duration", "size", "matches")
        names = [k for k in order if k in kinds]
        return " or ".join(names) if names else "no"

    @staticmethod
    def kind_hint(spec: RuleSpec) -> str:
        examples = {
            "numeric": f"{spec.name} {spec.params_hint} > 0.9",
            "duration": f"{spec.name} {spec.params_hint} <= 24 hours",
            "size": f"{spec.name} {spec.params_hint} < 5 GB",
            "date": f"{spec.name} {spec.params_hint} > (now() - 1 days)",
            "string": f'{spec.name} {spec.params_hint} = "Integer"',
        }
        if spec.name == "FileMatch":
            return 'FileMatch "s3://bucket/file" in ["<checksum>"]'
        if spec.name == "ColumnValues":
            return 'for example: ColumnValues "col" in ["A", "B"], > 0, matches "[a-z]+"'
        for kind in ("numeric", "duration", "size", "date", "string"):
            if kind in spec.kinds:
                return "for example: " + " ".join(examples[kind].split())
        return "see docs/dqdl.md"

    def bare_sizes(self, condition: Condition) -> Condition:
        """FileSize reads a bare number as bytes: ``FileSize > 2`` is ``FileSize > 2 B``."""

        def fix(operand: Operand) -> Operand:
            if isinstance(operand, Number):
                if not operand.text.isdigit():
                    self.fail("a size is a whole number of bytes", operand, "FileSize < 5 MB")
                return self.copy_mark(Size(int(operand.text), "B"), operand)
            return operand

        return self.map_operands(condition, fix)

    def dates(self, condition: Condition, *, strings_allowed: bool) -> Condition:
        """Read quoted strings as dates/times where the condition can only mean dates.

        That is: next to now(), in an ordering comparison or between, or in a rule that takes no
        strings (FileFreshness). ``ColumnValues "d" = "2024-01-01"`` stays a string, as in Glue.
        """
        operands = condition_operands(condition)
        if not any(isinstance(o, String) for o in operands):
            return condition
        ordering = isinstance(condition, Between) or (
            isinstance(condition, Compare) and condition.op in _ORDERING
        )
        has_now = any(isinstance(o, Now) for o in operands)
        if not (has_now or ordering or not strings_allowed):
            return condition

        def fix(operand: Operand) -> Operand:
            if not isinstance(operand, String):
                return operand
            text = operand.value
            if _DATE_RE.fullmatch(text):
                try:
                    _ = Date(text).value
                except ValueError:
                    self.fail(f"{text!r} is not a valid date", operand, "dates are YYYY-MM-DD")
                return self.copy_mark(Date(text), operand)
            if _TIME_RE.fullmatch(text):
                try:
                    parse_time(text)
                except ValueError:
                    self.fail(
                        f"{text!r} is not a valid time", operand, 'times are "9:30 AM" or "21:45"'
                    )
                return self.copy_mark(Time(text), operand)
            self.fail(
                f"{text!r} is not a date or time",
                operand,
                'dates are "YYYY-MM-DD", times "9:30 AM" or "21:45"; > < and between compare '
                "numbers or dates, = and in compare strings",
            )

        return self.map_operands(condition, fix)

    def copy_mark(self, new: Operand, old: Operand) -> Operand:
        if id(old) in self.positions:
            _, line, column = self.positions[id(old)]
            self.positions[id(new)] = (new, line, column)
        return new

    @staticmethod
    def map_operands(condition: Condition, fix: Any) -> Condition:
        if isinstance(condition, Compare):
            return replace(condition, operand=fix(condition.operand))
        if isinstance(condition, Between):
            return replace(condition, low=fix(condition.low), high=fix(condition.high))
        if isinstance(condition, InList):
            return replace(condition, values=tuple(fix(v) for v in condition.values))
        return condition
