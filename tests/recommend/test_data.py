"""Datasets: Personalize's schema rules and minimum data, indexing, item features."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from oaklake.app import Lake
from oaklake.errors import OakError
from oaklake.recommend import data


def interactions(
    n_users: int = 60, per_user: int = 20, n_items: int = 50, seed: int = 1
) -> pa.Table:
    rng = np.random.default_rng(seed)
    users = np.repeat([f"u{i}" for i in range(n_users)], per_user)
    items = [f"i{x}" for x in rng.integers(0, n_items, size=len(users))]
    times = 1_700_000_000 + rng.integers(0, 86_400 * 30, size=len(users))
    types = rng.choice(["view", "purchase"], size=len(users), p=[0.8, 0.2])
    return pa.table(
        {"user_id": users.tolist(), "item_id": items, "timestamp": times, "event_type": types}
    )


def test_build_indexes_users_and_items() -> None:
    ds = data.build(interactions())
    assert ds.train.matrix.shape == (60, len(ds.item_ids))
    assert ds.stats["interactions"] == 1200
    assert set(ds.stats["event_types"]) == {"view", "purchase"}
    assert np.all(np.diff(ds.train.events_time) >= 0)  # events sorted by time
    # the matrix says who interacted with what
    u, i = ds.user_index()["u3"], ds.train.events_item[ds.train.events_user == 3][0]
    assert ds.user_ids[3] == "u3" and ds.train.matrix[u, i] == 1.0


def test_event_type_filter_and_timestamps_as_timestamps() -> None:
    t = interactions()
    ds = data.build(t, event_types=["purchase"], check_minimum=False)
    assert ds.stats["event_types"] == ["purchase"]
    assert ds.stats["interactions"] < 400
    as_ts = t.set_column(
        2, "timestamp", pa.array(t.column("timestamp").to_numpy() * 1_000_000, pa.timestamp("us"))
    )
    assert data.build(as_ts).stats["first_timestamp"] == data.build(t).stats["first_timestamp"]
    millis = t.set_column(2, "timestamp", pa.array(t.column("timestamp").to_numpy() * 1000))
    assert data.build(millis).stats["last_timestamp"] == data.build(t).stats["last_timestamp"]


def test_minimum_data() -> None:
    with pytest.raises(OakError) as info:
        data.build(interactions(n_users=10, per_user=20))
    assert info.value.code == "REC_NOT_ENOUGH_DATA" and "200 interactions" in info.value.message
    with pytest.raises(OakError) as info:
        data.build(interactions(n_users=1000, per_user=1))
    assert info.value.code == "REC_NOT_ENOUGH_DATA" and "2 or more" in info.value.message


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda t: t.drop(["item_id"]), "ITEM_ID"),
        (lambda t: t.drop(["timestamp"]), "TIMESTAMP"),
        (
            lambda t: t.set_column(0, "user_id", pa.array([None, *t.column(0).to_pylist()[1:]])),
            "no USER_ID",
        ),
        (
            lambda t: t.set_column(
                1, "item_id", pa.array(["x" * 300, *t.column(1).to_pylist()[1:]])
            ),
            "256",
        ),
        (lambda t: t.set_column(2, "timestamp", pa.array(["soon"] * t.num_rows)), "Unix epoch"),
    ],
)
def test_bad_interactions(change, says) -> None:
    with pytest.raises(OakError) as info:
        data.build(change(interactions()))
    assert info.value.code == "REC_INVALID_DATASET" and says in info.value.message
    assert info.value.hint


def test_items_dataset_adds_cold_items_and_features() -> None:
    items = pa.table(
        {
            "ITEM_ID": [f"i{x}" for x in range(55)],  # i50..i54 never interacted with
            "CATEGORY": ["toys|games" if x % 2 else "books" for x in range(55)],
            "PRICE": [float(x) for x in range(55)],
            "CREATION_TIMESTAMP": [1_700_000_000 + x for x in range(55)],
        }
    )
    ds = data.build(interactions(), items=items)
    assert len(ds.item_ids) == 55 and ds.train.n_items == 55
    assert ds.train.matrix[:, ds.item_index()["i54"]].nnz == 0
    names = ds.train.feature_names
    assert {"CATEGORY=toys", "CATEGORY=games", "CATEGORY=books"} <= set(names)
    assert any(n.startswith("PRICE=q") for n in names)
    row = ds.train.item_features[ds.item_index()["i1"]].toarray()[0]
    assert row[names.index("CATEGORY=toys")] == 1 and row[names.index("CATEGORY=games")] == 1
    assert ds.train.item_created[ds.item_index()["i54"]] == 1_700_000_054
    assert (
        "CREATION_TIMESTAMP" not in ds.item_attrs and ds.item_attrs["CATEGORY"][1] == "toys|games"
    )


def test_bad_attribute_datasets() -> None:
    with pytest.raises(OakError) as info:
        data.build(interactions(), users=pa.table({"USER_ID": ["u1"]}))
    assert "at least one attribute" in info.value.message
    with pytest.raises(OakError) as info:
        data.build(interactions(), items=pa.table({"ITEM_ID": ["i1", "i1"], "C": ["a", "b"]}))
    assert "twice" in info.value.message
    with pytest.raises(OakError) as info:
        data.build(interactions(), items=pa.table({"ITEM_ID": ["i1"], "C": ["x" * 1001]}))
    assert "1000" in info.value.message


def test_load_from_tables_and_sql(lake: Lake) -> None:
    lake.sql("CREATE SCHEMA shop")
    lake.sql(
        "CREATE TABLE shop.inter "
        "(user_id string, item_id string, timestamp bigint, event_type string)"
    )
    lake.table("shop.inter").append(interactions())
    ds = data.load(lake, "shop.inter")
    assert ds.stats["interactions"] == 1200
    ds = data.load(
        lake,
        "SELECT user_id, item_id, timestamp FROM shop.inter WHERE event_type = 'view'",
        check_minimum=False,
    )
    assert ds.stats["event_types"] == []
    with pytest.raises(OakError) as info:
        data.load(lake, "shop.nope")
    assert info.value.code == "TABLE_NOT_FOUND"
    with pytest.raises(OakError) as info:
        data.load(lake, "not a table; drop")
    assert info.value.code == "INVALID_INPUT"


def users_table(n: int = 60, extra: int = 3) -> pa.Table:
    """Users u0..u59 (all in ``interactions()``) plus ``extra`` users with no interactions."""
    ids = [f"u{i}" for i in range(n + extra)]
    return pa.table(
        {
            "USER_ID": ids,
            "GENDER": ["F" if i % 3 else "M" for i in range(n + extra)],
            "INTERESTS": ["Running|yoga" if i % 2 else "chess" for i in range(n + extra)],
            "AGE": pa.array([18 + i for i in range(n + extra)], pa.int32()),
            "EMAIL": [f"user{i}@example.com" for i in range(n + extra)],
            "CITY": [f"city {i % 55}" for i in range(n + extra)],
            "VIP": [i % 4 == 0 for i in range(n + extra)],
        }
    )


def test_users_dataset_gives_binary_user_features() -> None:
    ds = data.build(interactions(), users=users_table())
    t = ds.train
    assert t.user_features.shape == (63, len(t.user_feature_names)) and t.n_users == 63
    names = t.user_feature_names
    # categorical values split on |, lower case; booleans are categories
    assert {
        "GENDER=f",
        "GENDER=m",
        "INTERESTS=running",
        "INTERESTS=yoga",
        "INTERESTS=chess",
    } <= set(names)
    assert {"VIP=true", "VIP=false"} <= set(names)
    # numbers in 5 quantile bins labelled from their edges (ages 18..80: 30.4, 42.8, …)
    ages = [n for n in names if n.startswith("AGE ")]
    assert ages == ["AGE 18-30", "AGE 31-42", "AGE 43-55", "AGE 56-67", "AGE 68-80"]
    # one value per user (EMAIL) and more than 50 values (CITY) are no features
    assert not any(n.startswith(("EMAIL", "CITY")) for n in names)
    assert ds.stats["user_attributes_skipped"] == {
        "EMAIL": "a different value for every user",
        "CITY": "55 distinct values (more than 50)",
    }
    assert ds.stats["user_features"] == len(names)
    # rows are users: u1 is F, likes running and yoga, 19, not VIP; a user without interactions
    # has a row too
    index = ds.user_index()
    row = t.user_features[index["u1"]].toarray()[0]
    on = {names[j] for j in np.flatnonzero(row)}
    assert on == {"GENDER=f", "INTERESTS=running", "INTERESTS=yoga", "AGE 18-30", "VIP=false"}
    assert t.user_features[index["u62"]].nnz == 4 and t.matrix[index["u62"]].nnz == 0
    assert set(t.user_features.data) == {1.0}


def test_user_feature_spec_encodes_new_values_like_training() -> None:
    ds = data.build(interactions(), users=users_table())
    spec, names = ds.user_feature_spec, ds.train.user_feature_names
    attrs = {
        "GENDER": np.array(["f", None, "X"], dtype=object),  # an unseen value: no feature
        "AGE": np.array([5, 31, 99], dtype=object),  # outside the training range: the end bins
        "INTERESTS": np.array(["YOGA | chess", "", None], dtype=object),
    }
    rows = data.encode_user_features(attrs, spec, 3)
    assert rows.shape == (3, len(names))
    got = [sorted(names[j] for j in rows[u].indices) for u in range(3)]
    assert got == [
        ["AGE 18-30", "GENDER=f", "INTERESTS=chess", "INTERESTS=yoga"],
        ["AGE 31-42"],
        ["AGE 68-80"],
    ]
    # the spec is plain JSON: it is stored with a version and read back by serving
    import json

    assert json.loads(json.dumps(spec)) == spec


def test_numeric_columns_with_few_values_are_categories() -> None:
    spec, skipped = data.user_feature_spec(
        {"KIDS": np.array([0, 1, 2, 1, None, 2.0], dtype=object)}
    )
    assert spec == [{"column": "KIDS", "kind": "categorical", "values": ["0", "1", "2"]}]
    assert skipped == {}
    spec, skipped = data.user_feature_spec({"EMPTY": np.array([None, None], dtype=object)})
    assert spec == [] and skipped == {"EMPTY": "no values"}
