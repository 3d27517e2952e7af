"""Filter expressions: Personalize's examples, its combination rules, filterValues, and errors.

The catalogue below is small enough to read the expected masks off by hand; a randomised test
checks the vectorised masks against a plain-Python reading of the same rules on 3,000 items.
Error cases name the word the caret must sit under (``at``), so positions are checked without
counting columns by hand.
"""

from __future__ import annotations

import math
import random
import re

import numpy as np
import pytest

from oaklake.errors import InvalidInput, NotSupported, SqlSyntaxError
from oaklake.recommend.filters import (
    Filter,
    FilterContext,
    FilterSyntaxError,
    compile_filter,
    parse_filter_values,
)

NAN = float("nan")

#            0              1         2        3               4     5         6     7
GENRE = ["Action|Crime", "Comedy", "Drama", "Comedy|Drama", None, "Action", "", "Crime"]
PRICE = [10.0, 20.0, 5.0, 15.0, NAN, 30.0, 25.0, 12.0]
CREATED = [100, 200, 300, 400, 500, 600, 700, 800]
STUDIO = ["A", "B", "A", "C", "B", "A", "C", "B"]
CATEGORY_L1 = ["shoe", "shoe", "shoe", "watch", "watch", "shoe", "bag", "shoe"]
CATEGORY_L2 = ["boot", "sandal", None, "luxury", "sport", "boot|sandal", None, "sneaker"]
SIZE = ["10", "9.5", "n/a", "11", None, "8|12", "10", ""]  # numbers held as strings
EVENTS = {"purchase": np.array([0, 3]), "Click": np.array([1, 2, 3]), "stream": np.array([6])}


def catalogue(**request) -> FilterContext:
    ctx = FilterContext(
        n_items=8,
        item_attrs={
            "GENRE": np.array(GENRE, dtype=object),
            "PRICE": np.array(PRICE),
            "CREATION_TIMESTAMP": np.array(CREATED, dtype=np.int64),
            "STUDIO": np.array(STUDIO, dtype=object),
            "CATEGORY_L1": np.array(CATEGORY_L1, dtype=object),
            "CATEGORY_L2": np.array(CATEGORY_L2, dtype=object),
            "SIZE": np.array(SIZE, dtype=object),
        },
        item_ids=np.array([f"i{i}" for i in range(8)], dtype=object),
    )
    return ctx.for_request(**request)


def allowed(text: str, values=None, **request) -> set[int]:
    mask = compile_filter(text).apply(catalogue(**request), values)
    assert mask.dtype == bool and mask.shape == (8,)
    return set(np.flatnonzero(mask).tolist())


ALL = set(range(8))

# ---- the spec's and the guide's examples ----------------------------------------------------


def test_exclude_purchased_items():
    text = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")'
    assert allowed(text, user_events=EVENTS) == ALL - {0, 3}


def test_include_genre_parameter():
    text = "INCLUDE ItemID WHERE Items.GENRE IN ($GENRE)"
    assert allowed(text, {"GENRE": '"Comedy","Drama"'}) == {1, 2, 3}
    assert allowed(text, {"GENRE": '"Crime"'}) == {0, 7}


def test_include_cheaper_than_current_item():
    text = "INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE"
    assert allowed(text, current_item=3) == {0, 2, 7}  # 10, 5, 12 < 15; item 4 has no price
    assert allowed(text, current_item=2) == set()
    assert allowed(text, current_item=4) == set()  # the current item has no price


def test_include_created_after_date():
    text = "INCLUDE ItemID WHERE Items.CREATION_TIMESTAMP > $DATE"
    assert allowed(text, {"DATE": '"450"'}) == {4, 5, 6, 7}
    assert allowed(text, {"DATE": "450"}) == {4, 5, 6, 7}
    assert allowed(text, {"DATE": 800}) == set()


def test_exclude_clicked_or_streamed():
    text = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "stream")'
    # Event types match ignoring case: the history says "Click".
    assert allowed(text, user_events=EVENTS) == ALL - {1, 2, 3, 6}


def test_include_only_clicked():
    text = 'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")'
    assert allowed(text, user_events=EVENTS) == {1, 2, 3}


def test_event_type_star_means_any_interaction():
    text = 'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")'
    assert allowed(text, user_events=EVENTS) == {0, 1, 2, 3, 6}


def test_event_type_parameter():
    text = "EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ($EVENT_TYPE)"
    assert allowed(text, {"EVENT_TYPE": '"purchase","stream"'}, user_events=EVENTS) == {
        1,
        2,
        4,
        5,
        7,
    }


def test_interactions_not_in():
    # Items the user interacted with through some event other than a purchase.
    text = 'INCLUDE ItemID WHERE Interactions.EVENT_TYPE NOT IN ("purchase")'
    assert allowed(text, user_events=EVENTS) == {1, 2, 3, 6}


def test_interactions_of_an_unknown_user():
    assert allowed('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")') == ALL
    assert allowed('INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")') == set()


def test_whole_history_is_seen_not_only_the_latest_100_events():
    ctx = FilterContext(n_items=1000).for_request(user_events={"view": np.arange(1000)})
    flt = compile_filter('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("view")')
    assert not flt.apply(ctx).any()


def test_exclude_category_levels():
    text = (
        'EXCLUDE ItemID WHERE Items.CATEGORY_L1 IN ("shoe") AND Items.CATEGORY_L2 NOT IN ("boot")'
    )
    # Excluded: shoes whose L2 is not boot (1 sandal, 2 none, 7 sneaker); 5 holds boot.
    assert allowed(text) == ALL - {1, 2, 7}


def test_price_at_most_parameter():
    assert allowed("INCLUDE ItemID WHERE Items.PRICE <= $PRICE", {"PRICE": '"12"'}) == {0, 2, 7}


def test_cheaper_and_same_genre_as_current_item():
    text = (
        "INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE AND Items.GENRE IN CurrentItem.GENRE"
    )
    # Current item 6 (25, no genre): nothing shares its genre.
    assert allowed(text, current_item=6) == set()
    # Current item 1 (20, Comedy): 3 is Comedy but costs 15 < 20.
    assert allowed(text, current_item=1) == {3}
    # Current item 5 (30, Action): 0 is Action|Crime at 10.
    assert allowed(text, current_item=5) == {0}


def test_cheaper_than_current_and_newer_than_date():
    text = (
        "INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE AND Items.CREATION_TIMESTAMP > $DATE"
    )
    assert allowed(text, {"DATE": "250"}, current_item=6) == {2, 3, 7}  # 25 > price, 250 < date


def test_same_studio_as_current_item():
    text = "INCLUDE ItemID WHERE Items.STUDIO = CurrentItem.STUDIO"
    assert allowed(text, current_item=0) == {0, 2, 5}
    text = "EXCLUDE ItemID WHERE Items.STUDIO = CurrentItem.STUDIO"
    assert allowed(text, current_item=0) == {1, 3, 4, 6, 7}


def test_if_current_user_age():
    text = "EXCLUDE ItemID WHERE Items.PRICE < 20 IF CurrentUser.AGE > 18 AND CurrentUser.AGE < 30"
    cheap = {0, 2, 3, 7}
    assert allowed(text, user_attrs={"AGE": 25}) == ALL - cheap
    assert allowed(text, user_attrs={"AGE": 40}) == ALL
    assert allowed(text, user_attrs={"AGE": "25"}) == ALL - cheap  # numbers held as strings
    assert allowed(text, user_attrs={}) == ALL  # no AGE: the IF does not hold
    assert allowed(text) == ALL  # no user


def test_if_current_user_with_parameters():
    text = "EXCLUDE ItemID WHERE Items.GENRE IN ($GENRE) IF CurrentUser.AGE = $AGE"
    values = {"GENRE": '"Crime"', "AGE": '"12"'}
    assert allowed(text, values, user_attrs={"AGE": 12}) == ALL - {0, 7}
    assert allowed(text, values, user_attrs={"AGE": 13}) == ALL


def test_if_current_user_in_multi_valued():
    text = (
        'INCLUDE ItemID WHERE Items.CATEGORY_L1 IN ("watch") IF CurrentUser.MEMBERSHIP IN ("gold")'
    )
    assert allowed(text, user_attrs={"MEMBERSHIP": "silver|gold"}) == {3, 4}
    # The IF fails: the expression is left out, and with no INCLUDE left nothing is restricted.
    assert allowed(text, user_attrs={"MEMBERSHIP": "silver"}) == ALL
    # Attribute names are matched in upper case.
    assert allowed(text, user_attrs={"membership": "gold"}) == {3, 4}


def test_if_current_user_string_equality():
    text = 'INCLUDE ItemID WHERE Items.STUDIO IN ("C") IF CurrentUser.GENDER = "F"'
    assert allowed(text, user_attrs={"GENDER": "F"}) == {3, 6}
    assert allowed(text, user_attrs={"GENDER": "M"}) == ALL


def test_uses_current_item_and_params():
    flt = compile_filter("INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE")
    assert flt.uses_current_item
    assert flt.params == set()
    flt = compile_filter(
        "INCLUDE ItemID WHERE Items.GENRE IN ($GENRE) | "
        "EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ($SEEN) IF CurrentUser.AGE > $AGE"
    )
    assert not flt.uses_current_item
    assert isinstance(flt.params, set)
    assert flt.params == {"GENRE", "SEEN", "AGE"}
    assert flt.include_params == {"GENRE"}
    assert flt.uses_interactions and flt.uses_current_user


def test_current_item_needed():
    flt = compile_filter("INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE")
    with pytest.raises(InvalidInput) as info:
        flt.apply(catalogue())
    assert info.value.code == "REC_INVALID_FILTER"
    assert "related-items" in info.value.message


# ---- combining expressions ------------------------------------------------------------------

COMEDY = 'INCLUDE ItemID WHERE Items.GENRE IN ("Comedy")'
CRIME = 'INCLUDE ItemID WHERE Items.GENRE IN ("Crime")'
NO_COMEDY = 'EXCLUDE ItemID WHERE Items.GENRE IN ("Comedy")'
NO_CHEAP = "EXCLUDE ItemID WHERE Items.PRICE < 13"


def test_includes_are_united():
    assert allowed(f"{COMEDY} | {CRIME}") == {1, 3} | {0, 7}


def test_excludes_are_united():
    assert allowed(f"{NO_COMEDY} | {NO_CHEAP}") == ALL - {1, 3} - {0, 2, 7}


def test_include_minus_exclude_in_any_order():
    expected = ({1, 3} | {0, 7}) - {0, 2, 7}
    assert allowed(f"{COMEDY} | {CRIME} | {NO_CHEAP}") == expected
    assert allowed(f"{NO_CHEAP} | {COMEDY} | {CRIME}") == expected
    assert allowed(f"{CRIME} | {NO_CHEAP}\n| {COMEDY}") == expected


def test_include_and_exclude_of_the_guide():
    text = (
        "INCLUDE ItemID WHERE Items.GENRE IN ($GENRE) | "
        'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "stream")'
    )
    got = allowed(text, {"GENRE": '"Comedy","Drama"'}, user_events=EVENTS)
    assert got == {1, 2, 3} - {1, 2, 3}
    got = allowed(text, {"GENRE": '"Action","Crime"'}, user_events=EVENTS)
    assert got == {0, 5, 7}


def test_and_binds_before_or():
    text = (
        'INCLUDE ItemID WHERE Items.STUDIO IN ("A") AND Items.PRICE > 20 OR Items.STUDIO IN ("C")'
    )
    assert allowed(text) == {5} | {3, 6}
    text = (
        'INCLUDE ItemID WHERE Items.STUDIO IN ("C") OR Items.STUDIO IN ("A") AND Items.PRICE > 20'
    )
    assert allowed(text) == {3, 6} | {5}


def test_or_within_one_dataset():
    text = 'INCLUDE ItemID WHERE Items.GENRE IN ("Drama") OR Items.PRICE >= 30'
    assert allowed(text) == {2, 3, 5}


# ---- parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('"Comedy","Drama"', ("Comedy", "Drama")),
        ('"Comedy", "Drama"', ("Comedy", "Drama")),
        ('  "Comedy"  ', ("Comedy",)),
        ('"Sci-Fi, Fantasy","Drama"', ("Sci-Fi, Fantasy", "Drama")),
        (r'"say \"hi\"","back\\slash"', ('say "hi"', "back\\slash")),
        ("Comedy, Drama", ("Comedy", "Drama")),
        ("10", ("10",)),
        ("", ()),
        (["Comedy", "Drama"], ("Comedy", "Drama")),
        (("x",), ("x",)),
        ([1999, 2.5], ("1999", "2.5")),
        (1594835000, ("1594835000",)),
        (12.0, ("12",)),
    ],
)
def test_filter_values_forms(raw, expected):
    assert parse_filter_values({"P": raw}) == {"P": expected}


def test_filter_values_dollar_prefix_and_none():
    assert parse_filter_values({"$GENRE": '"x"'}) == {"GENRE": ("x",)}
    assert parse_filter_values(None) == {}


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ('"Comedy', "no closing quote"),
        ('"Comedy" "Drama"', "comma is missing"),
        ('"Comedy",,"Drama"', "empty value"),
        ('"Comedy",', "empty value"),
        ('Com"edy', "stray quote"),
        (True, "give a string"),
        (None, "give a string"),
        ({"a": 1}, "give a string"),
        ([["nested"]], "values are strings or numbers"),
    ],
)
def test_filter_values_errors(raw, fragment):
    with pytest.raises(InvalidInput) as info:
        parse_filter_values({"GENRE": raw})
    assert info.value.code == "REC_FILTER_VALUES"
    assert fragment in info.value.message
    assert "GENRE" in info.value.message
    assert info.value.hint


def test_filter_values_not_a_mapping():
    with pytest.raises(InvalidInput) as info:
        parse_filter_values(["GENRE"])  # type: ignore[arg-type]
    assert info.value.code == "REC_FILTER_VALUES"


def test_missing_include_parameter_is_an_error():
    flt = compile_filter(
        "INCLUDE ItemID WHERE Items.GENRE IN ($GENRE) AND Items.PRICE < $PRICE | "
        "EXCLUDE ItemID WHERE Items.STUDIO IN ($STUDIO)"
    )
    with pytest.raises(InvalidInput) as info:
        flt.apply(catalogue(), {"GENRE": '"Comedy"'})
    assert info.value.code == "REC_FILTER_VALUES"
    assert "$PRICE" in info.value.message
    assert "$STUDIO" not in info.value.message
    with pytest.raises(InvalidInput) as info:
        flt.apply(catalogue(), None)
    assert "$GENRE, $PRICE" in info.value.message
    # An empty value counts as missing.
    with pytest.raises(InvalidInput, match=r"\$GENRE"):
        flt.apply(catalogue(), {"GENRE": "", "PRICE": "100"})


def test_missing_if_parameter_of_an_include_is_an_error():
    flt = compile_filter('INCLUDE ItemID WHERE Items.GENRE IN ("Comedy") IF CurrentUser.AGE > $AGE')
    with pytest.raises(InvalidInput, match=r"\$AGE") as info:
        flt.apply(catalogue(user_attrs={"AGE": 30}))
    assert info.value.code == "REC_FILTER_VALUES"


def test_exclude_without_its_parameter_is_dropped():
    text = f"{COMEDY} | EXCLUDE ItemID WHERE Items.STUDIO IN ($STUDIO)"
    assert allowed(text) == {1, 3}
    assert allowed(text, {"STUDIO": ""}) == {1, 3}
    assert allowed(text, {"STUDIO": '"C"'}) == {1}
    # Only the expression that lacks its value is dropped.
    text = f"EXCLUDE ItemID WHERE Items.STUDIO IN ($STUDIO) | {NO_CHEAP}"
    assert allowed(text) == ALL - {0, 2, 7}
    # Dropped as a whole, even when its other conditions have values.
    text = 'EXCLUDE ItemID WHERE Items.STUDIO IN ($STUDIO) OR Items.GENRE IN ("Drama")'
    assert allowed(text) == ALL


def test_unknown_parameter_is_an_error():
    flt = compile_filter("INCLUDE ItemID WHERE Items.GENRE IN ($GENRE)")
    with pytest.raises(InvalidInput) as info:
        flt.apply(catalogue(), {"GENRE": '"x"', "GENRES": '"y"'})
    assert info.value.code == "REC_FILTER_VALUES"
    assert "$GENRES" in info.value.message
    assert "GENRE" in (info.value.hint or "")
    # Parameter names are case-sensitive.
    with pytest.raises(InvalidInput, match=r"\$genre"):
        flt.apply(catalogue(), {"genre": '"Comedy"'})


def test_compared_parameter_takes_one_number():
    flt = compile_filter("INCLUDE ItemID WHERE Items.PRICE < $PRICE")
    with pytest.raises(InvalidInput, match="one value") as info:
        flt.apply(catalogue(), {"PRICE": '"10","20"'})
    assert info.value.code == "REC_FILTER_VALUES"
    with pytest.raises(InvalidInput, match="as a number") as info:
        flt.apply(catalogue(), {"PRICE": '"cheap"'})
    assert info.value.code == "REC_FILTER_VALUES"


def test_parameter_given_as_a_list():
    text = "INCLUDE ItemID WHERE Items.GENRE IN ($GENRE)"
    assert allowed(text, {"GENRE": ["Crime", "Drama"]}) == {0, 2, 3, 7}


# ---- attribute values -----------------------------------------------------------------------


def test_multi_valued_attributes_match_any_value():
    assert allowed('INCLUDE ItemID WHERE Items.GENRE IN ("Crime")') == {0, 7}
    assert allowed('INCLUDE ItemID WHERE Items.GENRE IN ("Action", "Comedy")') == {0, 1, 3, 5}
    # NOT IN: none of its values is listed; an item with no genre (4, 6) is NOT IN any list.
    assert allowed('INCLUDE ItemID WHERE Items.GENRE NOT IN ("Crime")') == {1, 2, 3, 4, 5, 6}
    assert allowed('EXCLUDE ItemID WHERE Items.GENRE NOT IN ("Crime")') == {0, 7}


def test_values_are_exact_strings():
    assert allowed('INCLUDE ItemID WHERE Items.GENRE IN ("comedy")') == set()
    assert allowed('INCLUDE ItemID WHERE Items.GENRE IN ("Action|Crime")') == set()
    assert allowed('INCLUDE ItemID WHERE Items.GENRE IN ("Act")') == set()


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("Items.PRICE < 12", {0, 2}),
        ("Items.PRICE <= 12", {0, 2, 7}),
        ("Items.PRICE > 20", {5, 6}),
        ("Items.PRICE >= 20", {1, 5, 6}),
        ("Items.PRICE = 15", {3}),
        ("Items.PRICE != 15", ALL - {3}),
        ("Items.PRICE = 15.0", {3}),
        ("Items.PRICE > -1", ALL - {4}),  # no price: no comparison holds
        ("Items.PRICE IN (5, 30)", {2, 5}),
        ("Items.CREATION_TIMESTAMP >= 7e2", {6, 7}),
        ("Items.CREATION_TIMESTAMP IN (100, 800)", {0, 7}),
        ('Items.CREATION_TIMESTAMP IN ("100")', {0}),
        ("Items.SIZE > 9.5", {0, 3, 5, 6}),  # strings that hold numbers; 5 is 8|12
        ("Items.SIZE < 9", {5}),
        ('Items.SIZE IN ("10")', {0, 6}),
        ('Items.STUDIO = "B"', {1, 4, 7}),
        ('Items.STUDIO != "B"', ALL - {1, 4, 7}),
    ],
)
def test_comparisons(condition, expected):
    assert allowed(f"INCLUDE ItemID WHERE {condition}") == expected


def test_item_ids():
    assert allowed('EXCLUDE ItemID WHERE Items.ITEM_ID IN ("i1", "i5", "nope")') == ALL - {1, 5}
    assert allowed("INCLUDE ItemID WHERE Items.ITEM_ID IN ($IDS)", {"IDS": '"i2"'}) == {2}


def test_keywords_and_names_are_case_insensitive():
    text = 'include itemid where items.genre in ("Comedy") | exclude ITEMID WHERE ITEMS.price < 16'
    assert allowed(text) == {1}


def test_unknown_field_when_applied():
    flt = compile_filter('INCLUDE ItemID WHERE Items.GENRES IN ("Comedy")')
    with pytest.raises(FilterSyntaxError) as info:
        flt.apply(catalogue())
    err = info.value
    assert err.code == "REC_INVALID_FILTER"
    assert (err.line, err.column) == (1, 28)
    assert "GENRE" in (err.hint or "")
    assert err.render().splitlines()[2].index("^") == 2 + 27


def test_unknown_field_when_compiled_with_the_schema():
    text = "INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRCE"
    compile_filter(text)  # no schema: accepted
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter(text, item_fields=["PRICE", "GENRE"])
    assert (info.value.line, info.value.column) == (1, 48)
    assert "PRICE" in (info.value.hint or "")
    with pytest.raises(FilterSyntaxError, match="AGE"):
        compile_filter(
            'INCLUDE ItemID WHERE Items.GENRE IN ("x") IF CurrentUser.AGE > 3',
            item_fields=["GENRE"],
            user_fields=["GENDER"],
        )
    compile_filter(
        "INCLUDE ItemID WHERE Items.item_id IN ($IDS) IF CurrentUser.age > 3",
        item_fields=["GENRE"],
        user_fields=["AGE"],
    )


def test_user_id_filters_parse_but_do_not_filter_items():
    flt = compile_filter(
        "INCLUDE UserID WHERE Users.MEMBERSHIP_STATUS IN ($MEMBERSHIP) | "
        "EXCLUDE UserID WHERE Users.AGE < $AGE"
    )
    assert flt.target == "UserID"
    assert flt.params == {"MEMBERSHIP", "AGE"}
    with pytest.raises(NotSupported):
        flt.apply(catalogue(), {"MEMBERSHIP": '"gold"'})
    other = compile_filter('INCLUDE UserID WHERE Interactions.EVENT_TYPE IN ("click", "rating")')
    assert other.expressions[0].dataset == "Interactions"


# ---- the context is reused ------------------------------------------------------------------


def test_requests_share_the_catalogue_index():
    base = catalogue()
    one = base.for_request(user_attrs={"AGE": 1})
    two = one.for_request(current_item=3)
    assert one.index is base.index and two.index is base.index
    assert two.user_attrs is None and two.current_item == 3
    compile_filter('INCLUDE ItemID WHERE Items.GENRE IN ("Comedy")').apply(one)
    postings = base.items.postings("GENRE")
    numbers = base.items.numbers("PRICE")
    compile_filter('EXCLUDE ItemID WHERE Items.GENRE IN ("Drama")').apply(two)
    assert two.items.postings("GENRE") is postings  # built once
    # A new context over the same arrays (one per request) finds them built too.
    fresh = FilterContext(n_items=8, item_attrs=base.item_attrs, item_ids=base.item_ids)
    assert fresh.index is not base.index
    assert fresh.items.postings("genre") is postings
    assert fresh.items.numbers("PRICE") is numbers
    # Replaced arrays are indexed afresh.
    other = FilterContext(n_items=8, item_attrs={"GENRE": np.array(GENRE, dtype=object)})
    assert other.items.postings("GENRE") is not postings
    assert other.items.postings("GENRE").keys() == postings.keys()


def test_compiled_filters_are_reused():
    text = 'INCLUDE ItemID WHERE Items.GENRE IN ("Comedy")'
    assert compile_filter(text) is compile_filter(text)
    assert isinstance(compile_filter(text), Filter)


def test_masks_match_a_plain_reading_on_a_larger_catalogue():
    rng = random.Random(7)
    n = 3000
    genres = ["Action", "Comedy", "Drama", "Crime", "Horror"]
    genre = [
        "|".join(rng.sample(genres, rng.randint(1, 2))) if rng.random() > 0.1 else None
        for _ in range(n)
    ]
    price = [rng.choice([NAN, *range(1, 50)]) for _ in range(n)]
    seen = {"view": np.array(rng.sample(range(n), 400)), "buy": np.array(rng.sample(range(n), 50))}
    ctx = FilterContext(
        n_items=n,
        item_attrs={"GENRE": np.array(genre, dtype=object), "PRICE": np.array(price)},
    ).for_request(user_events=seen, current_item=5)
    text = (
        "INCLUDE ItemID WHERE Items.GENRE IN ($G) OR Items.PRICE < 10"
        ' AND Items.GENRE NOT IN ("Drama")'
        ' | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("BUY")'
        " | EXCLUDE ItemID WHERE Items.PRICE >= CurrentItem.PRICE"
    )
    mask = compile_filter(text).apply(ctx, {"G": '"Horror","Crime"'})

    def tokens(i):
        return set(genre[i].split("|")) if genre[i] else set()

    bought = set(seen["buy"].tolist())
    cur = price[5]
    expected = []
    for i in range(n):
        inc = bool(tokens(i) & {"Horror", "Crime"}) or (
            not math.isnan(price[i]) and price[i] < 10 and "Drama" not in tokens(i)
        )
        exc = i in bought or (not math.isnan(price[i]) and price[i] >= cur)
        expected.append(inc and not exc)
    assert mask.tolist() == expected
    assert 0 < mask.sum() < n


# ---- syntax errors --------------------------------------------------------------------------


def caret_column(err: SqlSyntaxError) -> int:
    lines = err.render().splitlines()
    caret = next(line for line in lines if line.strip() == "^")
    return caret.index("^") - 1  # the snippet is indented by two spaces; columns count from 1


ERRORS = [
    # (text, the word the caret sits under, a fragment of the message, a fragment of the hint)
    ('EXCLUD ItemID WHERE Items.A IN ("x")', "EXCLUD", "expected INCLUDE or EXCLUDE", "EXCLUDE"),
    ('INCLUDE ItemID WHER Items.A IN ("x")', "WHER", "expected WHERE", "'WHERE'"),
    ('INCLUDE ItemID WHERE Items.A IM ("x")', "IM", "expected", "'IN'"),
    ('INCLUDE ItemID WHERE Items.A NOTIN ("x")', "NOTIN", "expected", "'NOT IN'"),
    ('INCLUDE ItemID WHERE Items.A IN ("x") ADN Items.B IN ("y")', "ADN", "AND or OR", "'AND'"),
    ('INCLUDE ItemID WHERE Itemz.A IN ("x")', "Itemz", "unknown dataset 'Itemz'", "'Items'"),
    ('INCLUDE ItemID WHERE Item.A IN ("x")', "Item", "unknown dataset", "'Items'"),
    ('INCLUDE ItemID WHERE Orders.A IN ("x")', "Orders", "unknown dataset", "Interactions"),
    (
        'INCLUDE ItemId WHERE Items.A IN ("x")|INCLUDE ItmID WHERE Items.A IN ("y")',
        "ItmID",
        "unknown element",
        "'ItemID'",
    ),
    (
        'EXCLUDE ItemID WHERE Interactions.DEVICE IN ("x")',
        "DEVICE",
        "EVENT_TYPE only",
        "EVENT_TYPE",
    ),
    (
        "EXCLUDE ItemID WHERE Interactions.EVENT_TYPE = $E",
        "Interactions",
        "IN or NOT IN",
        "IN",
    ),
    (
        'INCLUDE ItemID WHERE Items.GENRE IN ("x") AND Interactions.EVENT_TYPE IN ("click")',
        "Interactions",
        "dataset of the first condition (Items)",
        "|",
    ),
    (
        'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click") OR Items.PRICE > 3',
        "Items",
        "(Interactions)",
        "|",
    ),
    ('INCLUDE ItemID WHERE Items.GENRE IN ("a", "b"', "", "expected ',', ')'", "column 37"),
    ('INCLUDE ItemID WHERE Items.GENRE IN (\n  "a",\n  "b"', "", "end of input", "line 1"),
    ('INCLUDE ItemID WHERE Items.GENRE IN ("a"', "", "end of input", "no closing )"),
    ("INCLUDE ItemID WHERE Items.GENRE IN ('a')", "'a'", "unexpected", "double quotes"),
    ('INCLUDE ItemID WHERE Items.GENRE IN ("a)', '"a)', "unexpected", "no closing"),
    ("INCLUDE ItemID WHERE Items.GENRE IN (Comedy)", "Comedy", "expected '.'", '"Comedy"'),
    ('INCLUDE ItemID WHERE Items.GENRE IN "Comedy"', '"Comedy"', "expected", "parentheses"),
    ("INCLUDE ItemID WHERE Items.PRICE == 3", "=", "unexpected", "single ="),
    ('INCLUDE ItemID WHERE Items.PRICE < "3"', '"3"', "compares numbers", "number"),
    ("INCLUDE ItemID WHERE Items.GENRE NOT IN ($G)", "$G", "NOT IN", "opposite action"),
    ('INCLUDE ItemID WHERE Items.GENRE IN ("a", $G)', "Items", "stands alone", "IN ($GENRE)"),
    ('EXCLUDE WHERE Items.A IN ("x")', "Items", "expected WHERE", "ItemID"),
    ('INCLUDE ItemID Items.A IN ("x")', "Items", "expected WHERE", "add WHERE"),
    (
        'INCLUDE ItemID WHERE Items.A IN ("x") EXCLUDE ItemID WHERE Items.B IN ("y")',
        "EXCLUDE",
        "unexpected",
        "join expressions with |",
    ),
    ("INCLUDE ItemID WHERE Users.AGE > 18", "Users", "cannot test Users", "IF CurrentUser.AGE"),
    ("INCLUDE ItemID WHERE CurrentUser.AGE > 18", "CurrentUser", "IF clause", "IF CurrentUser"),
    ("INCLUDE ItemID WHERE CurrentItem.PRICE > 1", "CurrentItem", "right-hand", "Items.PRICE"),
    ("INCLUDE ItemID WHERE Items.PRICE > Items.COST", "Items", "right-hand side", "CurrentItem"),
    (
        'INCLUDE ItemID WHERE Items.A IN ("x") IF Items.B IN ("y")',
        "Items",
        "IF only tests CurrentUser",
        "CurrentUser",
    ),
    (
        'INCLUDE ItemID WHERE Items.A IN ("x") IF CurrentUser.AGE > 3 OR CurrentUser.B = "y"',
        "OR",
        "joined with AND only",
        "|",
    ),
    (
        'INCLUDE ItemID WHERE Items.A IN ("x") IF CurrentUser.AGE > 3 IF CurrentUser.B = "y"',
        "IF",
        "unexpected",
        "one IF",
    ),
    ('INCLUDE ActionID WHERE Items.A IN ("x")', "ActionID", "not supported", "Actions"),
    (
        'INCLUDE ItemID WHERE Items.A IN ("x") |\n  EXCLUDE UserID WHERE Users.AGE < 3',
        "UserID",
        "filters UserID",
        "same thing",
    ),
    ('INCLUDE UserID WHERE Items.A IN ("x")', "Items", "UserID filter", "Users"),
    ("   ", "", "empty", "INCLUDE ItemID"),
    ('INCLUDE ItemID WHERE (Items.A IN ("x"))', "(", "unexpected", "parentheses"),
]


@pytest.mark.parametrize(("text", "at", "message", "hint"), ERRORS)
def test_syntax_errors(text, at, message, hint):
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter(text)
    err = info.value
    assert err.code == "REC_INVALID_FILTER"
    assert isinstance(err, InvalidInput) and isinstance(err, ValueError)
    assert message in err.message, err.render()
    assert hint in (err.hint or ""), err.render()
    assert err.line is not None and err.column is not None
    if at:
        lines = text.splitlines()
        line = lines[err.line - 1]
        assert line[err.column - 1 :].startswith(at), err.render()
        assert caret_column(err) == err.column
    elif text.strip():
        # At the end of the input: the caret sits just after the last character.
        last = text.rstrip().splitlines()[-1]
        assert err.line == len(text.rstrip().splitlines())
        assert err.column == len(last) + 1


def test_error_position_on_a_later_line():
    text = 'INCLUDE ItemID WHERE Items.GENRE IN ("Comedy")\n| EXCLUDE ItemID WHER Items.A IN ("x")'
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter(text)
    err = info.value
    assert (err.line, err.column) == (2, 18)
    rendered = err.render()
    assert rendered.startswith("REC_INVALID_FILTER: unexpected 'WHER'")
    assert "at line 2, column 18" in rendered
    assert '\n  | EXCLUDE ItemID WHER Items.A IN ("x")\n' in rendered
    assert re.search(r"\n {19}\^\n", rendered)
    assert err.to_dict()["line"] == 2 and err.to_dict()["column"] == 18
    assert err.to_dict()["code"] == "REC_INVALID_FILTER"


def test_the_unclosed_paren_is_named():
    text = 'INCLUDE ItemID WHERE Items.GENRE IN ("a", "(", "b"'
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter(text)
    assert info.value.hint == "the ( at line 1, column 37 has no closing )"


def test_long_parameter_names_are_refused():
    with pytest.raises(FilterSyntaxError, match="at most 50"):
        compile_filter(f"INCLUDE ItemID WHERE Items.A IN (${'P' * 51})")
    compile_filter(f"INCLUDE ItemID WHERE Items.A IN (${'P' * 50})")
