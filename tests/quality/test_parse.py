"""DQDL parser: every rule type, every mistake the spec lists, and canonical text that round-trips.

Error cases name the word the caret must sit under (``at``), so a position is checked without
counting columns by hand.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oaklake.errors import InvalidInput, SqlSyntaxError
from oaklake.quality.ast import (
    Analyzer,
    Arithmetic,
    Between,
    Compare,
    Composite,
    DataSources,
    Date,
    Duration,
    FunctionCall,
    InList,
    Keyword,
    Matches,
    Now,
    Number,
    Rule,
    Size,
    String,
    Time,
    condition_kind,
    is_dynamic,
)
from oaklake.quality.parse import DqdlSyntaxError, parse_rule, parse_ruleset
from oaklake.quality.rules import RULES

# ---- valid rules: (as written, canonical text) --------------------------------------------

VALID = [
    # RowCount
    ("RowCount = 100", None),
    ("RowCount != 100", None),
    ("RowCount = -100", None),
    ("RowCount>0", "RowCount > 0"),
    ('RowCount = 100 where "colA > 100"', None),
    ("RowCount between 10 and 20", None),
    ("RowCount between 10 AND 20", "RowCount between 10 and 20"),
    ("RowCount not between 10 and 20", None),
    ("RowCount in [10, 20, 30]", "RowCount in [10,20,30]"),
    ("RowCount > avg(last(10)) * 0.8", None),
    (
        "RowCount between (0.9 * avg(last(10))) and 1.1 * avg(last(10))",
        "RowCount between 0.9 * avg(last(10)) and 1.1 * avg(last(10))",
    ),
    # ColumnCount
    ("ColumnCount >= 100", None),
    ("ColumnCount > -100.123456", None),
    ("ColumnCount = max(last(3))", None),
    # ColumnExists / ColumnNamesMatchPattern
    ('ColumnExists "load_dt"', None),
    ("ColumnExists load_dt", 'ColumnExists "load_dt"'),
    ('ColumnNamesMatchPattern "aws_.*_[a-zA-Z0-9]+"', None),
    # ColumnDataType
    ('ColumnDataType "col_1" = "String"', None),
    ('ColumnDataType "col_1" != "String"', None),
    ('ColumnDataType "col_1" = "Integer" with threshold between 0.4 and 0.8', None),
    ('ColumnDataType "col_1" in ["Date", "String"]', 'ColumnDataType "col_1" in ["Date","String"]'),
    ('ColumnDataType "col_1" in ["Date","String"] with threshold > 0.9', None),
    ('ColumnDataType "col_1" = "Date" where "col-A > 100"', None),
    ('ColumnDataType "d" = "Date" with format = "dd/MM/yyyy"', None),
    # Completeness / IsComplete
    ('Completeness "col_1" between 0.5 and 0.8', None),
    ("Completeness of col_1 between 0.5 and 0.8", 'Completeness "col_1" between 0.5 and 0.8'),
    (
        "Completeness OF col_1 not between 0.5 and 0.8",
        'Completeness "col_1" not between 0.5 and 0.8',
    ),
    ('Completeness "col_1" > 0.95 where "col-A > 100"', None),
    ('Completeness "col_1" between -0.5 and -0.4', None),
    ('Completeness "a" >= avg(last(5)) - 0.05', None),
    ('IsComplete "col_1"', None),
    ('IsComplete "col_1" where "col-A > 100"', None),
    # Uniqueness / IsUnique / IsPrimaryKey
    ('Uniqueness "col_1" > 0.5', None),
    ('Uniqueness "col_1" "col_2" "col_3" > 0.5', None),
    ('Uniqueness "col_1" between 0.1 and 0.2 where "col-A > 100"', None),
    ('IsUnique "col_1"', None),
    ('IsUnique "col_1" "col_2"', None),
    ('IsUnique "col_1" where "col-A > 100"', None),
    ('IsPrimaryKey colA "col B"', 'IsPrimaryKey "colA" "col B"'),
    ('IsPrimaryKey "colA" where "colA > 100"', None),
    # the single-number column metrics
    ('UniqueValueRatio "a" <= index(last(10),2) + std(last(5))', None),
    ('UniqueValueRatio "a" between 0.1 and 0.5 where "b > 1"', None),
    ('DistinctValuesCount "col_A-B.CD" > 1000', None),
    ('Entropy "col_A-B.CD" <= 10.0', None),
    ('Mean "col_A-B.CD" between -20 and -10', None),
    ('Sum "col_A-B.C" > 100.0', None),
    ('StandardDeviation "x" <= 10.0 where "col-A > 100"', None),
    ('StandardDeviation "x" < median(last(7)) + 1', None),
    ('Variance "x" between 0.1 and 0.5', None),
    (
        'ColumnCorrelation of col_1 and "col abc" between 0.4 and 0.8',
        'ColumnCorrelation "col_1" "col abc" between 0.4 and 0.8',
    ),
    ('ColumnCorrelation "a" "b" > abs(avg(last(3)))', None),
    ('ColumnLength "name" < 10', None),
    ('ColumnLength "name" between 0 and 64 where "x > 1"', None),
    ('ColumnLength "code" in [3,4]', None),
    # ColumnValues
    ('ColumnValues "c" in ["A","B"]', None),
    (
        'ColumnValues "c" in [ "A" , "B" ] with threshold > 0.5',
        'ColumnValues "c" in ["A","B"] with threshold > 0.5',
    ),
    ('ColumnValues "order-id" in [1,2,3,4,NULL]', None),
    ('ColumnValues "order-id" not in ["1","2"]', None),
    ('ColumnValues "col-A" matches "[a-zA-Z0-9]*"', None),
    ('ColumnValues "col-A" not matches "[a-z]*" with threshold <= 0.4', None),
    ('ColumnValues "load_dt" > (now() - 1 days)', None),
    ('ColumnValues "col-A" between (now() - 3 hours) and now()', None),
    ('ColumnValues "col-A" in [now(),(now() - 3 hours),(now() + 4 days)]', None),
    ('ColumnValues "d" between "2022-06-01" and "2022-06-30"', None),
    ('ColumnValues "t" > "9:30 AM"', None),
    ('ColumnValues "c" = NULL', None),
    ('ColumnValues "c" = null', 'ColumnValues "c" = NULL'),
    ('ColumnValues "c" = EMPTY', None),
    ('ColumnValues "c" != WHITESPACES_ONLY', None),
    (
        'ColumnValues "c" in ["a",null,empty,whitespaces_only]',
        'ColumnValues "c" in ["a",NULL,EMPTY,WHITESPACES_ONLY]',
    ),
    ('ColumnValues "c" <= 0.4 with threshold not between 0.4 and 0.8', None),
    ('ColumnValues "c" in ["A"] where "x > 1" with threshold > 0.5', None),
    ('ColumnValues "c" = "A" with threshold > 0.98', None),
    ('ColumnValues "c" > 0 labels=["team"="payments"]', None),
    (
        'ColumnValues "c" > 0 labels=["k"="v"] with threshold > 0.5',
        'ColumnValues "c" > 0 with threshold > 0.5 labels=["k"="v"]',
    ),
    # DataFreshness
    ('DataFreshness "col-A" <= 3 days', None),
    ('DataFreshness "col-A" > 90 minutes', None),
    ('DataFreshness "col-A" between 2 days and 4 days', None),
    ('DataFreshness "col-A" <= 24 hours where "col-A > 100"', None),
    # CustomSql
    ('CustomSql "select count(*) from primary" > 0', None),
    ('CustomSql "select count(*) from primary" between 10 and 20', None),
    ('CustomSql "select count(*) from primary" > avg(last(3))', None),
    ('CustomSql "select id from primary"', None),
    ('CustomSql "select id from primary" with threshold > 0.5', None),
    # reference-dataset rules
    ('ReferentialIntegrity "col-A" "reference.col-A1" between 0.4 and 0.6', None),
    (
        'ReferentialIntegrity of "primary.colA" and "ref.colA" = 0.9',
        'ReferentialIntegrity "primary.colA" "ref.colA" = 0.9',
    ),
    ('ReferentialIntegrity "a,b" "ref.{ra,rb}" = 0.99', None),
    ('DatasetMatch "reference" "ID1,ID2" = 0.99', None),
    ('DatasetMatch "reference" "ID1->ID11,ID2->ID22" "colA->colAA" between 0.4 and 0.8', None),
    ('RowCountMatch "reference" >= 0.95', None),
    ('SchemaMatch "ref-1" between 0.4 and 0.9', None),
    ('AggregateMatch "avg(col-A)" "avg(reference.colA)" between 0.8 and 0.9', None),
    # DetectAnomalies
    ('DetectAnomalies "RowCount"', None),
    ("DetectAnomalies of RowCount", 'DetectAnomalies "RowCount"'),
    ('DetectAnomalies of Completeness of "colA"', 'DetectAnomalies "Completeness" "colA"'),
    (
        'DetectAnomalies of ColumnCorrelation of "colA" and "colB"',
        'DetectAnomalies "ColumnCorrelation" "colA" "colB"',
    ),
    ('DetectAnomalies "CustomSQL" "select count(*) from primary"', None),
    # file rules
    ('FileFreshness "S3://PATH" > (now() - 3 days)', None),
    ('FileFreshness "S3://PATH" between "2023-02-07" and "2024-07-15"', None),
    ('FileFreshness "S3://PATH" > "21:45" with timeZone = "America/New_York"', None),
    ('FileFreshness > "9:30 PM"', None),
    ("FileFreshness <= (now() - 35 minutes)", None),
    ("FileFreshness > (now() - 1 days) with threshold > 0.9", None),
    ('FileMatch "S3://PATH1" "S3://PATH2"', None),
    ('FileMatch in ["hash"] with hashAlgorithm = "MD5"', None),
    ('FileMatch "s3://b/" in ["h1","h2"] with dataFrame = "true"', None),
    ('FileMatch in ["h"] with recentFiles = 1', 'FileMatch in ["h"] with recentFiles = "1"'),
    ("FileSize between 1 B and 1 GB", None),
    ("FileSize > 2", "FileSize > 2 B"),
    ("FileSize not in [500 KB, 150 GB]", "FileSize not in [500 KB,150 GB]"),
    ("FileSize < 5 MB with threshold > 0.5", None),
    ('FileUniqueness "S3://PATH" > 0.9', None),
    ("FileUniqueness > 0.5", None),
    # Deequ extras
    ('Range "a" < 100', None),
    ('InterquartileRange "a" > 1', None),
    ('Skewness "a" between -1 and 1', None),
    ('Kurtosis "a" < 3', None),
    ('ZerosCount "a" = 0', None),
    ("DuplicateRowCount = 0", None),
    ('DuplicateRowCount "a" "b" < 5', None),
]


@pytest.mark.parametrize(("written", "canonical"), VALID, ids=[w for w, _ in VALID])
def test_valid_rule_parses_to_its_canonical_text(written: str, canonical: str | None) -> None:
    rule = parse_rule(written)
    assert rule.text == (canonical or written)
    again = parse_rule(rule.text)
    assert again == rule and again.text == rule.text
    # Inside a ruleset the same rule comes out the same (no DefaultLabels here).
    assert parse_ruleset(f"Rules = [ {written} ]").rules == (rule,)


def test_every_rule_type_has_a_valid_example() -> None:
    covered = {re.match(r"\w+", w)[0] for w, _ in VALID}  # type: ignore[index]
    missing = {name for name, spec in RULES.items() if spec.rule} - covered
    assert not missing


# ---- the AST a compiler reads ---------------------------------------------------------------


def rule_of(text: str) -> Rule:
    node = parse_rule(text)
    assert isinstance(node, Rule)
    return node


def test_params_drop_connectors_and_unescape() -> None:
    rule = rule_of(r'ColumnCorrelation of a and "b \"c\" \\d" > 0.4')
    assert rule.params == ("a", 'b "c" \\d')
    assert rule.text == r'ColumnCorrelation "a" "b \"c\" \\d" > 0.4'


def test_between_keeps_bounds_and_negation() -> None:
    rule = rule_of('Completeness "a" not between 0.4 and 0.9')
    assert rule.condition == Between(Number("0.4"), Number("0.9"), negated=True)
    assert condition_kind(rule.condition) == "numeric"


def test_numbers_keep_their_text() -> None:
    rule = rule_of("RowCount > - 5")
    assert rule.condition == Compare(">", Number("-5"))
    assert rule.text == "RowCount > -5"
    assert Number("0.95").value == 0.95
    assert str(Number("0.10").decimal) == "0.10"


def test_arithmetic_precedence_and_parentheses() -> None:
    rule = rule_of("RowCount > 1 - (2 - 3) * 4")
    assert rule.condition == Compare(
        ">",
        Arithmetic(
            "-",
            Number("1"),
            Arithmetic("*", Arithmetic("-", Number("2"), Number("3")), Number("4")),
        ),
    )
    assert rule.text == "RowCount > 1 - (2 - 3) * 4"
    assert rule_of("RowCount > (1 * 2) + 3").text == "RowCount > 1 * 2 + 3"


def test_dynamic_functions() -> None:
    rule = rule_of('UniqueValueRatio "a" <= index(last(10), 2) + std(last(5))')
    last10 = FunctionCall("last", (Number("10"),))
    assert rule.condition == Compare(
        "<=",
        Arithmetic(
            "+",
            FunctionCall("index", (last10, Number("2"))),
            FunctionCall("std", (FunctionCall("last", (Number("5"),)),)),
        ),
    )
    assert is_dynamic(rule.condition)
    assert not is_dynamic(rule_of("RowCount > 1 + 2").condition)


def test_now_offsets_durations_sizes() -> None:
    rule = rule_of('ColumnValues "d" between (now() - 3 hours) and now()')
    assert rule.condition == Between(Now(-3, "hours"), Now())
    assert rule_of('DataFreshness "d" <= 24 hours').condition == Compare(
        "<=", Duration(24, "hours")
    )
    size = rule_of("FileSize < 5 MB").condition
    assert size == Compare("<", Size(5, "MB"))
    assert Size(5, "MB").bytes == 5 * 1024 * 1024


def test_dates_and_times() -> None:
    rule = rule_of('ColumnValues "d" between "2022-06-01" and "2022-06-30"')
    assert rule.condition == Between(Date("2022-06-01"), Date("2022-06-30"))
    assert rule.condition.low.value.month == 6  # type: ignore[union-attr]
    times = rule_of('FileFreshness between "9:15 AM" and "21:45"').condition
    assert times == Between(Time("9:15 AM"), Time("21:45"))
    assert [t.value.hour for t in (times.low, times.high)] == [9, 21]  # type: ignore[union-attr]
    assert Time("12:05 AM").value.hour == 0


def test_equality_with_a_date_like_string_stays_a_string() -> None:
    # As in Glue: = and in compare strings; only ordering, between and now() mean dates.
    assert rule_of('ColumnValues "d" = "2024-01-01"').condition == Compare(
        "=", String("2024-01-01")
    )
    assert rule_of('ColumnValues "d" > "2024-01-01"').condition == Compare(">", Date("2024-01-01"))
    mixed = rule_of('ColumnValues "d" in [now(), "2023-01-01"]').condition
    assert mixed == InList((Now(), Date("2023-01-01")))


def test_keywords_and_matches() -> None:
    rule = rule_of('ColumnValues "c" not in ["a", NULL, empty]')
    assert rule.condition == InList((String("a"), Keyword("NULL"), Keyword("EMPTY")), negated=True)
    assert condition_kind(rule.condition) == "string"
    assert rule_of('ColumnValues "c" = NULL').condition == Compare("=", Keyword("NULL"))
    assert rule_of('ColumnValues "c" matches "[a-z]+"').condition == Matches("[a-z]+")


def test_where_threshold_tags() -> None:
    rule = rule_of(
        'ColumnValues "c" in ["A"] where "x > \'1\'" with threshold >= 0.9 with ignoreCase = "true"'
    )
    assert rule.where == "x > '1'"
    assert rule.threshold == Compare(">=", Number("0.9"))
    assert rule.tags == {"ignoreCase": "true"}
    quoted_key = rule_of('FileMatch in ["h"] with "hashAlgorithm" = "MD5"')
    assert quoted_key.tags == {"hashAlgorithm": "MD5"}
    assert quoted_key.text == 'FileMatch in ["h"] with hashAlgorithm = "MD5"'


def test_spellings_of_one_rule_share_one_text() -> None:
    texts = {
        parse_rule(t).text
        for t in (
            "Completeness of col_1 > 0.5",
            'Completeness "col_1" > 0.5',
            'Completeness\n\t"col_1"   >0.5',
            'Completeness OF "col_1" > 0.5 # trailing comment',
        )
    }
    assert texts == {'Completeness "col_1" > 0.5'}


# ---- documents --------------------------------------------------------------------------------

FULL = """
# A ruleset with every section.
Metadata = { "Version": "1.0" }
DataSources = { "Primary": "orders", "AdditionalDataSources": ["ref", "other"] }
allowed = ["A", "B"]   # a list variable
id_col = "order-id"
DefaultLabels = ["team"="payments", "tier"="gold"]
Rules = [
    IsComplete $id_col,
    ColumnValues "status" in $allowed labels=["tier"="silver"],
    (RowCount > 0) and (IsUnique $id_col)
]
Analyzers = [ RowCount, Completeness "a", AllStatistics "b" ]
"""


def test_full_document() -> None:
    rs = parse_ruleset(FULL)
    assert rs.metadata == {"Version": "1.0"}
    assert rs.data_sources == DataSources("orders", ("ref", "other"))
    assert rs.variables == {"allowed": ("A", "B"), "id_col": "order-id"}
    assert rs.default_labels == {"team": "payments", "tier": "gold"}
    first, second, third = rs.rules
    assert isinstance(first, Rule) and first.params == ("order-id",)
    assert first.labels == {"team": "payments", "tier": "gold"}
    assert first.text == 'IsComplete "order-id"'  # DefaultLabels are not part of the text
    assert isinstance(second, Rule)
    assert second.condition == InList((String("A"), String("B")))
    assert second.labels == {"team": "payments", "tier": "silver"}  # rule labels override
    assert second.text == 'ColumnValues "status" in ["A","B"] labels=["tier"="silver"]'
    assert isinstance(third, Composite)
    assert third.labels == rs.default_labels
    assert third.operands[1].labels == rs.default_labels
    assert rs.analyzers == (
        Analyzer("RowCount", (), None, "RowCount"),
        Analyzer("Completeness", ("a",), None, 'Completeness "a"'),
        Analyzer("AllStatistics", ("b",), None, 'AllStatistics "b"'),
    )


def test_only_analyzers_is_enough() -> None:
    rs = parse_ruleset('Analyzers = [ Mean "x" where "y > 1", AllStatistics AllColumns ]')
    assert rs.rules == ()
    assert rs.analyzers[0] == Analyzer("Mean", ("x",), "y > 1", 'Mean "x" where "y > 1"')
    assert rs.analyzers[1].params == ("AllColumns",)


def test_empty_rules_with_analyzers_is_fine() -> None:
    assert parse_ruleset("Rules = [ ] Analyzers = [ RowCount ]").analyzers[0].type == "RowCount"


def test_comments_and_whitespace_anywhere() -> None:
    text = (
        '# header\r\nRules=[#first\n  RowCount>0 ,# a comment with "quotes" and ]\n'
        '\tIsComplete\n"a"\n]  # end'
    )
    rs = parse_ruleset(text)
    assert [r.text for r in rs.rules] == ["RowCount > 0", 'IsComplete "a"']


def test_hash_inside_a_string_is_not_a_comment() -> None:
    rule = rule_of('ColumnValues "c" = "#1" where "tag = \'#x\'"')
    assert rule.condition == Compare("=", String("#1"))
    assert rule.where == "tag = '#x'"


def test_multiline_custom_sql() -> None:
    rule = rule_of('CustomSql "select count(*)\nfrom primary" > 0')
    assert rule.params == ("select count(*)\nfrom primary",)


def test_string_variable_in_a_string_condition_and_matches() -> None:
    rs = parse_ruleset(
        'v = "A"\np = "[a-z]+"\nRules = [ ColumnValues "c" = $v, ColumnValues "d" matches $p ]'
    )
    assert [r.condition for r in rs.rules] == [Compare("=", String("A")), Matches("[a-z]+")]  # type: ignore[union-attr]


def test_variables_may_contain_dots_and_underscores_inside() -> None:
    rs = parse_ruleset('my.var_1 = "x"\nRules = [ IsComplete $my.var_1 ]')
    assert rs.rules[0].params == ("x",)  # type: ignore[union-attr]


# ---- composites -------------------------------------------------------------------------------


def test_composite_nesting_and_case_insensitive_operators() -> None:
    node = parse_rule(
        '((RowCount > 0) AND (IsComplete "b")) Or ((IsComplete "a") and (IsUnique "a"))'
    )
    assert isinstance(node, Composite) and node.op == "or"
    assert [o.op for o in node.operands] == ["and", "and"]  # type: ignore[union-attr]
    assert node.text == (
        '((RowCount > 0) and (IsComplete "b")) or ((IsComplete "a") and (IsUnique "a"))'
    )
    assert parse_rule(node.text) == node


def test_same_operator_nesting_is_flattened() -> None:
    node = parse_rule('(RowCount > 0) or ((IsComplete "a") or (IsUnique "a"))')
    assert isinstance(node, Composite)
    assert len(node.operands) == 3
    assert node.text == '(RowCount > 0) or (IsComplete "a") or (IsUnique "a")'


def test_labelled_group_is_not_flattened() -> None:
    text = '(RowCount > 0) or ((IsComplete "a") or (IsUnique "a") labels=["k"="v"])'
    node = parse_rule(text)
    assert isinstance(node, Composite) and len(node.operands) == 2
    assert node.operands[1].labels == {"k": "v"}
    assert node.text == text


def test_composite_labels_and_operand_labels() -> None:
    node = parse_rule('(IsComplete "a" labels=["x"="1"]) and (IsUnique "a") labels=["k"="v"]')
    assert isinstance(node, Composite)
    assert node.labels == {"k": "v"}
    assert node.operands[0].labels == {"x": "1"}
    assert node.text == '(IsComplete "a" labels=["x"="1"]) and (IsUnique "a") labels=["k"="v"]'


def test_parenthesised_single_rule_is_just_the_rule() -> None:
    assert parse_rule('(IsComplete "a") labels=["k"="v"]') == parse_rule(
        'IsComplete "a" labels=["k"="v"]'
    )


# ---- errors -----------------------------------------------------------------------------------


def error_of(text: str) -> DqdlSyntaxError:
    with pytest.raises(DqdlSyntaxError) as info:
        parse_ruleset(text)
    return info.value


def assert_error(
    text: str, message: str, at: str, hint: str, nth: int = 1, start: int = 0
) -> DqdlSyntaxError:
    err = error_of(text)
    assert err.code == "DQDL_SYNTAX_ERROR"
    assert message in err.message, err.render()
    pos = start - 1
    for _ in range(nth):
        pos = text.index(at, pos + 1)
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    assert (err.line, err.column) == (line, column), err.render()
    assert err.hint is not None and hint in err.hint, err.render()
    return err


def in_rules(rule: str) -> str:
    return f"Rules = [ {rule} ]"


ERRORS = [
    # conditions that the rule type forbids or needs (§1.2)
    ('IsComplete "a" > 0.5', "IsComplete takes no condition", "> 0.5", 'Completeness "a" > 0.95'),
    ('IsUnique "a" > 0.5', "IsUnique takes no condition", ">", "Uniqueness"),
    ('IsPrimaryKey "a" = 1', "IsPrimaryKey takes no condition", "=", "remove the condition"),
    ('ColumnExists "a" = 1', "ColumnExists takes no condition", "=", "remove the condition"),
    ('ColumnNamesMatchPattern "a.*" > 1', "takes no condition", ">", "remove"),
    ('DetectAnomalies "RowCount" > 1', "DetectAnomalies takes no condition", ">", "remove"),
    ('Completeness "a"', "Completeness needs a condition", "Completeness", "> 0"),
    ("RowCount", "RowCount needs a condition", "RowCount", "RowCount > 0"),
    ('DataFreshness "d"', "DataFreshness needs a condition", "DataFreshness", "24 hours"),
    # where (§1.5)
    ('RowCountMatch "r" = 1 where "x > 1"', "does not take a where", "where", "where works with"),
    ('ReferentialIntegrity "a" "r.b" > 0.9 where "x"', "does not take a where", "where", "Mean"),
    ('SchemaMatch "r" > 0.9 where "x"', "SchemaMatch does not take a where", "where", "RowCount"),
    (
        'CustomSql "select 1" > 0 where "x"',
        "CustomSql does not take a where",
        "where",
        "IsComplete",
    ),
    ('DetectAnomalies "RowCount" where "x"', "does not take a where", "where", "where works"),
    ('IsComplete "a" where ""', "where needs a SQL condition", '""', 'where "amount > 0"'),
    ('IsComplete "a" where "   "', "where needs a SQL condition", '"   "', "for example"),
    ('IsComplete "a" where "x" where "y"', "where is given twice", 'where "y"', "one where"),
    # threshold (§1.4)
    (
        'Completeness "a" > 0.4 with threshold > 0.4',
        "Completeness takes no threshold",
        "with",
        "ColumnDataType, ColumnValues, CustomSql",
    ),
    (
        'ColumnValues "c" > 1 with threshold > 0.4 with threshold > 0.5',
        "one threshold per rule",
        "with threshold > 0.5",
        "remove the second",
    ),
    (
        'ColumnValues "c" in ["A"] with threshold > 0.5 where "x > 1"',
        "where must come before with threshold",
        "where",
        'where "…" with threshold',
    ),
    ('ColumnValues "c" > 1 with threshold = "A"', "a threshold is a number", "=", "> 0.9"),
    ('ColumnValues "c" > 1 with threshold > avg(last(3))', "plain number", "> avg", "> 0.9"),
    ('CustomSql "select 1" > 0 with threshold > 0.5', "only without a condition", "with", "select"),
    # lists, values, units (§1.2, §1.3)
    ('ColumnValues "c" in [1, "2"]', "numeric and string are mixed", '"2"', "quote all"),
    ('ColumnValues "c" in ["a", 2 days]', "string and duration are mixed", "2 days", "quote"),
    ('ColumnValues "c" in []', "needs at least one value", "[]", 'in ["A", "B"]'),
    ('ColumnValues "c" in [1 + 1]', "list values are plain values", "1 + 1", "no arithmetic"),
    ('ColumnValues "c" > NULL', "NULL can only be compared with = or !=", "NULL", "!= NULL"),
    ('ColumnValues "c" between NULL and 5', "cannot be a between bound", "NULL", "between 1"),
    ('ColumnValues "c" > "abc"', "is not a date or time", '"abc"', "YYYY-MM-DD"),
    ('ColumnValues "c" > "2024-02-30"', "not a valid date", '"2024', "YYYY-MM-DD"),
    ('ColumnValues "c" > "25:00"', "not a valid time", '"25:00"', "9:30 AM"),
    ('ColumnValues "c" in [now(), "x"]', "not a date or time", '"x"', "YYYY-MM-DD"),
    ('DataFreshness "d" <= 2 weeks', "unknown unit 'weeks'", "weeks", "write 14 days"),
    ('DataFreshness "d" <= 2 day', "unknown unit 'day'", "day", "units are plural: write 2 days"),
    ('DataFreshness "d" <= 2 Days', "unknown unit 'Days'", "Days", "lower case: write days"),
    ('DataFreshness "d" <= 5 seconds', "unknown unit", "seconds", "days, hours or minutes"),
    ('DataFreshness "d" <= 1.5 days', "use a whole number", "1.5", "90 minutes"),
    ('DataFreshness "d" <= 3', "DataFreshness takes duration conditions", "<=", "24 hours"),
    ('ColumnValues "c" > (now() - 2 weeks)', "unknown unit 'weeks'", "weeks", "14 days"),
    ('ColumnValues "c" > (now() - 2 GB)', "offset in days, hours or minutes", "2 GB", "now()"),
    ('ColumnValues "c" > now() - 3 days', "goes in parentheses", "now()", "(now() - 3 days)"),
    ('ColumnValues "c" > now(1)', "now() takes no arguments", "now(1)", "offset"),
    ('ColumnValues "c" > NOW()', "unknown function 'NOW'", "NOW", "now() in lower case"),
    ("FileSize < 5 gb", "unknown unit 'gb'", "gb", "upper case: write GB"),
    ("FileSize < 1.5", "a size is a whole number of bytes", "1.5", "5 MB"),
    ("FileSize < 1 PB", "unknown unit 'PB'", "PB", "up to TB"),
    ("RowCount > 1 days", "RowCount takes numeric conditions, not duration", ">", "> 0.9"),
    ('Completeness "a" > "x"', "Completeness takes numeric conditions, not string", ">", "> 0.9"),
    ('ColumnDataType "c" > "Date"', "ColumnDataType does not take >", ">", '= "Integer"'),
    ('ColumnDataType "c" matches "D.*"', "takes string conditions, not matches", "matches", "="),
    ('FileMatch "a" = "b"', "FileMatch does not take =", "=", "checksum"),
    ('FileMatch "a"', "FileMatch compares two files", "FileMatch", "in ["),
    ('Completeness "a" > 1 + 1 days', "durations and sizes take no arithmetic", "1 days", "36"),
    # dynamic operands (§1.8)
    ('ColumnLength "a" > avg(last(3))', "ColumnLength takes no dynamic operands", ">", "RowCount"),
    ('Variance "a" > avg(last(3))', "Variance takes no dynamic operands", ">", "Mean"),
    ('ColumnLength "a" > 1 + 2', "ColumnLength compares with plain numbers", "1 + 2", "between"),
    ("RowCount > last(3)", "last(…) is a list", "last(3)", "avg(last(10))"),
    ("RowCount > last(3) * 2", "last(…) is a list", "last(3)", "avg(last(10)) * 0.8"),
    ("RowCount > average(last(3))", "unknown function 'average'", "average", "'avg'"),
    ("RowCount > Avg(last(3))", "unknown function 'Avg'", "Avg", "lower case: write avg"),
    ("RowCount > avg(3)", "avg() takes a list of past values", "3", "avg(last(10))"),
    ("RowCount > avg(std(last(3)))", "avg() takes a list", "std", "avg(last(10))"),
    ("RowCount > last(0)", "last() needs at least one run", "0", "last(1)"),
    ("RowCount > last(1.5)", "last() takes a whole number", "1.5", "last(10)"),
    (
        "RowCount > index(last(3))",
        "index() takes 2 arguments, got 1",
        "index",
        "index(last(10), 0)",
    ),
    ("RowCount > abs(last(3))", "abs() takes a number", "last", "abs("),
    # parameters and rule types (§1.2, §1.9)
    ('Completness "a" > 0.5', "unknown rule type 'Completness'", "Completness", "'Completeness'"),
    ('iscomplete "a"', "unknown rule type 'iscomplete'", "iscomplete", "write IsComplete"),
    ('ISCOMPLETE "a"', "unknown rule type", "ISCOMPLETE", "case-sensitive: write IsComplete"),
    ("Frobnicate > 1", "unknown rule type 'Frobnicate'", "Frobnicate", "docs/dqdl.md"),
    (
        'ColumnExists "a" "b"',
        "ColumnExists takes 1 parameter, got 2",
        '"b"',
        'ColumnExists "column"',
    ),
    ('ColumnCorrelation "a" > 0.5', "takes 2 parameters, got 1", "ColumnCorrelation", '"column2"'),
    ('RowCount "a" > 1', "RowCount takes no parameters", '"a"', "RowCount"),
    ("IsComplete", "takes 1 parameter, got 0", "IsComplete", 'IsComplete "column"'),
    ('IsUnique "a" "b" > 1', "IsUnique takes no condition", ">", "Uniqueness"),
    ('DetectAnomalies "RowCounts"', "cannot watch 'RowCounts'", '"RowCounts"', "'RowCount'"),
    (
        'DetectAnomalies "Completeness"',
        "Completeness takes 1 parameter, got 0",
        '"Comp',
        '"column"',
    ),
    ('AllStatistics "a"', "AllStatistics is analyzer-only", "AllStatistics", "Analyzers = ["),
    # keyword case (§1.1)
    (
        'Completeness "a" BETWEEN 0.1 AND 0.5',
        "takes 1 parameter, got 4",
        "BETWEEN",
        "write between",
    ),
    ('IsComplete "a" WHERE "x > 1"', "takes 1 parameter, got 3", "WHERE", "write where"),
    ('ColumnValues "c" in ["A"] With threshold > 0.5', "unexpected 'With'", "With", "write with"),
    ('ColumnValues "c" In ["A"]', "unexpected '['", "[", "write in"),
    ('ColumnValues "c" = Null', "unexpected 'Null'", "Null", "write NULL or null"),
    # numbers (§1.2)
    ("RowCount > 1e5", "unexpected 'e5'", "e5", "without an exponent"),
    ("RowCount > .5", "unexpected '.5'", ".5", "write 0.5"),
    ("RowCount == 5", "unexpected '='", "= 5", "single ="),
    ("RowCount <> 5", "unexpected '>'", "> 5", "!="),
    # structure
    ("RowCount between 1", "unexpected ']'; expected 'and'", "]", "between 1 and 5"),
    ("RowCount between 1 or 5", "unexpected 'or'", "or", "between 1 and 5"),
    ('ColumnValues "c" = abc', "unexpected 'abc'", "abc", 'double quotes: "abc"'),
    ('ColumnValues "c" = "abc', "unexpected", '"abc', 'no closing "'),
    ('RowCount > 0 IsComplete "a"', "unexpected 'IsComplete'", "IsComplete", "separated by commas"),
    ("RowCount > 0, ", "unexpected", "]", "trailing comma"),
    ('IsComplete "a" labels=[key=value]', "unexpected 'key'", "key", 'quote it: "key"'),
    # composites (§1.6)
    (
        '(IsComplete "a") and (IsUnique "b") or (RowCount > 0)',
        "'and' and 'or' are mixed without parentheses",
        "or",
        "((A) and (B)) or (C)",
    ),
    ('(IsComplete "a") and IsUnique "b"', "unexpected 'IsUnique'", "IsUnique", "(IsUnique …)"),
    ('IsComplete "a" and IsUnique "b"', "IsComplete takes 1 parameter", "and", "parentheses"),
    ('RowCount > 0 and (IsComplete "a")', "unexpected 'and'", "and", "put each in parentheses"),
    # labels (§1.7)
    ('IsComplete "a" labels=[]', "Labels must have at least one label", "[]", 'labels=["'),
    ('IsComplete "a" labels=["k"="v", "k"="w"]', "Duplicate label key", '"k"', "given twice", 2),
    ('IsComplete "a" labels=[""="v"]', "Label key or value cannot be empty", '""', '"key"="value"'),
    ('IsComplete "a" labels=["k"=""]', "cannot be empty", '"k"', '"key"="value"'),
    (
        'IsComplete "a" labels=["k"="v"] labels=["j"="w"]',
        "labels are given twice",
        "labels",
        "one",
        2,
    ),
    ('(IsComplete "a" labels=["k"="v"]) labels=["j"="w"]', "given twice", "lab", "one", 2),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_rule_error(case: tuple[str, ...]) -> None:
    rule, message, at, hint, *nth = case
    # Look for `at` inside the rule, not in the "Rules = [" around it.
    assert_error(in_rules(rule), message, at, hint, *(int(n) for n in nth), start=len("Rules = [ "))


def test_long_label_key_and_value() -> None:
    key = "k" * 129
    assert_error(
        in_rules(f'IsComplete "a" labels=["{key}"="v"]'), "length 129 exceeding", '"k', "shorten"
    )
    value = "v" * 257
    err = assert_error(
        in_rules(f'IsComplete "a" labels=["k"="{value}"]'), "length 257", '"v', "shorten"
    )
    assert "256" in err.message
    assert parse_ruleset(in_rules(f'IsComplete "a" labels=["{"k" * 128}"="{"v" * 256}"]'))


def test_eleven_labels_are_too_many() -> None:
    labels = ", ".join(f'"k{i}"="v"' for i in range(11))
    assert_error(in_rules(f'IsComplete "a" labels=[{labels}]'), "(MAX: 10)", "[", "at most 10", 2)
    ten = ", ".join(f'"k{i}"="v"' for i in range(10))
    assert len(parse_ruleset(in_rules(f'IsComplete "a" labels=[{ten}]')).rules[0].labels) == 10


def test_default_labels_count_towards_the_limit() -> None:
    defaults = ", ".join(f'"d{i}"="v"' for i in range(8))
    rule = 'IsComplete "a" labels=["x"="1", "y"="2", "z"="3"]'
    doc = f"DefaultLabels = [{defaults}]\nRules = [ {rule} ]"
    err = assert_error(doc, "(MAX: 10)", "labels", "8 DefaultLabels + 3 rule labels")
    assert err.line == 2
    # Overriding a default does not add a label.
    doc = f'DefaultLabels = [{defaults}]\nRules = [ IsComplete "a" labels=["d0"="w", "y"="2"] ]'
    assert len(parse_ruleset(doc).rules[0].labels) == 9


DOC_ERRORS = [
    ("Rules = [ ]", "No rules or analyzers provided", "Rules", "RowCount > 0"),
    ("# nothing but a comment\n", "No rules or analyzers provided", "#", "Rules = ["),
    ("Rules = [ ]\nAnalyzers = [ ]", "No rules or analyzers provided", "Rules", "Rules = ["),
    (
        "min_count = 100\nRules = [ RowCount > 0 ]",
        "variable 'min_count' is a number",
        "100",
        "quote",
    ),
    ('v = ["a", 1]\nRules = [ RowCount > 0 ]', "variable 'v' holds a number", "1", "strings"),
    ('v = "a"\nv = "b"\nRules = [ RowCount > 0 ]', "already defined on line 1", "v", "once", 2),
    ('_v = "a"\nRules = [ RowCount > 0 ]', "starts with '_'", "_v", "may not start with _ or ."),
    ('.v = "a"\nRules = [ RowCount > 0 ]', "starts with '.'", ".v", "may not start with _ or ."),
    ('col = "a"\nRules = [ IsComplete $cl ]', "unknown variable '$cl'", "$cl", "'$col'"),
    ("Rules = [ IsComplete $nope ]", "unknown variable '$nope'", "$nope", 'nope = "value"'),
    ('v = ["a"]\nRules = [ IsComplete $v ]', "'$v' is a list", "$v", "in $v"),
    ('v = ["a"]\nRules = [ ColumnValues "c" = $v ]', "'$v' is a list", "$v", "in $v"),
    ('v = ["a"]\nRules = [ ColumnValues "c" matches $v ]', "is a list", "$v", "one pattern"),
    ("rules = [ RowCount > 0 ]", "unexpected 'RowCount'", "RowCount", "write Rules"),
    (
        "Rules = [ RowCount > 0 ]\nMetadata = {}",
        "Metadata must come before Rules",
        "Metadata",
        "order",
    ),
    ('Rules = [ RowCount > 0 ]\nv = "a"', "variables must come before Rules", "v =", "order"),
    (
        "Rules = [ RowCount > 0 ]\nRules = [ RowCount > 1 ]",
        "Rules is given twice",
        "Rules",
        "merge",
        2,
    ),
    (
        'Metadata = { "Versoin": "1.0" }\nRules = [ RowCount > 0 ]',
        "unknown Metadata key",
        '"Versoin"',
        "'Version'",
    ),
    ('Metadata = { "Version": ["1"] }\nRules = [ RowCount > 0 ]', "is a string", "[", '"1.0"'),
    (
        'DataSources = { "Primry": "x" }\nRules = [ RowCount > 0 ]',
        "unknown DataSources key",
        '"Primry"',
        "'Primary'",
    ),
    (
        'DataSources = { "Primary": ["x"] }\nRules = [ RowCount > 0 ]',
        "one data source",
        "[",
        "orders",
    ),
    (
        'DataSources = { "AdditionalDataSources": "x" }\nRules = [ RowCount > 0 ]',
        "is a list",
        '"x"',
        '["ref"]',
    ),
    ("DefaultLabels = []\nRules = [ RowCount > 0 ]", "at least one label", "[", "labels="),
    ("Analyzers = [ RowCount > 0 ]", "analyzers take no condition", ">", "add a rule under Rules"),
    (
        'Analyzers = [ IsComplete "a" ]',
        "IsComplete cannot be used as an analyzer",
        "IsComplete",
        "use Completeness in Analyzers",
    ),
    ('Analyzers = [ ColumnExists "a" ]', "cannot be used as an analyzer", "ColumnExists", "Rules"),
    (
        'Analyzers = [ Completeness "a" labels=["k"="v"] ]',
        "only parameters and where",
        "labels",
        "Rules",
    ),
    (
        'Analyzers = [ ReferentialIntegrity "a" "r.b" where "x" ]',
        "cannot be used as an analyzer",
        "Ref",
        "Rules",
    ),
    (
        'Analyzers = [ SchemaMatch "r" where "x" ]',
        "cannot be used as an analyzer",
        "Schema",
        "Rules",
    ),
    (
        'Analyzers = [ RowCountMatch "r", ColumnCount where "x" ]',
        "analyzer",
        "RowCountMatch",
        "Rules",
    ),
    ('Rules = [ (IsComplete "a" ]', "unexpected ']'", "]", "docs/dqdl.md"),
    ("Rules [ RowCount > 0 ]", "unexpected '['", "[", "docs/dqdl.md"),
]


@pytest.mark.parametrize("case", DOC_ERRORS, ids=[c[0] for c in DOC_ERRORS])
def test_document_error(case: tuple[str, ...]) -> None:
    text, message, at, hint, *nth = case
    assert_error(text, message, at, hint, *(int(n) for n in nth))


def test_unexpected_end_points_just_after_the_last_character() -> None:
    err = error_of("Rules = [ RowCount > 0\n\n")
    assert err.message == "unexpected end of input; expected ',', ']'"
    assert (err.line, err.column) == (1, 23)
    assert err.hint == "a list is missing its closing ]"


def test_analyzer_where_follows_the_rule_type() -> None:
    assert_error('Analyzers = [ ColumnCount where "x" ]', "does not take a where", "where", "Mean")


def test_no_half_parsed_ruleset() -> None:
    # A later mistake sinks the whole document: nothing is returned for the valid rules before it.
    with pytest.raises(DqdlSyntaxError) as info:
        parse_ruleset('Rules = [\n  RowCount > 0,\n  IsComplete "a",\n  Completeness "b"\n]')
    assert info.value.line == 4


def test_error_is_a_syntax_error_and_a_value_error() -> None:
    err = error_of(in_rules('IsComplete "a" > 0.5'))
    assert isinstance(err, SqlSyntaxError)
    assert isinstance(err, InvalidInput)
    assert isinstance(err, ValueError)
    assert err.to_dict() == {
        "code": "DQDL_SYNTAX_ERROR",
        "message": "IsComplete takes no condition",
        "hint": 'remove the condition, or use Completeness "a" > 0.95',
        "line": 1,
        "column": 26,
    }
    assert err.render() == (
        "DQDL_SYNTAX_ERROR: IsComplete takes no condition at line 1, column 26\n"
        '  Rules = [ IsComplete "a" > 0.5 ]\n'
        "                           ^\n"
        'hint: remove the condition, or use Completeness "a" > 0.95'
    )


def test_error_position_on_a_later_line_under_tabs() -> None:
    err = error_of('Rules = [\n\tRowCount > 0,\n\tIsComplete "a" > 1\n]')
    assert (err.line, err.column) == (3, 17)
    assert err.snippet().splitlines()[1] == "  \t" + " " * 15 + "^"


def test_parse_rule_positions_are_relative_to_the_rule() -> None:
    with pytest.raises(DqdlSyntaxError) as info:
        parse_rule('IsComplete "a" > 0.5')
    assert (info.value.line, info.value.column) == (1, 16)


# ---- canonical text: property ----------------------------------------------------------------

NUMERIC_ONE_COLUMN = [
    name
    for name, spec in RULES.items()
    if spec.min_params == 1 == spec.max_params
    and spec.condition == "required"
    and spec.kinds == frozenset({"numeric"})
]
KEYWORDS = {"of", "OF", "and", "AND", "between", "in", "not", "matches", "where", "with", "labels"}

numbers = st.builds(
    lambda neg, whole, frac: ("-" if neg else "") + str(whole) + (f".{frac}" if frac else ""),
    st.booleans(),
    st.integers(0, 10**6),
    st.one_of(st.none(), st.from_regex(r"[0-9]{1,4}", fullmatch=True)),
)
texts = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
spaces = st.sampled_from([" ", "  ", "\n", "\t", " \n  "])


@st.composite
def simple_rules(draw: st.DrawFn) -> tuple[str, Rule]:
    rule_type = draw(st.sampled_from(NUMERIC_ONE_COLUMN))
    column = draw(texts)
    bare = (
        re.fullmatch(r"[A-Za-z0-9_.]+", column) and column not in KEYWORDS and draw(st.booleans())
    )
    param = column if bare else '"' + column.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if draw(st.booleans()):
        param = draw(st.sampled_from(["of", "OF"])) + draw(spaces) + param
    form = draw(st.sampled_from(["compare", "between", "in"]))
    if form == "compare":
        op = draw(st.sampled_from(["=", "!=", ">", ">=", "<", "<="]))
        value = draw(numbers)
        cond_text = f"{op}{draw(spaces)}{value}"
        condition = Compare(op, Number(value))  # type: ignore[arg-type]
    elif form == "between":
        low, high, negated = draw(numbers), draw(numbers), draw(st.booleans())
        cond_text = ("not " if negated else "") + f"between {low}{draw(spaces)}and {high}"
        condition = Between(Number(low), Number(high), negated)  # type: ignore[assignment]
    else:
        values = draw(st.lists(numbers, min_size=1, max_size=4))
        cond_text = "in [" + f",{draw(spaces)}".join(values) + "]"
        condition = InList(tuple(Number(v) for v in values))  # type: ignore[assignment]
    where = None
    parts = [rule_type, param, cond_text]
    if RULES[rule_type].where and draw(st.booleans()):
        where = draw(texts.filter(lambda s: s.strip() != ""))
        parts.append('where "' + where.replace("\\", "\\\\").replace('"', '\\"') + '"')
    labels = draw(
        st.dictionaries(
            st.text(min_size=1, max_size=5), st.text(min_size=1, max_size=5), max_size=3
        )
    )
    if labels:
        escaped = [
            (
                k.replace("\\", "\\\\").replace('"', '\\"'),
                v.replace("\\", "\\\\").replace('"', '\\"'),
            )
            for k, v in labels.items()
        ]
        parts.append("labels=[" + ",".join(f'"{k}"="{v}"' for k, v in escaped) + "]")
    text = draw(spaces).join(parts)
    expected = Rule(rule_type, (column,), condition, where, None, {}, labels)
    return text, expected


@settings(max_examples=200, deadline=None)
@given(simple_rules())
def test_canonical_text_reparses_to_the_same_rule(case: tuple[str, Rule]) -> None:
    text, expected = case
    rule = parse_rule(text)
    assert isinstance(rule, Rule)
    assert (rule.rule_type, rule.params, rule.condition, rule.where, rule.labels) == (
        expected.rule_type,
        expected.params,
        expected.condition,
        expected.where,
        expected.labels,
    )
    again = parse_rule(rule.text)
    assert again == rule
    assert again.text == rule.text


# ---- docs/dqdl.md stays true ------------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "dqdl.md"


def test_docs_example_ruleset_parses() -> None:
    page = DOCS.read_text("utf-8")
    example = re.search(r"## A ruleset\n\n```\n(.*?)```", page, re.S)
    assert example is not None
    rs = parse_ruleset(example[1])
    assert len(rs.rules) == 6 and len(rs.analyzers) == 2
    assert all(r.labels["team"] == "payments" for r in rs.rules)


def test_docs_table_lists_every_rule_type() -> None:
    rows = re.findall(r"^\| (\w+)( \*)? \|", DOCS.read_text("utf-8"), re.M)
    documented = {name: bool(star) for name, star in rows if name != "Rule"}
    assert documented == {name: not spec.glue for name, spec in RULES.items()}


def test_docs_error_example_is_what_the_parser_says() -> None:
    err = error_of(
        'Rules = [\n    RowCount > 0,\n    Completeness "a" > 0.4 with threshold > 0.4\n]'
    )
    assert err.render() in DOCS.read_text("utf-8")


# ---- packaging --------------------------------------------------------------------------------


def test_grammar_ships_inside_the_package() -> None:
    grammar = resources.files("oaklake.quality").joinpath("grammar.lark")
    assert grammar.is_file()
    assert "simple_rule" in grammar.read_text("utf-8")


def test_importing_the_package_is_cheap() -> None:
    import subprocess
    import sys

    code = "import sys, oaklake.quality; print('lark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_registry_is_consistent() -> None:
    for name, spec in RULES.items():
        assert spec.name == name
        assert spec.max_params is None or spec.max_params >= spec.min_params
        if spec.condition == "forbidden":
            assert not spec.threshold and not spec.dynamic
        if spec.threshold:
            assert spec.row_level or name in ("CustomSql", "FileFreshness", "FileSize")
    # The spec's lists (§1.4, §1.5) hold exactly.
    assert {n for n, s in RULES.items() if s.threshold} == {
        "ColumnValues",
        "ColumnDataType",
        "CustomSql",
        "FileFreshness",
        "FileSize",
    }
    glue_where = {n for n, s in RULES.items() if s.where and s.glue}
    assert glue_where == {
        "RowCount",
        "Completeness",
        "IsComplete",
        "ColumnDataType",
        "ColumnCorrelation",
        "Uniqueness",
        "IsUnique",
        "Mean",
        "Sum",
        "StandardDeviation",
        "Variance",
        "Entropy",
        "DistinctValuesCount",
        "UniqueValueRatio",
        "ColumnLength",
        "IsPrimaryKey",
        "ColumnValues",
        "DataFreshness",
    }
    assert [n for n, s in RULES.items() if not s.rule] == ["AllStatistics"]
