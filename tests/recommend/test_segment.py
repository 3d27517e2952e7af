"""Batch segment jobs (Item-Affinity, Item-Attribute-Affinity): the users most likely to interact
with an item, or with items that have given attributes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import oaklake
from oaklake.app import Lake
from oaklake.errors import OakError
from oaklake.recommend import sample

OAKLAKE = Path(sys.executable).with_name("oaklake")
SQL_TYPES = {"int64": "bigint", "int32": "int", "double": "double", "string": "string"}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    root = tmp_path_factory.mktemp("segment")
    lake = oaklake.init(root / "ws")
    tables = sample.shop(users=400, items=150, days=45, seed=11)
    lake.sql("CREATE SCHEMA shop")
    for name, table in tables.items():
        renamed = table.rename_columns([c.lower() for c in table.column_names])
        cols = ", ".join(f"{f.name} {SQL_TYPES[str(f.type)]}" for f in renamed.schema)
        lake.sql(f"CREATE TABLE shop.{name} ({cols})")
        lake.table(f"shop.{name}").append(renamed)
    lake.rec_create(
        "foryou", recipe="user-personalization", interactions="shop.interactions",
        items="shop.items", params={"exploration_weight": 0},
    )  # fmt: skip
    lake.rec_train("foryou", evaluate=False)
    lake.rec_create(
        "similar", recipe="similar-items", interactions="shop.interactions", items="shop.items"
    )
    lake.rec_train("similar", evaluate=False)
    lake.rec_create("top", recipe="popularity-count", interactions="shop.interactions")
    lake.rec_train("top", evaluate=False)
    yield lake
    lake.close()


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def write(path: Path, *bodies: Any) -> Path:
    path.write_text("".join((b if isinstance(b, str) else json.dumps(b)) + "\n" for b in bodies))
    return path


def brute_force(lake: Lake, name: str, items: np.ndarray) -> np.ndarray:
    """Each user's summed score over ``items``, with every user scored at once."""
    rt = lake.rec_service().runtime(name)
    history = rt.history.tocsr()
    scores = np.asarray(rt.model.score_users(history), dtype=np.float64)
    scores[history.toarray() > 0] = 0.0
    out = scores[:, items].sum(axis=1)
    out[np.diff(history.indptr) == 0] = 0.0
    return out


def test_item_affinity_is_the_top_scored_users_who_have_not_had_it(
    shop: Lake, tmp_path: Path
) -> None:
    rt = shop.rec_service().runtime("foryou")
    items = [str(rt.item_ids[i]) for i in (0, 7, 42)]
    inp = write(tmp_path / "in.jsonl", *({"itemId": t} for t in items))
    result = shop.rec_segment("foryou", input=inp, output=str(tmp_path / "out.jsonl"), num_users=30)
    assert (result.lines, result.errors, result.rows) == (3, 0, 3)
    for body, item in zip(lines_of(tmp_path / "out.jsonl"), items, strict=True):
        assert body["input"] == {"itemId": item} and body["error"] is None
        users, scores = body["output"]["recommendedUsers"], body["output"]["scores"]
        assert len(users) == 30 and scores == sorted(scores, reverse=True)
        had = {
            r[0]
            for r in shop.sql(
                f"SELECT user_id FROM shop.interactions WHERE item_id = '{item}'"
            ).rows
        }
        assert not had & set(users)
        expected = brute_force(shop, "foryou", np.array([rt.item_index[item]]))
        np.testing.assert_allclose(scores, np.sort(expected)[::-1][:30], rtol=1e-4, atol=1e-6)


def test_item_attribute_affinity_sums_over_the_matching_items(shop: Lake, tmp_path: Path) -> None:
    rt = shop.rec_service().runtime("similar")
    category, colour = str(rt.item_attrs["CATEGORY"][0]), str(rt.item_attrs["COLOUR"][0])
    query = f'ITEMS.category = "{category}" AND (ITEMS.COLOUR = "{colour}" OR ITEMS.COLOUR = "x")'
    inp = write(tmp_path / "in.jsonl", {"itemAttributes": query})
    shop.rec_segment("similar", input=inp, output="shop.segments", num_users=10)
    rows = shop.sql(
        "SELECT item_id, item_attributes, rank, user_id, score FROM shop.segments ORDER BY rank"
    ).rows
    assert [r[2] for r in rows] == list(range(1, 11))
    assert all(r[0] is None and r[1] == query for r in rows)
    mask = (rt.item_attrs["CATEGORY"] == category) & (rt.item_attrs["COLOUR"] == colour)
    expected = brute_force(shop, "similar", np.flatnonzero(mask))
    np.testing.assert_allclose(
        [r[4] for r in rows], np.sort(expected)[::-1][:10], rtol=1e-4, atol=1e-6
    )
    # A size is one of an item's |-separated sizes.
    size = str(rt.item_attrs["SIZE"][0]).split("|")[-1]
    inp = write(tmp_path / "size.jsonl", {"itemAttributes": f'ITEMS.SIZE = "{size}"'})
    out = shop.rec_segment("similar", input=inp, output=str(tmp_path / "s.jsonl"), num_users=5)
    assert out.errors == 0 and len(lines_of(tmp_path / "s.jsonl")[0]["output"]["scores"]) == 5


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ({"itemId": "no-such-item"}, "not known to the model"),
        ({"userId": "u1"}, "segment input line"),
        ({"itemAttributes": 'ITEMS.CATEGRY = "tops"'}, "no field CATEGRY"),
        ({"itemAttributes": 'ITEMS.CATEGORY = "tops" AND'}, "expected ITEMS.<field> at the end"),
        ({"itemAttributes": 'ITEMS.CATEGORY == "tops"'}, "character 17"),
        ({"itemAttributes": '(ITEMS.CATEGORY = "tops"'}, "expected ) at the end"),
        ({"itemAttributes": ""}, "empty"),
        ("not json", "not JSON"),
    ],
)
def test_a_bad_line_gets_its_error_and_the_job_goes_on(
    shop: Lake, tmp_path: Path, line: Any, needle: str
) -> None:
    rt = shop.rec_service().runtime("foryou")
    inp = write(tmp_path / "in.jsonl", line, {"itemId": str(rt.item_ids[1])})
    out = shop.rec_segment("foryou", input=inp, output=str(tmp_path / "o.jsonl"), num_users=3)
    assert (out.lines, out.errors) == (2, 1)
    bad, good = lines_of(tmp_path / "o.jsonl")
    assert needle in bad["error"] and bad["output"] is None
    assert good["error"] is None and len(good["output"]["recommendedUsers"]) == 3


def test_whole_job_refusals(shop: Lake, tmp_path: Path) -> None:
    inp = write(tmp_path / "in.jsonl", {"itemId": "i001"})
    cases = [
        (dict(name="top"), "NOT_SUPPORTED"),
        (dict(name="nope"), "REC_NOT_FOUND"),
        (dict(num_users=0), "REC_INVALID_SEGMENT"),
        (dict(input=tmp_path / "missing.jsonl"), "FILE_NOT_FOUND"),
        (dict(output="nodb.t"), "SCHEMA_NOT_FOUND"),
    ]
    for change, code in cases:
        args: dict[str, Any] = {"name": "foryou", "input": inp, "output": str(tmp_path / "o.jsonl")}
        args.update(change)
        with pytest.raises(OakError) as e:
            shop.rec_segment(args.pop("name"), **args)
        assert e.value.code == code, change
    many = write(tmp_path / "many.jsonl", *({"itemId": "i001"} for _ in range(501)))
    with pytest.raises(OakError) as e:
        shop.rec_segment("foryou", input=many, output=str(tmp_path / "o.jsonl"))
    assert e.value.code == "REC_INVALID_SEGMENT" and "501" in e.value.message
    assert not (tmp_path / "o.jsonl").exists()


def test_cli(shop: Lake, tmp_path: Path) -> None:
    rt = shop.rec_service().runtime("foryou")
    inp = write(tmp_path / "in.jsonl", {"itemId": str(rt.item_ids[3])}, {"itemId": "nope"})
    run = subprocess.run(
        [str(OAKLAKE), "rec", "segment", "foryou", "--input", str(inp), "--output",
         str(tmp_path / "o.jsonl"), "-n", "4", "-w", str(shop.settings.root)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert "2 input line(s), 1 error(s)" in run.stdout
    assert len(lines_of(tmp_path / "o.jsonl")[0]["output"]["recommendedUsers"]) == 4
    refused = subprocess.run(
        [str(OAKLAKE), "rec", "segment", "top", "--input", str(inp), "--output",
         str(tmp_path / "p.jsonl"), "-w", str(shop.settings.root)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2 and refused.stderr.startswith("NOT_SUPPORTED")
    assert "Traceback" not in refused.stderr
