"""Promotions on GetRecommendations: a share of the results from the promotion's filter."""

from __future__ import annotations

import json
from typing import Any

import pytest

from oaklake.recommend.promotions import Promotion, parse_promotions, place

from .conftest import CATEGORIES, TestClient, cluster_of
from .test_api import error_of


def promo(category: str, percent: int = 20, name: str = "push") -> str:
    return json.dumps(
        [
            {
                "name": name,
                "percentPromotedItems": percent,
                "filter": "INCLUDE ItemID WHERE Items.CATEGORY IN ($C)",
                "filterValues": {"C": f'"{category}"'},
            }
        ]
    )


def get(client: TestClient, path: str = "/recommendations", **params: Any) -> list[dict[str, Any]]:
    response = client.get(path, params={"recommender": "shop", **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["itemList"]
    return items


def test_a_promotion_takes_its_share_and_the_request_filter_the_rest(client: TestClient) -> None:
    # u1's history is in cluster 1 ("games"): the promotion pushes "tools" (cluster 3), and the
    # request's own filter keeps the other results in "games".
    items = get(
        client,
        userId="u1",
        numResults=10,
        filter='INCLUDE ItemID WHERE Items.CATEGORY IN ("games")',
        promotions=promo("tools", 30),
    )
    assert len(items) == 10
    promoted = [i for i in items if "promotionName" in i]
    regular = [i for i in items if "promotionName" not in i]
    assert len(promoted) == 3
    assert all(i["promotionName"] == "push" and i["reasons"] == ["Promoted item"] for i in promoted)
    assert {CATEGORIES[cluster_of(i["itemId"])] for i in promoted} == {"tools"}
    assert {CATEGORIES[cluster_of(i["itemId"])] for i in regular} == {"games"}
    assert len({i["itemId"] for i in items}) == 10
    # Among themselves, both kinds keep their order.
    for group in (promoted, regular):
        scores = [i["score"] for i in group]
        assert scores == sorted(scores, reverse=True)


def test_promotion_edge_cases(client: TestClient) -> None:
    everything = get(client, userId="u2", numResults=5, promotions=promo("music", 100))
    assert len(everything) == 5 and all("promotionName" in i for i in everything)
    # Nothing matches: no promoted item, the results are the recommender's own.
    none = get(client, userId="u2", numResults=5, promotions=promo("no-such-category"))
    assert len(none) == 5 and not any("promotionName" in i for i in none)
    # An unknown user and related items take promotions too; 1% of 5 is still one item.
    cold = get(client, userId="nobody", numResults=5, promotions=promo("books", 1))
    assert [CATEGORIES[cluster_of(i["itemId"])] for i in cold if "promotionName" in i] == ["books"]
    related = get(
        client, "/related-items", itemId="i3", numResults=10, promotions=promo("music", 20)
    )
    assert "i3" not in {i["itemId"] for i in related}
    assert sum("promotionName" in i for i in related) == 2


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("[{", "not valid JSON"),
        ('"x"', "list of objects"),
        (promo("books", 0), "percentPromotedItems"),
        (promo("books", 101), "percentPromotedItems"),
        (promo("books", name="bad name!"), "name"),
        (json.dumps([{"name": "a", "percentPromotedItems": 5}]), "needs a filter"),
        (
            json.dumps([{"name": "a", "percentPromotedItems": 5, "filter": "x", "filtr": 1}]),
            "unknown promotion field",
        ),
        (json.dumps([json.loads(promo("a"))[0], json.loads(promo("b"))[0]]), "one per request"),
    ],
)
def test_bad_promotions_are_400(client: TestClient, value: str, needle: str) -> None:
    response = client.get(
        "/recommendations", params={"recommender": "shop", "userId": "u1", "promotions": value}
    )
    error = error_of(response, 400)
    assert error["code"] == "REC_INVALID_PROMOTION"
    assert needle in error["message"]


def test_a_bad_promotion_filter_gives_the_position(client: TestClient) -> None:
    value = json.dumps(
        [{"name": "p", "percentPromotedItems": 10, "filter": "INCLUDE ItemID WHERE Items.X IN ("}]
    )
    response = client.get("/recommendations", params={"recommender": "shop", "promotions": value})
    error = error_of(response, 400)
    assert error["code"] == "REC_INVALID_FILTER" and "column" in error


def test_place_keeps_both_orders() -> None:
    for seed in range(20):
        out = place(list(range(7)), ["a", "b", "c"], seed=seed)
        assert [x for x in out if isinstance(x, int)] == list(range(7))
        assert [x for x in out if isinstance(x, str)] == ["a", "b", "c"]
    assert {tuple(place([1, 2, 3], ["x"], seed=s)) for s in range(40)} == {
        ("x", 1, 2, 3), (1, "x", 2, 3), (1, 2, "x", 3), (1, 2, 3, "x"),
    }  # fmt: skip


def test_parse_promotions_and_count() -> None:
    assert parse_promotions(None) is None and parse_promotions("") is None
    assert parse_promotions("[]") is None
    p = parse_promotions({"name": "p1", "percentPromotedItems": 25, "filter": "INCLUDE …"})
    assert p == Promotion("p1", 25, "INCLUDE …")
    assert [p.count(n) for n in (1, 3, 4, 25, 100)] == [1, 1, 1, 6, 25]
