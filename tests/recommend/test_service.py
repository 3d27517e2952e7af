"""Recommenders end to end on the generated shop: create, train (with metrics), serve with
filters, back-fill and reasons, real-time events, batch jobs, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import oaklake
from oaklake.app import Lake
from oaklake.errors import OakError
from oaklake.recommend import sample


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    root = tmp_path_factory.mktemp("rec")
    lake = oaklake.init(root / "ws")
    tables = sample.shop(users=600, items=300, days=60, seed=3)
    lake.sql("CREATE SCHEMA shop")
    for name, path in sample.write_csv(tables, root / "csv").items():
        lake.ingest(path, f"shop.{name}")
    lake.rec_create(
        "foryou", recipe="user-personalization", interactions="shop.interactions",
        users="shop.users", items="shop.items", params={"exploration_weight": 0},
    )  # fmt: skip
    lake.rec_train("foryou")
    lake.rec_create(
        "similar", recipe="similar-items", interactions="shop.interactions", items="shop.items"
    )
    lake.rec_train("similar", evaluate=False)
    lake.rec_create("top", recipe="aws-popularity-count", interactions="shop.interactions",
                    items="shop.items")  # fmt: skip
    lake.rec_train("top", evaluate=False)
    yield lake
    lake.close()


def busiest_user(lake: Lake) -> str:
    return lake.sql(
        "SELECT user_id FROM shop.interactions GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    ).scalar()


def test_training_records_a_version_with_metrics_and_baseline(shop: Lake) -> None:
    d = shop.rec_describe("foryou")
    assert d["recipe"] == "user-personalization" and len(d["versions"]) == 1
    v = d["versions"][0]
    names = {
        "precision_at_5", "precision_at_10", "precision_at_25",
        "normalized_discounted_cumulative_gain_at_5",
        "normalized_discounted_cumulative_gain_at_10",
        "normalized_discounted_cumulative_gain_at_25", "mean_reciprocal_rank_at_25", "coverage",
    }  # fmt: skip
    assert set(v["metrics"]) == names and set(v["baseline"]) == names
    key = "normalized_discounted_cumulative_gain_at_25"
    assert v["metrics"][key] > v["baseline"][key]  # beats popularity
    assert Path(v["path"]).is_dir() and v["stats"]["interactions"] > 1000
    rows = shop.sql("SELECT name, version FROM oaklake_system.rec_versions ORDER BY name").rows
    assert rows == [("foryou", 1), ("similar", 1), ("top", 1)]


def test_recommendations_for_a_known_user_exclude_what_they_saw(shop: Lake) -> None:
    user = busiest_user(shop)
    seen = {
        r[0]
        for r in shop.sql(f"SELECT item_id FROM shop.interactions WHERE user_id = '{user}'").rows
    }
    out = shop.rec_recommend("foryou", user_id=user, num_results=10)
    items = [i["itemId"] for i in out["itemList"]]
    assert len(items) == 10 and len(set(items)) == 10 and not set(items) & seen
    assert out["recommendationId"].startswith("RID-")
    explained = [
        i for i in out["itemList"] if i["reasons"] and i["reasons"][0].startswith("because you")
    ]
    assert explained  # "because you viewed X"


def test_unknown_user_gets_popular_items_with_the_reason(shop: Lake) -> None:
    out = shop.rec_recommend("foryou", user_id="nobody-at-all", num_results=5)
    top = shop.rec_recommend("top", user_id="nobody-at-all", num_results=5)
    assert [i["itemId"] for i in out["itemList"]] == [i["itemId"] for i in top["itemList"]]
    assert all(i["reasons"][0] == "Popular item" for i in out["itemList"])


def test_related_items_and_unknown_item(shop: Lake) -> None:
    item = shop.sql(
        "SELECT item_id FROM shop.interactions GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    ).scalar()
    out = shop.rec_recommend("similar", item_id=item, num_results=5)
    ids = [i["itemId"] for i in out["itemList"]]
    assert item not in ids and len(ids) == 5
    assert out["itemList"][0]["reasons"][0].startswith("similar to")
    cold = shop.rec_recommend("similar", item_id="no-such-item", num_results=3)
    assert all(i["reasons"][0] == "Popular item" for i in cold["itemList"])


def test_filters_restrict_and_backfill(shop: Lake) -> None:
    user = busiest_user(shop)
    category = shop.sql("SELECT category FROM shop.items ORDER BY item_id LIMIT 1").scalar()
    out = shop.rec_recommend(
        "foryou", user_id=user, num_results=20,
        filter="INCLUDE ItemID WHERE Items.CATEGORY IN ($C)", filter_values={"C": f'"{category}"'},
    )  # fmt: skip
    ids = [i["itemId"] for i in out["itemList"]]
    cats = dict(shop.sql("SELECT item_id, category FROM shop.items").rows)
    assert ids and all(cats[i] == category for i in ids)
    bought = "SELECT item_id FROM shop.interactions WHERE event_type = 'purchase' AND user_id = "
    purchased = {r[0] for r in shop.sql(f"{bought}'{user}'").rows}
    out = shop.rec_recommend(
        "foryou", user_id=user, num_results=30,
        filter='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")',
    )  # fmt: skip
    assert not {i["itemId"] for i in out["itemList"]} & purchased
    with pytest.raises(OakError) as info:
        shop.rec_recommend("foryou", user_id=user, filter="INCLUDE ItemID WHER Items.X IN (1)")
    assert info.value.code == "REC_INVALID_FILTER"


def test_num_results_bounds_and_unknown_recommender(shop: Lake) -> None:
    with pytest.raises(OakError) as info:
        shop.rec_recommend("foryou", user_id="x", num_results=501)
    assert info.value.code == "REC_INVALID_ARGUMENT"
    with pytest.raises(OakError) as info:
        shop.rec_recommend("foryuo", user_id="x")
    assert info.value.code == "REC_NOT_FOUND" and "foryou" in (info.value.hint or "")


def test_an_event_changes_the_next_recommendations_at_once(shop: Lake) -> None:
    rt = shop.rec_service().runtime("foryou")
    user = "brand-new-shopper"
    before = shop.rec_recommend("foryou", user_id=user, num_results=10)
    assert all(i["reasons"][0] == "Popular item" for i in before["itemList"])
    item = str(rt.item_ids[5])
    shop.rec_service().put_events(
        {"sessionId": "s-1", "userId": user, "trackingId": "shop.interactions",
         "eventList": [{"eventType": "view", "itemId": item, "sentAt": 1743465600}]}
    )  # fmt: skip
    after = shop.rec_recommend("foryou", user_id=user, num_results=10)
    ids = [i["itemId"] for i in after["itemList"]]
    assert item not in ids and ids != [i["itemId"] for i in before["itemList"]]
    assert any(r.startswith("because you viewed") for i in after["itemList"] for r in i["reasons"])
    shop.rec_service().flush()
    count = shop.sql(
        f"SELECT count(*) FROM shop.interactions WHERE user_id = '{user}' AND item_id = '{item}'"
    ).scalar()
    assert count == 1


def test_anonymous_session_merges_into_the_user(shop: Lake) -> None:
    svc = shop.rec_service()
    rt = svc.runtime("foryou")
    item = str(rt.item_ids[7])
    event = {"eventType": "view", "itemId": item, "sentAt": "2025-04-01T10:00:00Z"}
    body = {"sessionId": "anon-9", "trackingId": "shop.interactions", "eventList": [event]}
    svc.put_events(body)
    assert rt.history_of(rt.user_key("anon-9", None)) == [(7, "view")]
    svc.put_events({**body, "userId": "known-later", "eventList": [
        {"eventType": "purchase", "itemId": item, "sentAt": 1743465700}]})  # fmt: skip
    assert [t for _, t in rt.history_of("known-later")] == ["view", "purchase"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"eventList": [{"eventType": "v", "sentAt": 1}]}, "sessionId"),
        ({"sessionId": "s", "eventList": []}, "eventList"),
        ({"sessionId": "s", "eventList": [{"sentAt": 1}]}, "eventList[0].eventType"),
        ({"sessionId": "s", "eventList": [{"eventType": "v"}]}, "eventList[0].sentAt"),
        ({"sessionId": "s", "eventList": [{"eventType": "v", "sentAt": "noon"}]}, "sentAt"),
        (
            {"sessionId": "s", "eventList": [{"eventType": "v", "sentAt": 1, "eventValue": "x"}]},
            "eventValue",
        ),
    ],
)
def test_malformed_events_name_the_field(shop: Lake, body: dict, field: str) -> None:
    with pytest.raises(OakError) as info:
        shop.rec_service().put_events({"trackingId": "shop.interactions", **body})
    assert info.value.code == "REC_INVALID_EVENT" and field in info.value.message


def test_personalized_ranking_puts_unknown_items_last(shop: Lake) -> None:
    rt = shop.rec_service().runtime("foryou")
    user = busiest_user(shop)
    items = [str(x) for x in rt.item_ids[:6]] + ["not-an-item"]
    out = rt.rank(user, items)
    ranked = out["personalizedRanking"]
    assert sorted(i["itemId"] for i in ranked) == sorted(items)
    assert ranked[-1] == {"itemId": "not-an-item", "score": None, "reasons": []}
    scores = [i["score"] for i in ranked[:-1]]
    assert scores == sorted(scores, reverse=True)


def test_batch_to_jsonl_and_to_a_table(shop: Lake, tmp_path: Path) -> None:
    user = busiest_user(shop)
    inp = tmp_path / "in.jsonl"
    inp.write_text(
        json.dumps({"userId": user}) + "\n" + json.dumps({"userId": "nobody"}) + "\nnot json\n"
    )
    out = shop.rec_batch("foryou", input=inp, output=str(tmp_path / "out.jsonl"), num_results=5)
    assert (out.lines, out.errors) == (3, 1)
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert (
        lines[0]["input"] == {"userId": user} and len(lines[0]["output"]["recommendedItems"]) == 5
    )
    assert len(lines[0]["output"]["scores"]) == 5 and lines[0]["error"] is None
    assert lines[2]["error"] and lines[2]["output"] is None
    res = shop.rec_batch("foryou", all_users=True, output="shop.recs", num_results=3)
    trained_users = len(shop.rec_service().runtime("foryou").user_ids)  # events came since
    assert shop.sql("SELECT count(*), max(rank) FROM shop.recs").rows == [(res.rows, 3)]
    assert res.lines == trained_users and res.rows == 3 * trained_users
    related = tmp_path / "rel.jsonl"
    related.write_text(
        json.dumps({"itemId": str(shop.rec_service().runtime("similar").item_ids[0])}) + "\n"
    )
    shop.rec_batch("similar", input=related, output=str(tmp_path / "rel-out.jsonl"), num_results=4)
    body = json.loads((tmp_path / "rel-out.jsonl").read_text())
    assert len(body["output"]["recommendedItems"]) == 4


def test_create_refuses_bad_input(shop: Lake) -> None:
    with pytest.raises(OakError) as info:
        shop.rec_create("x", recipe="hrnn", interactions="shop.interactions")
    assert info.value.code == "REC_UNKNOWN_RECIPE"
    with pytest.raises(OakError) as info:
        shop.rec_create("x", recipe="sims", interactions="shop.interactions", params={"lamda": 1})
    assert info.value.code == "REC_INVALID_PARAMS"
    with pytest.raises(OakError) as info:
        shop.rec_create("foryou", recipe="sims", interactions="shop.interactions")
    assert info.value.code == "ALREADY_EXISTS"
    with pytest.raises(OakError) as info:
        shop.rec_create("Bad Name", recipe="sims", interactions="shop.interactions")
    assert info.value.code == "INVALID_INPUT"
    with pytest.raises(OakError) as info:
        shop.rec_create("x", recipe="sims", interactions="shop.items")
    assert info.value.code == "REC_INVALID_DATASET"


def test_cli_round_trip(shop: Lake) -> None:
    from click.testing import CliRunner

    from oaklake.cli import app

    ws = str(shop.settings.root)
    r = CliRunner().invoke(app, ["rec", "list", "-w", ws])
    assert r.exit_code == 0 and "foryou" in r.output and "similar" in r.output
    r = CliRunner().invoke(app, ["rec", "describe", "foryou", "-w", ws])
    assert r.exit_code == 0 and "precision_at_5" in r.output and "popularity" in r.output
    r = CliRunner().invoke(
        app, ["rec", "recommend", "foryou", "--user", "nobody", "-n", "3", "-w", ws]
    )
    assert r.exit_code == 0 and r.output.count("Popular item") == 3
    r = CliRunner().invoke(app, ["rec", "recommend", "nope", "--user", "x", "-w", ws])
    assert r.exit_code == 2 and "REC_NOT_FOUND" in r.output
    r = CliRunner().invoke(app, ["rec", "create", "pop2", "--recipe", "popularity-count",
                                 "--interactions", "shop.interactions", "-w", ws])  # fmt: skip
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["rec", "train", "pop2", "--no-evaluate", "--json", "-w", ws])
    assert r.exit_code == 0 and json.loads(r.output)["version"] == 1
    r = CliRunner().invoke(app, ["rec", "delete", "pop2", "-w", ws])
    assert r.exit_code == 0
    assert not (shop.settings.root / ".oaklake" / "models" / "pop2").exists()


def test_train_with_search_picks_parameters_on_validation_users(shop: Lake) -> None:
    shop.rec_create("sims-search", recipe="sims", interactions="shop.interactions")
    version = shop.rec_train("sims-search", search=True, evaluate=False)
    found = version.stats["search"]
    assert set(found["grid"]) == {"popularity_discount_factor"}
    assert len(found["candidates"]) == 4 and found["validation_users"] > 0
    best = max(found["candidates"], key=lambda c: c["ndcg_at_100"])
    assert found["best"] == best["params"]
    assert (
        version.params["popularity_discount_factor"] == best["params"]["popularity_discount_factor"]
    )
    with pytest.raises(OakError) as info:
        shop.rec_train("top", search=True)
    assert info.value.code == "REC_INVALID_PARAMS"
    shop.rec_delete("sims-search")


def test_a_new_user_with_attributes_gets_what_users_like_them_like(shop: Lake) -> None:
    """A user in the users dataset who has not interacted yet is served the items popular with
    users who share their attributes (here: the price segment), not global popularity."""
    newcomers = (
        "SELECT * FROM shop.users UNION ALL "
        "SELECT 'new-premium', NULL, NULL, 'premium' UNION ALL "
        "SELECT 'new-budget', NULL, NULL, 'budget'"
    )
    shop.rec_create(
        "alike", recipe="user-personalization", interactions="shop.interactions",
        users=newcomers, items="shop.items", params={"exploration_weight": 0},
    )  # fmt: skip
    version = shop.rec_train("alike", evaluate=False)
    assert version.params["user_attribute_weight"] > 0
    assert version.stats["user_features"] >= 3  # AGE bins, GENDER, SEGMENT
    lists = {}
    for user in ("new-premium", "new-budget"):
        out = shop.rec_recommend("alike", user_id=user, num_results=10)
        lists[user] = [i["itemId"] for i in out["itemList"]]
        for item in out["itemList"]:
            assert item["reasons"][0] == "popular with users like you"
            assert item["reasons"][1].startswith("popular in ")  # the item's category
    top = shop.rec_recommend("top", user_id="nobody-at-all", num_results=10)
    popular = [i["itemId"] for i in top["itemList"]]
    assert lists["new-premium"] != popular and lists["new-budget"] != popular
    # Each list leans to its segment: the share of the list's users who are premium.
    share = dict(
        shop.sql(
            "SELECT i.item_id, avg(CASE WHEN u.segment = 'premium' THEN 1.0 ELSE 0.0 END) "
            "FROM (SELECT DISTINCT user_id, item_id FROM shop.interactions) i "
            "JOIN shop.users u ON u.user_id = i.user_id GROUP BY 1"
        ).rows
    )
    premium = np.mean([share[i] for i in lists["new-premium"]])
    budget = np.mean([share[i] for i in lists["new-budget"]])
    overall = np.mean([share[i] for i in popular])
    assert premium > overall > budget, (premium, overall, budget)
    # A known user with history is still explained by their history; one with no attributes
    # still gets popular items.
    rt = shop.rec_service().runtime("alike")
    assert rt.features_of("new-premium") is not None and rt.features_of("nobody") is None
    out = shop.rec_recommend("alike", user_id="nobody-at-all", num_results=3)
    assert [i["itemId"] for i in out["itemList"]] == popular[:3]
    assert all(i["reasons"][0] == "Popular item" for i in out["itemList"])
    user = busiest_user(shop)
    out = shop.rec_recommend("alike", user_id=user, num_results=10)
    assert any(i["reasons"][0].startswith("because you") for i in out["itemList"])
    ranked = rt.rank("new-premium", lists["new-budget"][:5] + lists["new-premium"][:5])
    order = [i["itemId"] for i in ranked["personalizedRanking"]]
    assert set(order[:5]) == set(lists["new-premium"][:5])  # the same attribute scores
    shop.rec_delete("alike")
