"""Sample data for recommendations, in Amazon Personalize's dataset shapes.

Two sources, neither downloaded at run time:

- ``movielens_100k()``: MovieLens-100k (100,000 ratings by 943 users of 1,682 films, 1997-98), as
  shipped inside the recbole 1.2.1 wheel. ``make setup`` puts it into ``.tools/data/ml-100k/``
  (``scripts/fetch_movielens.py``); it is never committed (the GroupLens terms forbid
  redistribution).
- ``shop()``: a generated clothes shop: users with age, gender and a price segment, items with
  category, colour, sizes, price and a creation time, and 90 days of views and purchases. Users
  belong to hidden taste clusters tied to their age and gender and to categories, colours, price
  levels and item styles, so personalisation has something to find; popularity is power-law;
  new items arrive during the window and get a short burst of attention.

Each returns ``{"interactions": …, "users": …, "items": …}`` as pyarrow tables with
Personalize's column names (USER_ID, ITEM_ID, TIMESTAMP, EVENT_TYPE, …); ``write_csv`` writes
them as ``interactions.csv``, ``users.csv`` and ``items.csv`` for ``oaklake ingest``.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from oaklake.errors import NotFound

Tables = dict[str, pa.Table]

# --------------------------------------------------------------------------------------------
# MovieLens-100k

ML100K_ENV = "OAKLAKE_ML100K"
_REPO = Path(__file__).resolve().parents[3]
ML100K_DEFAULT = _REPO / ".tools" / "data" / "ml-100k"
_ML_FILES = ("ml-100k.inter", "ml-100k.user", "ml-100k.item")


def movielens_folder(folder: str | Path | None = None) -> Path:
    """Where the MovieLens-100k files are: ``folder``, else $OAKLAKE_ML100K, else the repo's
    ``.tools/data/ml-100k``. Raises NotFound (DATASET_NOT_FOUND) when the files are not there."""
    if folder is not None:
        where, source = Path(folder), "the folder given"
    elif os.environ.get(ML100K_ENV):
        where, source = Path(os.environ[ML100K_ENV]), f"${ML100K_ENV}"
    else:
        where, source = ML100K_DEFAULT, "the default place"
    missing = [name for name in _ML_FILES if not (where / name).is_file()]
    if missing:
        raise NotFound(
            f"MovieLens-100k is not in {where} ({source}): no {', '.join(missing)}",
            code="DATASET_NOT_FOUND",
            hint="run make setup (it downloads the recbole wheel from PyPI)"
            if folder is None
            else f"give the folder that holds {', '.join(_ML_FILES)}",
        )
    return where


def _read_tsv(path: Path, columns: dict[str, pa.DataType]) -> pa.Table:
    """One of recbole's atomic files: tab-separated, a typed header line, no quoting."""
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(skip_rows=1, column_names=list(columns)),
        parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False),
        convert_options=pacsv.ConvertOptions(
            column_types=columns, strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )


_YEAR_IN_TITLE = re.compile(r"\((\d{4})\)\s*$")


def _year(raw: str, title: str) -> int | None:
    """The release year; one film has it only in its title ("… (1995)" with year "V")."""
    if raw.isdigit() and len(raw) == 4:
        return int(raw)
    m = _YEAR_IN_TITLE.search(title)
    return int(m.group(1)) if m else None


def _year_start(year: int | None) -> int | None:
    return None if year is None else int(datetime(year, 1, 1, tzinfo=UTC).timestamp())


def movielens_100k(folder: str | Path | None = None) -> Tables:
    """MovieLens-100k as Personalize datasets.

    - interactions: USER_ID, ITEM_ID (string), TIMESTAMP (int64 unix seconds), EVENT_TYPE
      ("rating"), EVENT_VALUE (float32, the 1-5 rating); sorted by TIMESTAMP, then USER_ID.
    - users: USER_ID, AGE (int32), GENDER ("M"/"F"), OCCUPATION, ZIP (string: some are Canadian).
    - items: ITEM_ID, TITLE, YEAR (int32, null when unknown), GENRES (``|``-joined, e.g.
      ``Animation|Children's|Comedy``), CREATION_TIMESTAMP (int64: 1 January of the release
      year, UTC; null when unknown; negative before 1970).
    """
    where = movielens_folder(folder)
    inter = _read_tsv(
        where / "ml-100k.inter",
        {"USER_ID": pa.string(), "ITEM_ID": pa.string(), "r": pa.float32(), "t": pa.int64()},
    )
    interactions = pa.table(
        {
            "USER_ID": inter["USER_ID"],
            "ITEM_ID": inter["ITEM_ID"],
            "TIMESTAMP": inter["t"],
            "EVENT_TYPE": pa.array(["rating"] * inter.num_rows, pa.string()),
            "EVENT_VALUE": inter["r"],
        }
    )
    interactions = interactions.take(
        pc.sort_indices(
            pa.table(
                {
                    "t": interactions["TIMESTAMP"],
                    "u": pc.cast(interactions["USER_ID"], pa.int64()),
                    "i": pc.cast(interactions["ITEM_ID"], pa.int64()),
                }
            ),
            sort_keys=[("t", "ascending"), ("u", "ascending"), ("i", "ascending")],
        )
    )
    users = _read_tsv(
        where / "ml-100k.user",
        {
            "USER_ID": pa.string(),
            "AGE": pa.int32(),
            "GENDER": pa.string(),
            "OCCUPATION": pa.string(),
            "ZIP": pa.string(),
        },
    )
    raw = _read_tsv(
        where / "ml-100k.item",
        {"ITEM_ID": pa.string(), "TITLE": pa.string(), "y": pa.string(), "g": pa.string()},
    )
    titles = raw["TITLE"].to_pylist()
    years = [_year(y, t) for y, t in zip(raw["y"].to_pylist(), titles, strict=True)]
    titles = [_YEAR_IN_TITLE.sub("", t).rstrip() or t for t in titles]
    # recbole writes the genres space-separated; no genre name has a space in it.
    genres = pc.replace_substring(raw["g"], " ", "|")
    items = pa.table(
        {
            "ITEM_ID": raw["ITEM_ID"],
            "TITLE": pa.array(titles, pa.string()),
            "YEAR": pa.array(years, pa.int32()),
            "GENRES": genres,
            "CREATION_TIMESTAMP": pa.array([_year_start(y) for y in years], pa.int64()),
        }
    )
    return {"interactions": interactions, "users": users, "items": items}


# --------------------------------------------------------------------------------------------
# A generated shop

# The interactions end here (exclusive), whatever the day: the data must not depend on now().
SHOP_END = datetime(2025, 4, 1, tzinfo=UTC)

# category -> (share of the catalogue, typical price, the sizes it comes in)
CATEGORIES: dict[str, tuple[float, float, tuple[str, ...]]] = {
    "tops": (0.22, 25.0, ("XS", "S", "M", "L", "XL")),
    "trousers": (0.14, 45.0, ("28", "30", "32", "34", "36", "38")),
    "dresses": (0.10, 55.0, ("XS", "S", "M", "L", "XL")),
    "knitwear": (0.09, 50.0, ("XS", "S", "M", "L", "XL")),
    "outerwear": (0.08, 110.0, ("S", "M", "L", "XL")),
    "shoes": (0.12, 75.0, ("37", "38", "39", "40", "41", "42", "43", "44", "45")),
    "sportswear": (0.10, 35.0, ("XS", "S", "M", "L", "XL")),
    "accessories": (0.08, 20.0, ("one size",)),
    "kids": (0.07, 18.0, ("104", "116", "128", "140", "152")),
}
COLOURS = (
    "black",
    "white",
    "navy",
    "grey",
    "beige",
    "red",
    "green",
    "blue",
    "pink",
    "yellow",
)
_COLOUR_SHARE = (0.20, 0.14, 0.12, 0.11, 0.09, 0.08, 0.07, 0.08, 0.06, 0.05)
_STYLES = ("classic", "slim", "relaxed", "linen", "cotton", "wool", "printed", "striped", "basic")
_NOUNS = {
    "tops": "shirt",
    "trousers": "trousers",
    "dresses": "dress",
    "knitwear": "jumper",
    "outerwear": "jacket",
    "shoes": "trainers",
    "sportswear": "leggings",
    "accessories": "scarf",
    "kids": "kids' t-shirt",
}
SEGMENTS = ("budget", "regular", "premium")


def shop(users: int = 2000, items: int = 800, days: int = 90, seed: int = 7) -> Tables:
    """A deterministic clothes shop: ``users`` users, ``items`` items, ``days`` of events.

    - interactions: USER_ID, ITEM_ID, TIMESTAMP (int64 unix seconds, in
      [SHOP_END - days, SHOP_END)), EVENT_TYPE ("view" or "purchase"); sorted by time. Every
      purchase follows a view of the same item by the same user in the same session.
    - users: USER_ID, AGE (int32), GENDER ("F"/"M"), SEGMENT ("budget"/"regular"/"premium").
    - items: ITEM_ID, NAME, CATEGORY, COLOUR, SIZE (the sizes it comes in, ``|``-joined), PRICE
      (float64), CREATION_TIMESTAMP (int64; about 12% of items appear during the window, a
      quarter of those in its last week; none has events before it appears, and new items get
      a burst of attention for a week or two).
    """
    if users < 1 or items < 1 or days < 1:
        raise ValueError("users, items and days must be at least 1")
    rng = np.random.default_rng(seed)
    end = int(SHOP_END.timestamp())
    start = end - days * 86_400
    cats = list(CATEGORIES)
    n_cat, n_col, dim = len(cats), len(COLOURS), 8

    # Hidden taste clusters: who is in them (age, gender), what they like (categories, colours,
    # a price level, a direction in a latent "style" space).
    k = 12
    c_age = rng.uniform(19, 66, k)
    c_female = rng.choice([0.12, 0.5, 0.88], k)
    c_cat = rng.dirichlet(np.full(n_cat, 0.45), k)
    c_col = rng.dirichlet(np.full(n_col, 0.6), k)
    c_price = rng.normal(0.0, 0.45, k)  # log-price offset the cluster is comfortable with
    c_vec = rng.normal(0.0, 1.0, (k, dim))
    c_size = rng.dirichlet(np.full(k, 3.0))

    # Users
    u_cl = rng.choice(k, users, p=c_size)
    age = np.clip(np.rint(rng.normal(c_age[u_cl], 6.0)), 16, 85).astype(np.int32)
    female = rng.random(users) < c_female[u_cl]
    u_price = c_price[u_cl] + rng.normal(0.0, 0.2, users)
    segment = np.digitize(u_price, np.quantile(u_price, [0.4, 0.85]))  # 40% / 45% / 15%
    u_vec = c_vec[u_cl] + rng.normal(0.0, 0.5, (users, dim))
    u_cat = np.log(c_cat[u_cl] + 0.01)
    u_col = np.log(c_col[u_cl] + 0.02)

    # Items
    shares = np.array([CATEGORIES[c][0] for c in cats])
    i_cat = rng.choice(n_cat, items, p=shares / shares.sum())
    i_col = rng.choice(n_col, items, p=np.array(_COLOUR_SHARE) / sum(_COLOUR_SHARE))
    i_tier = rng.normal(0.0, 0.45, items)  # log-price relative to the category's typical price
    base = np.array([CATEGORIES[c][1] for c in cats])
    price = np.maximum(np.rint(base[i_cat] * np.exp(i_tier)), 3.0) - 0.01
    cat_vec = rng.normal(0.0, 0.7, (n_cat, dim))
    i_vec = cat_vec[i_cat] + rng.normal(0.0, 1.0, (items, dim))
    # Power-law popularity (Zipf-like over a random order), on a log scale.
    rank = rng.permutation(items) + 1
    i_pop = -0.85 * np.log(rank)
    new = rng.random(items) < 0.12
    created = np.where(
        new,
        start + rng.uniform(0.0, 1.0, items) * (end - start - 86_400),
        start - rng.uniform(1.0, 730.0, items) * 86_400,
    ).astype(np.int64)
    latest = new & (rng.random(items) < 0.25)  # a quarter of them in the last week
    created = np.where(latest, end - rng.integers(3_600, 7 * 86_400, items), created)

    # float32 from here on: the session loop below is the time this takes.
    f32 = np.float32
    i_pop, i_tier, i_vec = i_pop.astype(f32), i_tier.astype(f32), i_vec.astype(f32)
    u_cat, u_col, u_vec = u_cat.astype(f32), u_col.astype(f32), u_vec.astype(f32)
    u_price = u_price.astype(f32)

    def gumbel(shape: tuple[int, ...]) -> np.ndarray:
        """Gumbel noise (for sampling without replacement by taking the top scores)."""
        return -np.log(np.maximum(rng.standard_exponential(shape, dtype=f32), f32(1e-30)))

    def liking(who: np.ndarray, pool: np.ndarray) -> np.ndarray:
        """How much each of these users likes each pool item (who x pool), popularity included."""
        out: np.ndarray = (
            i_pop[pool][None, :]
            + u_cat[who][:, i_cat[pool]]
            + f32(1.2) * u_col[who][:, i_col[pool]]
            + (u_vec[who] @ i_vec[pool].T) * f32(1 / np.sqrt(dim))
            - f32(2.0) * np.abs(u_price[who][:, None] - i_tier[pool][None, :])
        )
        return out

    # Sessions: heavy-tailed activity per user; a time (more in the evening, slightly more
    # towards the end of the window); a category the session is about (a fifth wander
    # off it); 1-8 views, best liked first; maybe a purchase of one of them.
    activity = rng.lognormal(0.6, 0.9, users)
    n_sessions = 1 + rng.poisson(activity * days / 30.0)
    s_user = np.repeat(np.arange(users), n_sessions)
    n_s = len(s_user)
    hours = np.array(
        [1, 1, 1, 1, 1, 1, 2, 3, 4, 4, 4, 5, 6, 5, 5, 5, 5, 6, 7, 9, 10, 9, 6, 3], float
    )
    s_day = np.floor(days * rng.random(n_s) ** 0.8).astype(np.int64)
    s_time = np.minimum(
        start
        + np.minimum(s_day, days - 1) * 86_400
        + rng.choice(24, n_s, p=hours / hours.sum()) * 3600
        + rng.integers(0, 3600, n_s),
        end - 3600,  # a session's views and purchase end before `end`
    )
    cat_p = np.exp(u_cat[s_user])
    cat_p /= cat_p.sum(axis=1, keepdims=True)
    s_cat = np.minimum((rng.random(n_s)[:, None] > np.cumsum(cat_p, axis=1)).sum(axis=1), n_cat - 1)
    stray = rng.random(n_s) < 0.2
    s_views = np.minimum(1 + rng.poisson(2.2, n_s), 8)
    s_buys = rng.random(n_s) < np.array([0.10, 0.16, 0.22])[segment[s_user]]

    ev_user: list[np.ndarray] = []
    ev_item: list[np.ndarray] = []
    ev_time: list[np.ndarray] = []
    ev_kind: list[np.ndarray] = []
    # The sessions about one category pick among its items; the wandering ones among all.
    groups = [(~stray & (s_cat == c), np.flatnonzero(i_cat == c)) for c in range(n_cat)]
    groups.append((stray, np.arange(items)))
    for chosen, pool in groups:
        sessions, width = np.flatnonzero(chosen), min(8, len(pool))
        if width == 0:
            continue
        slots = np.arange(width)[None, :]
        step = max(1, 2_000_000 // len(pool))
        for lo in range(0, len(sessions), step):
            ss = sessions[lo : lo + step]
            who, t, m = s_user[ss], s_time[ss], len(ss)
            like = liking(who, pool)
            age_days = (t[:, None] - created[pool][None, :]).astype(f32) / f32(86_400)
            noisy = like + f32(1.4) * np.exp(-np.maximum(age_days, f32(0)) / f32(10))
            noisy += gumbel(like.shape)
            noisy[age_days < 0] = -np.inf  # not in the shop yet
            top = np.argpartition(-noisy, width - 1, axis=1)[:, :width]
            val = np.take_along_axis(noisy, top, axis=1)
            rank = np.argsort(-val, axis=1, kind="stable")
            top = np.take_along_axis(top, rank, axis=1)
            val = np.take_along_axis(val, rank, axis=1)
            seen = (slots < s_views[ss, None]) & np.isfinite(val)
            when = t[:, None] + np.cumsum(rng.integers(20, 240, (m, width)), axis=1)
            rows = np.broadcast_to(who[:, None], (m, width))
            ev_user.append(rows[seen])
            ev_item.append(pool[top[seen]])
            ev_time.append(when[seen])
            ev_kind.append(np.zeros(int(seen.sum()), np.int8))
            # The purchase: the viewed item the user likes most, give or take.
            pick = np.take_along_axis(like, top, axis=1) + gumbel((m, width))
            pick[~seen] = -np.inf
            buy = s_buys[ss] & seen[:, 0]
            j = np.argmax(pick, axis=1)[buy]
            ev_user.append(who[buy])
            ev_item.append(pool[top[buy, j]])
            ev_time.append(when[buy, j] + rng.integers(60, 900, int(buy.sum())))
            ev_kind.append(np.ones(int(buy.sum()), np.int8))

    e_user = np.concatenate(ev_user)
    e_item = np.concatenate(ev_item)
    e_time = np.minimum(np.concatenate(ev_time), end - 1)
    e_kind = np.concatenate(ev_kind)
    order = np.lexsort((e_kind, e_item, e_user, e_time))

    uw, iw = len(str(users)), len(str(items))
    user_ids = np.array([f"u{n:0{uw}d}" for n in range(1, users + 1)], dtype=object)
    item_ids = np.array([f"i{n:0{iw}d}" for n in range(1, items + 1)], dtype=object)
    interactions = pa.table(
        {
            "USER_ID": pa.array(user_ids[e_user[order]], pa.string()),
            "ITEM_ID": pa.array(item_ids[e_item[order]], pa.string()),
            "TIMESTAMP": pa.array(e_time[order], pa.int64()),
            "EVENT_TYPE": pa.array(
                np.array(["view", "purchase"], dtype=object)[e_kind[order]], pa.string()
            ),
        }
    )
    users_t = pa.table(
        {
            "USER_ID": pa.array(user_ids, pa.string()),
            "AGE": pa.array(age, pa.int32()),
            "GENDER": pa.array(np.where(female, "F", "M").astype(object), pa.string()),
            "SEGMENT": pa.array(np.array(SEGMENTS, dtype=object)[segment], pa.string()),
        }
    )
    style = rng.choice(len(_STYLES), items)
    items_t = pa.table(
        {
            "ITEM_ID": pa.array(item_ids, pa.string()),
            "NAME": pa.array(
                [
                    f"{_STYLES[s]} {COLOURS[c]} {_NOUNS[cats[g]]}"
                    for s, c, g in zip(style, i_col, i_cat, strict=True)
                ],
                pa.string(),
            ),
            "CATEGORY": pa.array([cats[g] for g in i_cat], pa.string()),
            "COLOUR": pa.array([COLOURS[c] for c in i_col], pa.string()),
            "SIZE": pa.array(["|".join(CATEGORIES[cats[g]][2]) for g in i_cat], pa.string()),
            "PRICE": pa.array(price, pa.float64()),
            "CREATION_TIMESTAMP": pa.array(created, pa.int64()),
        }
    )
    return {"interactions": interactions, "users": users_t, "items": items_t}


def write_csv(tables: Tables, folder: str | Path) -> dict[str, Path]:
    """Each table as ``<name>.csv`` in folder (created if need be); returns name -> path."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, table in tables.items():
        path = out / f"{name}.csv"
        pacsv.write_csv(table, path)
        paths[name] = path
    return paths


def describe(tables: Tables) -> dict[str, Any]:
    """Row counts and the event-type mix, for logs and the demo."""
    inter = tables["interactions"]
    kinds = pc.value_counts(inter["EVENT_TYPE"]).to_pylist()
    return {
        "interactions": inter.num_rows,
        "users": tables["users"].num_rows,
        "items": tables["items"].num_rows,
        "event_types": {k["values"]: k["counts"] for k in kinds},
    }
