"""Sample data for recommendations: the generated shop, the MovieLens-100k loader, its fetcher."""

from __future__ import annotations

import importlib.util
import time
import zipfile
from pathlib import Path
from types import ModuleType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
import scipy.sparse as sp

from oaklake.errors import NotFound
from oaklake.recommend import sample

ROOT = Path(__file__).resolve().parents[2]
DAY = 86_400


@pytest.fixture(scope="module")
def shop() -> dict[str, pa.Table]:
    return sample.shop()


def _np(column: pa.ChunkedArray) -> np.ndarray:
    return column.to_numpy(zero_copy_only=False)


# --- the generated shop ---------------------------------------------------------------------


def test_shop_is_deterministic(shop):
    again = sample.shop()
    for name in ("interactions", "users", "items"):
        assert again[name].equals(shop[name]), name
    other = sample.shop(seed=8)
    assert not other["interactions"].equals(shop["interactions"])


def test_shop_is_fast():
    started = time.process_time()
    sample.shop()
    assert time.process_time() - started < 2.0


def test_shop_columns_and_types(shop):
    assert shop["interactions"].schema == pa.schema(
        [
            ("USER_ID", pa.string()),
            ("ITEM_ID", pa.string()),
            ("TIMESTAMP", pa.int64()),
            ("EVENT_TYPE", pa.string()),
        ]
    )
    assert shop["users"].schema == pa.schema(
        [
            ("USER_ID", pa.string()),
            ("AGE", pa.int32()),
            ("GENDER", pa.string()),
            ("SEGMENT", pa.string()),
        ]
    )
    assert shop["items"].schema == pa.schema(
        [
            ("ITEM_ID", pa.string()),
            ("NAME", pa.string()),
            ("CATEGORY", pa.string()),
            ("COLOUR", pa.string()),
            ("SIZE", pa.string()),
            ("PRICE", pa.float64()),
            ("CREATION_TIMESTAMP", pa.int64()),
        ]
    )
    for table in shop.values():
        for column in table.columns:
            assert column.null_count == 0


def test_shop_shapes_and_values(shop):
    users, items, inter = shop["users"], shop["items"], shop["interactions"]
    assert users.num_rows == 2000 and items.num_rows == 800
    assert len(set(_np(users["USER_ID"]))) == 2000
    assert len(set(_np(items["ITEM_ID"]))) == 800
    assert set(_np(inter["USER_ID"])) <= set(_np(users["USER_ID"]))
    assert set(_np(inter["ITEM_ID"])) <= set(_np(items["ITEM_ID"]))
    assert set(_np(inter["EVENT_TYPE"])) == {"view", "purchase"}
    assert set(_np(users["GENDER"])) == {"F", "M"}
    assert set(_np(users["SEGMENT"])) == set(sample.SEGMENTS)
    age = _np(users["AGE"])
    assert age.min() >= 16 and age.max() <= 85 and 25 < age.mean() < 60
    assert set(_np(items["CATEGORY"])) == set(sample.CATEGORIES)
    assert set(_np(items["COLOUR"])) <= set(sample.COLOURS)
    price = _np(items["PRICE"])
    assert price.min() > 0 and 10 < np.median(price) < 100
    # Multi-valued categorical: the sizes an item comes in, |-joined as Personalize wants.
    sizes = dict(zip(_np(items["CATEGORY"]), _np(items["SIZE"]), strict=True))
    assert sizes["tops"] == "XS|S|M|L|XL" and sizes["accessories"] == "one size"


def test_shop_time_window(shop):
    inter, items = shop["interactions"], shop["items"]
    end = int(sample.SHOP_END.timestamp())
    ts = _np(inter["TIMESTAMP"])
    assert (np.diff(ts) >= 0).all()  # sorted by time
    assert ts.min() >= end - 90 * DAY and ts.max() < end
    assert ts.max() > end - DAY and ts.min() < end - 89 * DAY
    created = dict(zip(_np(items["ITEM_ID"]), _np(items["CREATION_TIMESTAMP"]), strict=True))
    first_seen = {}
    for item, t in zip(_np(inter["ITEM_ID"]), ts, strict=True):
        first_seen.setdefault(item, t)
    assert all(first_seen[i] >= created[i] for i in first_seen)  # nothing before it exists
    c = _np(items["CREATION_TIMESTAMP"])
    in_window = (c >= end - 90 * DAY).sum()
    assert 40 < in_window < 160  # ~12% of the catalogue is new
    assert (c >= end - 7 * DAY).sum() >= 10  # some very new: cold items


def test_shop_popularity_is_power_law(shop):
    _, counts = np.unique(_np(shop["interactions"]["ITEM_ID"]), return_counts=True)
    counts = np.sort(counts)[::-1]
    top = counts[: shop["items"].num_rows // 10].sum()
    assert top / counts.sum() > 0.40
    assert counts[-1] < 10 < counts[0] / 10  # a long tail


def test_shop_purchases_follow_views(shop):
    inter = shop["interactions"]
    kind = _np(inter["EVENT_TYPE"])
    keys = list(zip(_np(inter["USER_ID"]), _np(inter["ITEM_ID"]), strict=True))
    ts = _np(inter["TIMESTAMP"])
    first_view: dict[tuple[str, str], int] = {}
    purchases = 0
    for key, t, k in zip(keys, ts, kind, strict=True):
        if k == "view":
            first_view.setdefault(key, t)
        else:
            purchases += 1
            assert key in first_view and first_view[key] <= t, key
    views = len(kind) - purchases
    assert 0.02 < purchases / views < 0.15


@pytest.mark.parametrize("event_type", [None, "purchase"])
def test_shop_meets_personalize_minimums(shop, event_type):
    """≥1000 interactions, ≥25 users with ≥2 of them, ≥1% of users with ≥2; also when training
    on purchases only (Personalize checks after event-type filtering)."""
    inter = shop["interactions"]
    if event_type:
        inter = inter.filter(pc.equal(inter["EVENT_TYPE"], event_type))
    assert inter.num_rows >= 1000
    _, per_user = np.unique(_np(inter["USER_ID"]), return_counts=True)
    assert (per_user >= 2).sum() >= 25
    assert (per_user >= 2).sum() >= 0.01 * shop["users"].num_rows


def _matrix(inter: pa.Table, users: list[str], items: list[str]) -> sp.csr_matrix:
    u = {x: n for n, x in enumerate(users)}
    i = {x: n for n, x in enumerate(items)}
    rows = [u[x] for x in _np(inter["USER_ID"])]
    cols = [i[x] for x in _np(inter["ITEM_ID"])]
    m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(users), len(items)))
    m.data[:] = 1.0
    return m


def test_shop_has_personal_signal(shop):
    """Train on the first 80% of time, test on the rest: similar users (by attributes, or by
    history) predict better than popularity, so recipes have something to learn."""
    inter, users = shop["interactions"], shop["users"]
    user_ids, item_ids = list(_np(users["USER_ID"])), list(_np(shop["items"]["ITEM_ID"]))
    ts = _np(inter["TIMESTAMP"])
    cut = np.quantile(ts, 0.8)
    train = _matrix(inter.filter(pc.less(inter["TIMESTAMP"], cut)), user_ids, item_ids)
    test = _matrix(inter.filter(pc.greater_equal(inter["TIMESTAMP"], cut)), user_ids, item_ids)
    pop = np.asarray(train.sum(axis=0)).ravel()
    cell = np.char.add(
        np.char.add(_np(users["GENDER"]).astype(str), (_np(users["AGE"]) // 15).astype(str)),
        _np(users["SEGMENT"]).astype(str),
    )
    by_cell = {c: np.asarray(train[cell == c].sum(axis=0)).ravel() for c in set(cell)}
    norm = np.sqrt(np.maximum(pop, 1.0))
    cooc = (train.T @ train).toarray() / norm[:, None] / norm[None, :]
    np.fill_diagonal(cooc, 0.0)
    recall: dict[str, list[float]] = {"popularity": [], "attributes": [], "co-occurrence": []}
    for u in range(len(user_ids)):
        seen, target = train[u].indices, set(test[u].indices)
        if len(seen) == 0 or not target:
            continue
        scores = {
            "popularity": pop.copy(),
            "attributes": by_cell[cell[u]] + 1e-3 * pop,
            "co-occurrence": cooc[seen].sum(axis=0) + 1e-6 * pop,
        }
        for name, s in scores.items():
            s[seen] = -1.0
            top = np.argpartition(-s, 20)[:20]
            recall[name].append(len(target.intersection(top)) / min(20, len(target)))
    r = {name: float(np.mean(v)) for name, v in recall.items()}
    assert r["attributes"] > 1.15 * r["popularity"], r
    assert r["co-occurrence"] > 1.4 * r["popularity"], r


def test_shop_small_and_other_sizes():
    tiny = sample.shop(users=30, items=12, days=5, seed=3)
    assert tiny["users"].num_rows == 30 and tiny["items"].num_rows == 12
    assert tiny["interactions"].num_rows > 30
    assert tiny["users"]["USER_ID"][0].as_py() == "u01"
    assert tiny["items"]["ITEM_ID"][0].as_py() == "i01"
    with pytest.raises(ValueError):
        sample.shop(users=0)


def test_write_csv_round_trip(tmp_path, shop):
    paths = sample.write_csv(shop, tmp_path / "out")
    assert {p.name for p in paths.values()} == {"interactions.csv", "users.csv", "items.csv"}
    for name, path in paths.items():
        back = pacsv.read_csv(path)
        assert back.num_rows == shop[name].num_rows
        assert back.column_names == shop[name].column_names
    items = pacsv.read_csv(paths["items"])
    assert items["SIZE"].to_pylist() == shop["items"]["SIZE"].to_pylist()
    assert paths["interactions"].read_text().splitlines()[0] == (
        '"USER_ID","ITEM_ID","TIMESTAMP","EVENT_TYPE"'
    )


def test_write_csv_files_ingest_into_the_lake(tmp_path, lake):
    paths = sample.write_csv(sample.shop(users=100, items=60, days=20), tmp_path / "shop")
    lake.sql("CREATE SCHEMA IF NOT EXISTS personalize")
    for name, path in paths.items():
        lake.ingest(path, f"personalize.{name}").raise_for_status()
    rows = lake.sql(
        "SELECT EVENT_TYPE, count(*) AS n, min(TIMESTAMP) > 0 AS ok FROM personalize.interactions "
        "GROUP BY EVENT_TYPE ORDER BY EVENT_TYPE"
    ).rows
    assert [r[0] for r in rows] == ["purchase", "view"] and all(r[2] for r in rows)
    assert lake.sql("SELECT count(*) FROM personalize.users").rows[0][0] == 100


# --- MovieLens-100k ---------------------------------------------------------------------------


def _write_fake_ml(folder: Path) -> None:
    """Three tiny files in recbole's atomic-file format (the real quirks included)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ml-100k.inter").write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        "2\t1\t5\t881250950\n1\t2\t3\t881250949\n1\t1\t4\t881250949\n"
    )
    (folder / "ml-100k.user").write_text(
        "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n"
        "1\t24\tM\ttechnician\t85711\n2\t53\tF\tother\tT8H1N\n"
    )
    (folder / "ml-100k.item").write_text(
        "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        "1\tToy Story\t1995\tAnimation Children's Comedy\n"
        "2\tLand Before Time III: The Time of the Great Giving (1995)\tV\tAnimation\n"
        "3\tunkonwn\tunkonwn\tunknown\n"
        '4\t"Quoted" Film, The\t1969\tDrama\n'
    )


def test_movielens_loader_on_a_small_copy(tmp_path):
    _write_fake_ml(tmp_path / "ml")
    d = sample.movielens_100k(tmp_path / "ml")
    inter = d["interactions"]
    assert inter.schema == pa.schema(
        [
            ("USER_ID", pa.string()),
            ("ITEM_ID", pa.string()),
            ("TIMESTAMP", pa.int64()),
            ("EVENT_TYPE", pa.string()),
            ("EVENT_VALUE", pa.float32()),
        ]
    )
    # Sorted by time, then user and item as numbers.
    assert inter.to_pylist() == [
        {"USER_ID": "1", "ITEM_ID": "1", "TIMESTAMP": 881250949, "EVENT_TYPE": "rating",
         "EVENT_VALUE": 4.0},
        {"USER_ID": "1", "ITEM_ID": "2", "TIMESTAMP": 881250949, "EVENT_TYPE": "rating",
         "EVENT_VALUE": 3.0},
        {"USER_ID": "2", "ITEM_ID": "1", "TIMESTAMP": 881250950, "EVENT_TYPE": "rating",
         "EVENT_VALUE": 5.0},
    ]  # fmt: skip
    assert d["users"].to_pylist()[1] == {
        "USER_ID": "2", "AGE": 53, "GENDER": "F", "OCCUPATION": "other", "ZIP": "T8H1N"
    }  # fmt: skip
    items = d["items"].to_pylist()
    assert items[0] == {
        "ITEM_ID": "1", "TITLE": "Toy Story", "YEAR": 1995,
        "GENRES": "Animation|Children's|Comedy", "CREATION_TIMESTAMP": 788918400,
    }  # fmt: skip
    assert items[1]["TITLE"] == "Land Before Time III: The Time of the Great Giving"
    assert items[1]["YEAR"] == 1995
    assert items[2]["YEAR"] is None and items[2]["CREATION_TIMESTAMP"] is None
    assert items[3]["TITLE"] == '"Quoted" Film, The'
    assert items[3]["CREATION_TIMESTAMP"] == -31536000  # 1969: before the epoch


def test_movielens_folder_from_the_environment(tmp_path, monkeypatch):
    _write_fake_ml(tmp_path / "elsewhere")
    monkeypatch.setenv(sample.ML100K_ENV, str(tmp_path / "elsewhere"))
    assert sample.movielens_folder() == tmp_path / "elsewhere"
    assert sample.movielens_100k()["users"].num_rows == 2


def test_movielens_missing_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(sample, "ML100K_DEFAULT", tmp_path / "nothing")
    with pytest.raises(NotFound) as e:
        sample.movielens_100k()
    assert e.value.code == "DATASET_NOT_FOUND"
    assert "make setup" in (e.value.hint or "")
    assert isinstance(e.value, LookupError)
    with pytest.raises(NotFound) as e:
        sample.movielens_100k(tmp_path)
    assert e.value.code == "DATASET_NOT_FOUND" and "ml-100k.inter" in e.value.message


@pytest.fixture(scope="module")
def movielens() -> dict[str, pa.Table]:
    try:
        return sample.movielens_100k()
    except NotFound:
        pytest.skip("MovieLens-100k is not here (make setup fetches it from PyPI)")


def test_movielens_counts(movielens):
    inter, users, items = movielens["interactions"], movielens["users"], movielens["items"]
    assert inter.num_rows == 100_000
    assert users.num_rows == 943 and items.num_rows == 1682
    assert len(set(_np(inter["USER_ID"]))) == 943
    assert len(set(_np(inter["ITEM_ID"]))) == 1682
    assert set(_np(inter["EVENT_VALUE"])) == {1.0, 2.0, 3.0, 4.0, 5.0}
    ts = _np(inter["TIMESTAMP"])
    assert (np.diff(ts) >= 0).all()
    assert ts.min() == 874724710 and ts.max() == 893286638  # 1997-09-20 .. 1998-04-22
    gender = pc.value_counts(users["GENDER"]).to_pylist()
    assert {g["values"]: g["counts"] for g in gender} == {"M": 670, "F": 273}
    assert inter.schema.field("TIMESTAMP").type == pa.int64()


def test_movielens_items(movielens):
    items = movielens["items"]
    genres = _np(items["GENRES"])
    assert not any(" " in g for g in genres)
    assert sum("|" in g for g in genres) > 800
    names = {g for joined in genres for g in joined.split("|")}
    assert {"Action", "Children's", "Film-Noir", "Sci-Fi", "Drama"} <= names
    assert len(names) == 19
    first = items.slice(0, 1).to_pylist()[0]
    assert first["TITLE"] == "Toy Story" and first["GENRES"] == "Animation|Children's|Comedy"
    assert items["YEAR"].null_count == 1  # item 267, "unknown" in the source
    assert pc.min(items["YEAR"]).as_py() == 1922 and pc.max(items["YEAR"]).as_py() == 1998


# --- scripts/fetch_movielens.py (no network: a hand-made wheel) -----------------------------


@pytest.fixture
def fetcher() -> ModuleType:
    path = ROOT / "scripts" / "fetch_movielens.py"
    spec = importlib.util.spec_from_file_location("fetch_movielens", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_wheel(path: Path, source: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for f in source.iterdir():
            zf.write(f, f"recbole/dataset_example/ml-100k/{f.name}")
        zf.writestr("recbole/__init__.py", "")
    return path


def test_fetch_extracts_checks_and_is_idempotent(tmp_path, fetcher, monkeypatch):
    _write_fake_ml(tmp_path / "src")
    wheel = _fake_wheel(tmp_path / "fake.whl", tmp_path / "src")
    dest = tmp_path / "data" / "ml-100k"
    # The real counts refuse the small copy, and nothing is left behind.
    with pytest.raises(fetcher.FetchError, match="expected 100000"):
        fetcher.extract(wheel, dest)
    assert not dest.exists() and list((tmp_path / "data").iterdir()) == []
    monkeypatch.setattr(
        fetcher, "EXPECTED_ROWS", {"ml-100k.inter": 3, "ml-100k.user": 2, "ml-100k.item": 4}
    )
    assert fetcher.extract(wheel, dest)["ml-100k.inter"] == 3
    assert fetcher.is_ready(dest)
    assert sample.movielens_100k(dest)["items"].num_rows == 4
    # Present and checked: no download (a wheels folder and a python that do not exist).
    said = fetcher.fetch(dest, tmp_path / "no-wheels", "/nonexistent/python")
    assert said.startswith("MovieLens-100k already in")


def test_fetch_without_network_warns_and_succeeds(tmp_path, fetcher, capsys):
    args = ["--dest", str(tmp_path / "ml"), "--wheels", str(tmp_path / "w")]
    failing = ["--python", "/bin/false"]  # pip download "fails", as it does offline
    assert fetcher.main([*args, *failing]) == 0
    assert "warning: MovieLens-100k not available" in capsys.readouterr().err
    assert not (tmp_path / "ml").exists()
    assert fetcher.main([*args, *failing, "--strict"]) == 1


def test_fetch_is_hooked_into_make_setup():
    makefile = (ROOT / "Makefile").read_text()
    setup = makefile.split("\nsetup:", 1)[1].split("\n\n", 1)[0]
    assert "scripts/fetch_movielens.py" in setup
