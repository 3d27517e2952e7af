"""The HTTP API: auth, each endpoint's shape, errors, real-time events, and the real server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from oaklake.app import Lake

from .conftest import HEADERS, KEY, TestClient, cluster_of

OAKLAKE = Path(sys.executable).with_name("oaklake")


def recommend(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/recommendations", params={"recommender": "shop", **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def events(user: str | None, session: str, *items: str, kind: str = "view") -> dict[str, Any]:
    body: dict[str, Any] = {
        "sessionId": session,
        "eventList": [
            {"eventType": kind, "itemId": item, "sentAt": 1_800_000_000 + n}
            for n, item in enumerate(items)
        ],
    }
    if user is not None:
        body["userId"] = user
    return body


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message", "hint"} <= set(body["error"])
    error: dict[str, Any] = body["error"]
    return error


def count_rows(lake: Lake, where: str = "true") -> int:
    return int(lake.sql(f"SELECT count(*) FROM db.inter WHERE {where}").rows[0][0])


# -- auth ----------------------------------------------------------------------------------------
def test_a_key_is_required(client: TestClient) -> None:
    anonymous = {"X-API-Key": ""}
    missing = client.get("/recommendations", params={"recommender": "shop"}, headers=anonymous)
    error = error_of(missing, 401)
    assert error["code"] == "UNAUTHORIZED"
    assert "X-API-Key" in error["hint"]
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = client.get(
        "/recommendations", params={"recommender": "shop"}, headers={"X-API-Key": KEY + "x"}
    )
    assert error_of(wrong, 401)["message"] == "wrong API key"
    assert KEY not in wrong.text
    # Events need the key too, and nothing is recorded without it.
    refused = client.post("/events", json=events("u1", "s", "i1"), headers=anonymous)
    assert error_of(refused, 401)["code"] == "UNAUTHORIZED"


def test_the_key_in_either_header(client: TestClient) -> None:
    ok = client.get("/recommendations", params={"recommender": "shop", "userId": "u1"})
    assert ok.status_code == 200
    bearer = client.get(
        "/recommendations",
        params={"recommender": "shop", "userId": "u1"},
        headers={"X-API-Key": "", "Authorization": f"Bearer {KEY}"},
    )
    assert bearer.status_code == 200, bearer.text
    wrong_bearer = client.get(
        "/recommenders", headers={"X-API-Key": "", "Authorization": "Bearer nope"}
    )
    assert wrong_bearer.status_code == 401


def test_health_and_the_spec_need_no_key(client: TestClient) -> None:
    assert client.get("/health", headers={"X-API-Key": ""}).json()["status"] == "ok"
    spec = client.get("/openapi.json", headers={"X-API-Key": ""})
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    for path in ("/recommendations", "/related-items", "/personalized-ranking", "/events"):
        assert path in paths
    assert set(paths["/events"]) == {"post"}
    assert "eventList" in json.dumps(paths["/events"]["post"]["requestBody"])
    assert "apiKey" in spec.json()["components"]["securitySchemes"]
    # No page that would load Swagger UI or ReDoc from a CDN.
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404


def test_without_a_key_the_app_is_open(ws_lake: Lake) -> None:
    from oaklake.server.app import create_app

    with TestClient(create_app(ws_lake, api_key=None)) as open_client:
        response = open_client.get("/recommendations", params={"recommender": "shop"})
    assert response.status_code == 200


# -- the runtime calls ---------------------------------------------------------------------------
def test_recommendations_shape(client: TestClient) -> None:
    body = recommend(client, userId="u1", numResults=7)
    assert set(body) == {"itemList", "recommendationId"}
    assert body["recommendationId"].startswith("RID-")
    items = body["itemList"]
    assert len(items) == 7
    assert len({i["itemId"] for i in items}) == 7
    for item in items:
        assert set(item) == {"itemId", "score", "reasons"}
        assert isinstance(item["score"], float)
        assert isinstance(item["reasons"], list)
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    # u1 lives in cluster 1: the model recommends from there and explains with their history.
    assert cluster_of(items[0]["itemId"]) == 1
    assert items[0]["reasons"][0].startswith("because you ")
    assert recommend(client, userId="u1")["recommendationId"] != body["recommendationId"]
    assert len(recommend(client, userId="u1")["itemList"]) == 25  # the default


def test_unknown_user_gets_popular_items(client: TestClient) -> None:
    items = recommend(client, userId="someone-new", numResults=5)["itemList"]
    assert len(items) == 5
    assert all(i["reasons"][0] == "Popular item" for i in items)


def test_related_items(client: TestClient) -> None:
    response = client.get(
        "/related-items", params={"recommender": "shop", "itemId": "i3", "numResults": 5}
    )
    assert response.status_code == 200, response.text
    items = response.json()["itemList"]
    assert len(items) == 5
    assert "i3" not in {i["itemId"] for i in items}
    assert all(cluster_of(i["itemId"]) == 0 for i in items)
    assert all("Item 3" in i["reasons"][0] for i in items)
    unknown = client.get("/related-items", params={"recommender": "shop", "itemId": "nope"})
    assert unknown.status_code == 200
    assert all(i["reasons"][0] == "Popular item" for i in unknown.json()["itemList"])
    missing = client.get("/related-items", params={"recommender": "shop"})
    assert error_of(missing, 400)["field"] == "itemId"


def test_personalized_ranking(client: TestClient) -> None:
    wanted = ["i70", "i21", "unknown-item", "i45", "i22"]
    response = client.post(
        "/personalized-ranking",
        json={"recommender": "shop", "userId": "u1", "inputList": wanted},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"personalizedRanking", "recommendationId"}
    ranked = body["personalizedRanking"]
    assert sorted(i["itemId"] for i in ranked) == sorted(wanted)
    # u1's own cluster (i20-i39) first; the item the model does not know last, unscored.
    assert {ranked[0]["itemId"], ranked[1]["itemId"]} == {"i21", "i22"}
    assert ranked[-1] == {"itemId": "unknown-item", "score": None, "reasons": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"userId": "u1", "inputList": ["i1"]}, "recommender"),
        ({"recommender": "shop", "userId": "u1", "inputList": "i1"}, "inputList"),
        ({"recommender": "shop", "userId": "u1", "inputList": [1, 2]}, "inputList"),
        ({"recommender": "shop", "userID": "u1", "inputList": ["i1"]}, "userID"),
        ({"recommender": "shop", "userId": 5, "inputList": ["i1"]}, "userId"),
    ],
)
def test_bad_ranking_bodies_name_the_field(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    error = error_of(client.post("/personalized-ranking", json=body), 400)
    assert error["field"] == field
    assert field in error["message"]
    if field == "userID":
        assert "userId" in error["hint"]  # did you mean


def test_ranking_limits(client: TestClient) -> None:
    too_many = {"recommender": "shop", "userId": "u1", "inputList": [f"x{i}" for i in range(501)]}
    error = error_of(client.post("/personalized-ranking", json=too_many), 400)
    assert error["code"] == "REC_INVALID_ARGUMENT"
    empty = {"recommender": "shop", "userId": "u1", "inputList": []}
    assert error_of(client.post("/personalized-ranking", json=empty), 400)["code"] == (
        "REC_INVALID_ARGUMENT"
    )


def test_recommenders_list(client: TestClient) -> None:
    listed = client.get("/recommenders").json()["recommenders"]
    assert [r["name"] for r in listed] == ["shop"]
    assert listed[0]["recipe"] == "user-personalization"
    assert listed[0]["latestVersion"] == 1


# -- bad input -----------------------------------------------------------------------------------
def test_unknown_recommender_is_404(client: TestClient) -> None:
    error = error_of(client.get("/recommendations", params={"recommender": "shpo"}), 404)
    assert error["code"] == "REC_NOT_FOUND"
    assert "shpo" in error["message"]
    assert "shop" in error["hint"]  # did you mean
    related = client.get("/related-items", params={"recommender": "nope", "itemId": "i1"})
    assert error_of(related, 404)["code"] == "REC_NOT_FOUND"


def test_num_results(client: TestClient) -> None:
    error = error_of(
        client.get("/recommendations", params={"recommender": "shop", "numResults": 501}), 400
    )
    assert error["code"] == "REC_INVALID_ARGUMENT"
    assert "500" in error["message"]
    assert len(recommend(client, userId="u1", numResults=500)["itemList"]) <= 500
    typed = client.get("/recommendations", params={"recommender": "shop", "numResults": "ten"})
    error = error_of(typed, 400)
    assert (error["code"], error["field"]) == ("INVALID_REQUEST", "numResults")
    assert "'ten'" in error["message"]
    missing = error_of(client.get("/recommendations", params={"userId": "u1"}), 400)
    assert missing["field"] == "recommender"
    assert missing["message"] == "query parameter recommender is required"


def test_unknown_query_parameters_are_refused(client: TestClient) -> None:
    typo = client.get("/recommendations", params={"recommender": "shop", "userID": "u1"})
    error = error_of(typo, 400)
    assert (error["code"], error["field"]) == ("INVALID_REQUEST", "userID")
    assert "userId" in error["hint"]
    other = client.get("/related-items", params={"recommender": "shop", "itemId": "i1", "x": "1"})
    error = error_of(other, 400)
    assert error["field"] == "x" and "itemId" in error["hint"]
    # The key is checked before anything else: no parameter name leaks to a caller without it.
    assert client.get("/recommendations?userID=1", headers={"X-API-Key": ""}).status_code == 401


def test_the_documented_routes_answer_like_the_fast_path(ws_lake: Lake) -> None:
    """/recommendations and /related-items are answered in front of FastAPI; their FastAPI routes
    document the parameters and, reached directly, give the same answers and errors."""
    from fastapi.routing import APIRoute

    from oaklake.server.app import create_app

    app = create_app(ws_lake, api_key=KEY)
    with TestClient(app, headers=HEADERS) as fast:
        spec = fast.get("/openapi.json").json()["paths"]
        for path, required in (("/recommendations", {"recommender"}),
                               ("/related-items", {"recommender", "itemId"})):  # fmt: skip
            params = spec[path]["get"]["parameters"]
            assert {p["name"] for p in params if p["required"]} == required
            assert "numResults" in {p["name"] for p in params}
        queries = [
            ("/recommendations", {"recommender": "shop", "userId": "u3", "numResults": 6}),
            ("/related-items", {"recommender": "shop", "itemId": "i4", "numResults": 4}),
            ("/recommendations", {"recommender": "shop", "numResults": "many"}),
            ("/recommendations", {"recommender": "nope"}),
        ]
        answers = [fast.get(path, params=q) for path, q in queries]
    # The same app without the layer in front: its middleware list emptied before start.
    bare = create_app(ws_lake, api_key=KEY)
    bare.user_middleware.clear()
    assert any(isinstance(r, APIRoute) and r.path == "/related-items" for r in bare.routes)
    with TestClient(bare, headers=HEADERS) as slow:
        for (path, q), fast_answer in zip(queries, answers, strict=True):
            slow_answer = slow.get(path, params=q)
            assert slow_answer.status_code == fast_answer.status_code, (path, q)
            a, b = slow_answer.json(), fast_answer.json()
            a.pop("recommendationId", None), b.pop("recommendationId", None)
            assert a == b, (path, q)


def test_invalid_filter_gives_the_position(client: TestClient) -> None:
    text = "EXCLUDE ItemID WHERE Items.CATEGORY IN ($C"
    response = client.get(
        "/recommendations", params={"recommender": "shop", "userId": "u1", "filter": text}
    )
    error = error_of(response, 400)
    assert error["code"] == "REC_INVALID_FILTER"
    assert error["line"] == 1
    assert isinstance(error["column"], int)
    assert error["column"] > 1


def test_filter_with_values(client: TestClient) -> None:
    text = "INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)"
    items = recommend(
        client,
        userId="u1",
        numResults=5,
        filter=text,
        filterValues=json.dumps({"CATEGORY": '"tools"'}),
    )["itemList"]
    assert len(items) == 5
    assert all(cluster_of(i["itemId"]) == 3 for i in items)
    bad = client.get(
        "/recommendations",
        params={"recommender": "shop", "userId": "u1", "filter": text, "filterValues": "{CAT"},
    )
    error = error_of(bad, 400)
    assert (error["code"], error["field"]) == ("REC_FILTER_VALUES", "filterValues")


def test_unknown_route_and_method(client: TestClient) -> None:
    assert error_of(client.get("/recommendation"), 404)["code"] == "NOT_FOUND"
    assert error_of(client.get("/events"), 405)["code"] == "METHOD_NOT_ALLOWED"


def test_internal_errors_hide_the_details(client: TestClient) -> None:
    service = client.app.state.service  # type: ignore[attr-defined]

    def broken(name: str) -> Any:
        raise RuntimeError("secret detail /srv/models/x")

    service.runtime = broken
    response = client.get("/recommendations", params={"recommender": "shop"})
    error = error_of(response, 500)
    assert error["code"] == "INTERNAL_ERROR"
    assert "secret" not in response.text
    assert "Traceback" not in response.text


# -- events --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"eventList": [{"eventType": "view", "sentAt": 1}]}, "sessionId"),
        ({"sessionId": "s", "eventList": []}, "eventList"),
        ({"sessionId": "s"}, "eventList"),
        ({"sessionId": "s", "eventList": [{"eventType": "view"}]}, "eventList[0].sentAt"),
        (
            {"sessionId": "s", "eventList": [{"eventType": "v", "sentAt": 1}, {"sentAt": 2}]},
            "eventList[1].eventType",
        ),
        (
            {"sessionId": "s", "eventList": [{"eventType": "v", "sentAt": "yesterday"}]},
            "eventList[0].sentAt",
        ),
        (
            {"sessionId": "s", "eventList": [{"eventType": "v", "sentAt": 1, "eventValue": "x"}]},
            "eventList[0].eventValue",
        ),
        (
            {"sessionId": "s", "eventList": [{"eventType": "v", "sentAt": 1, "itemID": "i1"}]},
            "eventList[0].itemID",
        ),
        ({"sessionId": "s", "userID": "u1", "eventList": []}, "userID"),
        ({"sessionId": "s", "eventList": [{"eventType": "v", "sentAt": 1}] * 101}, "eventList"),
    ],
)
def test_malformed_events_name_the_field(
    client: TestClient, ws_lake: Lake, body: dict[str, Any], field: str
) -> None:
    error = error_of(client.post("/events", json=body), 400)
    assert error["code"] in ("REC_INVALID_EVENT", "INVALID_REQUEST")
    assert field in error["message"]


def test_events_body_must_be_json(client: TestClient) -> None:
    response = client.post(
        "/events", content=b'{"sessionId": "s",\n "eventList": [}', headers=HEADERS
    )
    error = error_of(response, 400)
    assert (error["code"], error["field"], error["line"]) == ("INVALID_REQUEST", "body", 2)
    assert error["column"] == 16  # the }
    assert error_of(client.post("/events", content=b""), 400)["field"] == "body"
    assert error_of(client.post("/events", json=[1]), 400)["field"] == "body"


def test_an_event_changes_the_next_recommendations(client: TestClient) -> None:
    before = recommend(client, userId="u5", numResults=10)["itemList"]
    top = before[0]["itemId"]
    response = client.post("/events", json=events("u5", "s-u5", top, kind="purchase"))
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 1, "applied": 1}
    after = recommend(client, userId="u5", numResults=10)["itemList"]
    assert top not in {i["itemId"] for i in after}  # seen now, so not recommended again
    label = f"Item {top[1:]}"
    assert any(i["reasons"] == [f"because you bought {label}"] for i in after), after


def test_an_anonymous_session_merges_into_its_user(client: TestClient, ws_lake: Lake) -> None:
    viewed = ["i61", "i62", "i63", "i64"]
    assert client.post("/events", json=events(None, "anon-7", *viewed)).status_code == 200
    anonymous = recommend(client, sessionId="anon-7", numResults=5)["itemList"]
    assert all(cluster_of(i["itemId"]) == 3 for i in anonymous)
    assert not {i["itemId"] for i in anonymous} & set(viewed)
    assert all(i["reasons"][0].startswith("because you viewed") for i in anonymous)
    # The visitor signs in: the session's events become the (new) user's history.
    unknown = recommend(client, userId="new-user", numResults=3)["itemList"]
    assert all(i["reasons"][0] == "Popular item" for i in unknown)
    signed_in = events("new-user", "anon-7", "i65")
    assert client.post("/events", json=signed_in).status_code == 200
    merged = recommend(client, userId="new-user", numResults=5)["itemList"]
    assert all(cluster_of(i["itemId"]) == 3 for i in merged)
    assert not {i["itemId"] for i in merged} & {*viewed, "i65"}
    # Later events of the same session (without userId) count for the user too.
    assert client.post("/events", json=events(None, "anon-7", "i66")).status_code == 200
    assert "i66" not in {i["itemId"] for i in recommend(client, userId="new-user")["itemList"]}


def test_a_burst_of_events_is_all_persisted(client: TestClient, ws_lake: Lake) -> None:
    before = count_rows(ws_lake)
    sent = 0
    for r in range(200):
        body = events(f"u{r % 60}", f"burst-{r}", *(f"i{(r + j) % 80}" for j in range(10)))
        response = client.post("/events", json={**body, "trackingId": "db.inter"})
        assert response.status_code == 200, response.text
        sent += response.json()["accepted"]
    assert sent == 2000
    client.app.state.service.flush()  # type: ignore[attr-defined]
    assert count_rows(ws_lake) - before == 2000
    assert count_rows(ws_lake, "session_id LIKE 'burst-%'") == 2000
    assert count_rows(ws_lake, "session_id = 'burst-7' AND user_id = 'u7'") == 10


def test_unknown_tracking_id(client: TestClient) -> None:
    body = {**events("u1", "s", "i1"), "trackingId": "db.nope"}
    error = error_of(client.post("/events", json=body), 400)
    assert error["code"] == "REC_INVALID_EVENT"
    assert "db.inter" in error["hint"]


# -- the real server -----------------------------------------------------------------------------
def wait_until_up(http: httpx.Client, proc: subprocess.Popen[str]) -> None:
    """Until ``oaklake serve`` answers /health (the test fails if it exits or takes > 60 s)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if http.get("/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_oaklake_serve(trained: Path, ws_lake: Lake) -> None:
    """The real command: refuses to start without a key, serves with one, and on Ctrl-C writes
    the events still queued and exits cleanly."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OAKLAKE_")}
    refused = subprocess.run(
        [str(OAKLAKE), "serve", "-w", str(trained)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith("API_KEY_REQUIRED: ")
    port = _free_port()
    before = count_rows(ws_lake)
    proc = subprocess.Popen(
        [str(OAKLAKE), "serve", "-w", str(trained), "--port", str(port)],
        env={**env, "OAKLAKE_API_KEY": KEY},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, headers=HEADERS, timeout=10) as http:
            wait_until_up(http, proc)
            assert (
                http.get(
                    "/recommendations", params={"recommender": "shop"}, headers={"X-API-Key": ""}
                ).status_code
                == 401
            )
            answer = http.get("/recommendations", params={"recommender": "shop", "userId": "u2"})
            assert answer.status_code == 200
            assert len(answer.json()["itemList"]) == 25
            for n in range(3):
                body = events("u2", f"serve-{n}", *(f"i{40 + j}" for j in range(10)))
                assert http.post("/events", json=body).json()["accepted"] == 10
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert f"listening on http://127.0.0.1:{port}" in err
    assert "Traceback" not in err
    assert count_rows(ws_lake) - before == 30
    assert count_rows(ws_lake, "session_id LIKE 'serve-%'") == 30
