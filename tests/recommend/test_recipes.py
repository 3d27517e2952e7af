"""Recipes: each one does what its Personalize namesake promises, checked on data built to show it.

Quality is checked by strong generalisation (held-out users folded in, as the spec's protocol):
on a seeded synthetic catalogue with latent clusters and power-law popularity, and on MovieLens-100k
when ``.tools/data/ml-100k`` is present. EASE and iALS must beat popularity by 1.5x recall@20.
Formulas are checked against dense numpy written from the papers, and iALS fold-in against
implicit's own ``recalculate_user``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from oaklake.errors import InvalidInput
from oaklake.recommend.matrix import TrainData, from_pairs
from oaklake.recommend.models import (
    EaseModel,
    IalsModel,
    ItemSimilarityModel,
    Model,
    TrendingModel,
    top_k_rows,
)
from oaklake.recommend.recipes import (
    RECIPES,
    _mirror_upper,
    ease_weights,
    load_model,
    trend_window,
    user_attribute_lift,
    validate_params,
)

DAY = 86_400
T0 = 1_700_000_000
ML100K = Path(__file__).resolve().parents[2] / ".tools" / "data" / "ml-100k" / "ml-100k.inter"
N_CLUSTERS = 8


# ---- data ----------------------------------------------------------------------------------


class Synthetic:
    """Users who mostly pick items of their own taste cluster, popular items more often.

    Extra planted facts: items ``pair`` are bought together by 40 users; item ``cold`` (the last)
    has attributes (cluster 3) but no interactions and was created at the latest timestamp.
    Users have attributes too: their cluster (``cluster=c``) and a noise value (``noise=0|1``).
    """

    def __init__(self, seed: int = 7, n_users: int = 1500, n_items: int = 400) -> None:
        rng = np.random.default_rng(seed)
        self.item_cluster = rng.integers(0, N_CLUSTERS, n_items)
        weight = 1.0 / (1.0 + rng.permutation(n_items)) ** 0.9  # power-law popularity
        user_cluster = rng.integers(0, N_CLUSTERS, n_users)
        self.user_cluster = user_cluster
        users: list[np.ndarray] = []
        items: list[np.ndarray] = []
        # The planted pair: two of the rarest items, in different clusters.
        rare = np.argsort(weight)
        a = int(rare[0])
        b = int(next(i for i in rare[1:] if self.item_cluster[i] != self.item_cluster[a]))
        self.pair = (a, b)
        weight[[a, b]] = 0.0
        for u in range(n_users):
            n = int(rng.integers(8, 40))
            own = np.flatnonzero((self.item_cluster == user_cluster[u]) & (weight > 0))
            n_own = min(rng.binomial(n, 0.8), len(own))
            picks = np.concatenate(
                [
                    rng.choice(own, n_own, replace=False, p=weight[own] / weight[own].sum()),
                    rng.choice(n_items, n - n_own, p=weight / weight.sum()),
                ]
            )
            if u < 40:
                picks = np.concatenate([picks, [a, b]])
            picks = np.unique(picks)
            users.append(np.full(len(picks), u))
            items.append(picks)
        self.n_users, self.n_items = n_users, n_items + 1  # + the cold item
        self.cold = n_items
        self.item_cluster = np.append(self.item_cluster, 3)
        self.users = np.concatenate(users).astype(np.int32)
        self.items = np.concatenate(items).astype(np.int32)
        self.times = T0 + rng.integers(0, 60 * DAY, len(self.users))
        order = np.argsort(self.times, kind="stable")
        self.users, self.items, self.times = self.users[order], self.items[order], self.times[order]
        # Attributes: the cluster, plus a noise attribute with 3 values.
        noise = rng.integers(0, 3, self.n_items)
        rows = np.repeat(np.arange(self.n_items), 2)
        cols = np.stack([self.item_cluster, N_CLUSTERS + noise], axis=1).ravel()
        self.features = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(self.n_items, N_CLUSTERS + 3)
        )
        self.created = np.full(self.n_items, -1, dtype=np.int64)
        self.created[self.cold] = int(self.times.max())
        user_noise = rng.integers(0, 2, n_users)
        rows = np.repeat(np.arange(n_users), 2)
        cols = np.stack([user_cluster, N_CLUSTERS + user_noise], axis=1).ravel()
        self.user_features = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, N_CLUSTERS + 2)
        )
        self.user_feature_names = [f"cluster={c}" for c in range(N_CLUSTERS)] + [
            "noise=0",
            "noise=1",
        ]

    def train_data(self, keep_users: np.ndarray | None = None) -> TrainData:
        mask = np.ones(len(self.users), bool) if keep_users is None else keep_users[self.users]
        u, i, t = self.users[mask], self.items[mask], self.times[mask]
        return TrainData(
            matrix=from_pairs(u, i, self.n_users, self.n_items),
            events_user=u,
            events_item=i,
            events_time=t,
            item_features=self.features,
            feature_names=[f"cluster={c}" for c in range(N_CLUSTERS)]
            + ["noise=0", "noise=1", "noise=2"],
            item_created=self.created,
            user_features=self.user_features,
            user_feature_names=self.user_feature_names,
        )


class Split:
    """Strong generalisation: 20% of users never trained on; each folds in a random 80% of its
    items and must find the other 20%."""

    def __init__(
        self,
        users: np.ndarray,
        items: np.ndarray,
        times: np.ndarray,
        n_users: int,
        n_items: int,
        features: sp.csr_matrix | None = None,
        seed: int = 98765,
    ) -> None:
        rng = np.random.default_rng(seed)
        held = rng.random(n_users) < 0.2
        keep = ~held[users]
        self.train = TrainData(
            matrix=from_pairs(users[keep], items[keep], n_users, n_items),
            events_user=users[keep],
            events_item=items[keep],
            events_time=times[keep],
            item_features=features,
        )
        full = from_pairs(users, items, n_users, n_items)
        fold: list[np.ndarray] = []
        self.targets: list[np.ndarray] = []
        for u in np.flatnonzero(held):
            seen = full.indices[full.indptr[u] : full.indptr[u + 1]]
            if len(seen) < 5:
                continue
            seen = rng.permutation(seen)
            cut = round(0.8 * len(seen))
            fold.append(seen[:cut])
            self.targets.append(seen[cut:])
        rows = np.repeat(np.arange(len(fold)), [len(f) for f in fold])
        self.history = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, np.concatenate(fold))),
            shape=(len(fold), n_items),
        )

    def recall(self, model: Model, k: int = 20, **score_kwargs: Any) -> float:
        scores = model.score_users(self.history, **score_kwargs)
        assert scores.shape == self.history.shape and scores.dtype == np.float32
        scores[self.history.nonzero()] = -np.inf  # folded-in items are not predictions
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        hits = [len(np.intersect1d(top[r], t)) / min(k, len(t)) for r, t in enumerate(self.targets)]
        return float(np.mean(hits))


@pytest.fixture(scope="module")
def synth() -> Synthetic:
    return Synthetic()


@pytest.fixture(scope="module")
def data(synth: Synthetic) -> TrainData:
    return synth.train_data()


@pytest.fixture(scope="module")
def split(synth: Synthetic) -> Split:
    return Split(
        synth.users, synth.items, synth.times, synth.n_users, synth.n_items, synth.features
    )


@pytest.fixture(scope="module")
def models(data: TrainData) -> dict[str, Model]:
    """One model per recipe (plus iALS forced), trained once on the whole synthetic set."""
    out = {name: recipe.fit(data) for name, recipe in RECIPES.items()}
    out["ials"] = RECIPES["user-personalization"].fit(data, {"algorithm": "ials"})
    return out


def recall_table(split: Split) -> dict[str, float]:
    pop = RECIPES["popularity-count"].fit(split.train)
    ease = RECIPES["user-personalization"].fit(split.train, {"exploration_weight": 0})
    ials = RECIPES["user-personalization"].fit(
        split.train, {"algorithm": "ials", "exploration_weight": 0}
    )
    sims = RECIPES["sims"].fit(split.train)
    return {
        "popularity": split.recall(pop),
        "ease": split.recall(ease),
        "ials": split.recall(ials),
        "sims": split.recall(sims),
    }


# ---- registry and hyper-parameters ---------------------------------------------------------


def test_registry_names_kinds_and_defaults():
    assert list(RECIPES) == [
        "popularity-count",
        "trending-now",
        "sims",
        "similar-items",
        "user-personalization",
        "personalized-ranking",
    ]
    kinds = {name: r.kind for name, r in RECIPES.items()}
    assert kinds == {
        "popularity-count": "USER_PERSONALIZATION",
        "trending-now": "POPULAR_ITEMS",
        "sims": "RELATED_ITEMS",
        "similar-items": "RELATED_ITEMS",
        "user-personalization": "USER_PERSONALIZATION",
        "personalized-ranking": "PERSONALIZED_RANKING",
    }
    up = RECIPES["user-personalization"].defaults
    assert up["lambda"] == 200.0 and up["algorithm"] == "auto" and up["max_ease_items"] == 10_000
    assert (up["factors"], up["regularization"], up["alpha"], up["iterations"]) == (
        128,
        10.0,
        1.0,
        15,
    )
    assert up["exploration_weight"] == 0.3 and up["exploration_item_age_cutoff_days"] == 30.0
    assert RECIPES["personalized-ranking"].defaults["exploration_weight"] == 0.0
    assert RECIPES["similar-items"].defaults["attribute_weight"] == 0.3
    assert RECIPES["sims"].defaults == {"popularity_discount_factor": 0.6, "neighbours": 200}
    assert RECIPES["trending-now"].defaults == {"trend_window_seconds": None}
    assert RECIPES["popularity-count"].defaults == {}
    for name, recipe in RECIPES.items():
        assert validate_params(name, None) == recipe.defaults
        assert validate_params(name, recipe.defaults) == recipe.defaults
        recipe.defaults["x"] = 1  # a fresh dict each time
        assert "x" not in recipe.defaults


def test_validate_params_coerces_strings_like_personalize():
    got = validate_params(
        "user-personalization", {"lambda": "350", "factors": "64", "iterations": 3.0}
    )
    assert got["lambda"] == 350.0 and isinstance(got["lambda"], float)
    assert got["factors"] == 64 and isinstance(got["factors"], int)
    assert got["iterations"] == 3 and isinstance(got["iterations"], int)
    assert validate_params("trending-now", {"trend_window_seconds": "3600"}) == {
        "trend_window_seconds": 3600
    }
    assert validate_params("trending-now", {"trend_window_seconds": "auto"}) == {
        "trend_window_seconds": None
    }


def test_unknown_parameter_names_every_valid_one():
    with pytest.raises(InvalidInput) as info:
        validate_params("user-personalization", {"lamda": 10})
    err = info.value
    assert err.code == "REC_INVALID_PARAMS"
    assert "did you mean 'lambda'" in err.message
    for name in RECIPES["user-personalization"].defaults:
        assert name in (err.hint or "")
    with pytest.raises(InvalidInput) as info:
        validate_params("popularity-count", {"neighbours": 5})
    assert info.value.code == "REC_INVALID_PARAMS"
    assert "takes no hyper-parameters" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("recipe", "params"),
    [
        ("user-personalization", {"lambda": 0}),
        ("user-personalization", {"lambda": -5}),
        ("user-personalization", {"algorithm": "svd"}),
        ("user-personalization", {"factors": 2.5}),
        ("user-personalization", {"factors": True}),
        ("user-personalization", {"factors": "many"}),
        ("user-personalization", {"alpha": float("nan")}),
        ("user-personalization", {"exploration_weight": 1.5}),
        ("user-personalization", {"exploration_item_age_cutoff_days": 0}),
        ("user-personalization", {"user_attribute_weight": -0.5}),
        ("user-personalization", {"user_attribute_weight": "lots"}),
        ("user-personalization", {"user_attribute_weight": float("inf")}),
        ("personalized-ranking", {"user_attribute_weight": True}),
        ("sims", {"popularity_discount_factor": -0.1}),
        ("sims", {"neighbours": 0}),
        ("similar-items", {"attribute_weight": 2}),
        ("trending-now", {"trend_window_seconds": 0}),
        ("user-personalization", {"algorithm": None}),
        ("sims", [("neighbours", 5)]),
    ],
)
def test_bad_values_are_refused_with_what_is_accepted(recipe: str, params: Any):
    with pytest.raises(InvalidInput) as info:
        validate_params(recipe, params)
    assert info.value.code == "REC_INVALID_PARAMS"
    assert info.value.hint
    if isinstance(params, dict):
        (name,) = params
        assert name in info.value.hint


def test_unknown_recipe():
    with pytest.raises(InvalidInput) as info:
        validate_params("simz", {})
    assert info.value.code == "REC_UNKNOWN_RECIPE"
    assert "did you mean 'sims'" in info.value.message
    assert "user-personalization" in (info.value.hint or "")


def test_fit_refuses_empty_data_and_validates_params(data: TrainData):
    empty = TrainData(
        matrix=sp.csr_matrix((3, 4), dtype=np.float32),
        events_user=np.zeros(0, np.int32),
        events_item=np.zeros(0, np.int32),
        events_time=np.zeros(0, np.int64),
    )
    for recipe in RECIPES.values():
        with pytest.raises(InvalidInput) as info:
            recipe.fit(empty)
        assert info.value.code == "REC_NOT_ENOUGH_DATA"
    with pytest.raises(InvalidInput) as info:
        RECIPES["sims"].fit(data, {"neighbors": 10})
    assert info.value.code == "REC_INVALID_PARAMS"


# ---- popularity-count ----------------------------------------------------------------------


def test_popularity_counts_distinct_users_not_events():
    # Item 0: one user, 50 events. Item 1: three users, one event each. Item 2: nobody.
    users = np.array([0] * 50 + [0, 1, 2])
    items = np.array([0] * 50 + [1, 1, 1])
    data = TrainData(
        matrix=from_pairs(users, items, 3, 3),
        events_user=users,
        events_item=items,
        events_time=T0 + np.arange(len(users)),
    )
    model = RECIPES["popularity-count"].fit(data)
    assert model.popularity().tolist() == [1.0, 3.0, 0.0]
    scores = model.score_users(sp.csr_matrix(np.eye(3, dtype=np.float32)))
    assert scores.shape == (3, 3) and scores.dtype == np.float32
    assert (scores == [1.0, 3.0, 0.0]).all()  # the same list for everybody
    assert model.params == {} and model.n_items == 3 and model.kind == "USER_PERSONALIZATION"


# ---- trending-now --------------------------------------------------------------------------


def trending_data(window: int = DAY) -> TrainData:
    """Item 0: 30 users a window, steadily (the most popular). Item 1: 2 users, then 25 in the
    latest window. Item 2: 5 users then 6 (rises by 1). Items 3 and 4: no change, 4 more popular."""
    rows: list[tuple[int, int, int]] = []
    end = T0 + 10 * window
    user = 0

    def add(item: int, count: int, start: int) -> None:
        nonlocal user
        for k in range(count):
            rows.append((user, item, start + 1 + (k * (window - 2)) // max(count, 1)))
            user += 1

    for w in range(10):  # item 0 steady over ten windows
        add(0, 30, end - (w + 1) * window)
    add(1, 2, end - 2 * window)
    add(1, 25, end - window)
    add(2, 5, end - 2 * window)
    add(2, 6, end - window)
    for w in range(2):
        add(3, 3, end - (w + 1) * window)
        add(4, 8, end - (w + 1) * window)
    rows.sort(key=lambda r: r[2])
    u, i, t = (np.array(c) for c in zip(*rows, strict=True))
    return TrainData(
        matrix=from_pairs(u, i, user, 5),
        events_user=u.astype(np.int32),
        events_item=i.astype(np.int32),
        events_time=t.astype(np.int64),
    )


def test_trending_ranks_the_sudden_riser_first_and_breaks_ties_by_popularity():
    data = trending_data()
    model = RECIPES["trending-now"].fit(data, {"trend_window_seconds": DAY})
    assert isinstance(model, TrendingModel) and model.kind == "POPULAR_ITEMS"
    scores = model.score_users(sp.csr_matrix((2, 5), dtype=np.float32))
    assert (scores[0] == scores[1]).all()
    order = np.argsort(-scores[0]).tolist()
    # Riser (+23), small riser (+1), then no change ordered by popularity: 0 (300), 4, 3.
    assert order == [1, 2, 0, 4, 3]
    assert scores.max() <= 1.0 and scores[0, 1] >= 0.95  # normalised
    assert model.info["rising_items"] == 2
    # Popularity alone would put the steady bestseller first.
    assert int(np.argmax(model.popularity())) == 0


def test_trending_window_defaults_to_a_day_or_a_quarter_of_a_short_span():
    assert trend_window(np.array([T0, T0 + 30 * DAY]), None) == DAY
    assert trend_window(np.array([T0, T0 + 2 * DAY]), None) == DAY // 2
    assert trend_window(np.array([T0, T0 + 2 * DAY]), 600) == 600
    # The trending fixture with hour-long windows spans 10 hours: auto picks 2.5 h, and with
    # that the riser still comes first (its burst is inside the latest 2.5 h).
    hourly = trending_data(window=3600)
    model = RECIPES["trending-now"].fit(hourly)
    assert 2 * 3600 < model.info["trend_window_seconds"] <= 10 * 3600 // 4
    assert int(np.argmax(model.score_users(sp.csr_matrix((1, 5)))[0])) == 1


# ---- sims and similar-items ----------------------------------------------------------------


def test_sims_related_returns_the_items_bought_together(synth: Synthetic, models: dict[str, Model]):
    sims = models["sims"]
    assert isinstance(sims, ItemSimilarityModel) and sims.kind == "RELATED_ITEMS"
    a, b = synth.pair
    assert int(np.argmax(sims.related(a))) == b
    assert int(np.argmax(sims.related(b))) == a
    for item in (a, b, 0, 17):
        assert sims.related(item)[item] == 0.0  # never related to itself
    # Neighbours of an ordinary item are mostly from its own taste cluster.
    item = int(np.argmax(sims.popularity()))
    top = np.argsort(-sims.related(item))[:10]
    assert (synth.item_cluster[top] == synth.item_cluster[item]).mean() >= 0.8
    assert (np.diff(sims.similarity.indptr) <= 200).all()


def rp3beta_dense(x: np.ndarray, beta: float) -> np.ndarray:
    """RP3beta from Paudel et al. 2016, written directly: P(i->u) P(u->j) / pop_j^beta."""
    x = (x > 0).astype(np.float64)
    p_ui = x / np.maximum(x.sum(axis=1, keepdims=True), 1)
    p_iu = x.T / np.maximum(x.sum(axis=0)[:, None], 1)
    w = p_iu @ p_ui
    pop = x.sum(axis=0)
    w = w / np.where(pop > 0, pop, np.inf) ** beta
    np.fill_diagonal(w, 0.0)
    return w


def test_sims_matches_rp3beta_written_from_the_paper():
    rng = np.random.default_rng(3)
    x = (rng.random((60, 25)) < 0.2) * rng.integers(1, 4, (60, 25))
    data = TrainData(
        matrix=sp.csr_matrix(x.astype(np.float32)),
        events_user=np.zeros(0, np.int32),
        events_item=np.zeros(0, np.int32),
        events_time=np.zeros(0, np.int64),
    )
    model = RECIPES["sims"].fit(data, {"popularity_discount_factor": 0.6, "neighbours": 100})
    assert isinstance(model, ItemSimilarityModel)
    np.testing.assert_allclose(model.similarity.toarray(), rp3beta_dense(x, 0.6), rtol=1e-5)
    # score_users is the sum of the history items' rows.
    history = sp.csr_matrix(np.array([[0, 2, 0, 1] + [0] * 21], np.float32))
    expected = model.related(1) + model.related(3)
    np.testing.assert_allclose(model.score_users(history)[0], expected, rtol=1e-6)
    # Top-k keeps exactly the k best per row.
    top3 = RECIPES["sims"].fit(data, {"neighbours": 3}).related(4)
    full = model.related(4)
    assert set(np.flatnonzero(top3)) == set(np.argsort(-full)[:3])


def test_top_k_rows_is_the_same_in_small_blocks():
    rng = np.random.default_rng(5)
    dense = rng.random((37, 37)).astype(np.float32) - 0.3

    def rows(r0: int, r1: int) -> np.ndarray:
        return dense[r0:r1].copy()

    one = top_k_rows(rows, 37, 37, 5)
    many = top_k_rows(rows, 37, 37, 5, budget=37 * 4)  # 4 rows a block
    assert (one != many).nnz == 0
    assert (np.diff(one.indptr) <= 5).all() and (one.diagonal() == 0).all() and one.min() >= 0


def test_similar_items_gives_a_cold_item_neighbours_from_its_attributes(
    synth: Synthetic, models: dict[str, Model]
):
    sims, similar = models["sims"], models["similar-items"]
    assert not sims.related(synth.cold).any()  # no interactions: sims knows nothing
    scores = similar.related(synth.cold)
    top = np.argsort(-scores)[:10]
    assert (scores[top] > 0).all()
    assert (synth.item_cluster[top] == 3).all()  # same attribute cluster
    # Ties on identical attributes go to the popular items.
    pop = similar.popularity()
    assert pop[top[:3]].min() >= np.sort(pop[synth.item_cluster == 3])[-10]
    # Interaction neighbours still lead for a well-known item.
    a, b = synth.pair
    assert int(np.argmax(similar.related(a))) == b
    assert similar.info["attributes_used"] is True


def test_similar_items_without_attributes_is_sims_rescaled(data: TrainData):
    plain = TrainData(data.matrix, data.events_user, data.events_item, data.events_time)
    similar = RECIPES["similar-items"].fit(plain)
    sims = RECIPES["sims"].fit(plain)
    for item in (0, 5, 50):
        s, t = similar.related(item), sims.related(item)
        np.testing.assert_allclose(s, t / t.max(), rtol=1e-5)
    assert similar.info["attributes_used"] is False


# ---- user-personalization ------------------------------------------------------------------


def test_ease_weights_match_the_closed_form():
    rng = np.random.default_rng(11)
    x = ((rng.random((80, 30)) < 0.25) * 1.0).astype(np.float32)
    got = ease_weights(sp.csr_matrix(x), 15.0)
    p = np.linalg.inv(x.T.astype(np.float64) @ x + 15.0 * np.eye(30))
    expected = -p / np.diag(p)[None, :]
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-7)
    assert got.dtype == np.float32 and (np.diag(got) == 0).all()


def test_mirror_upper_in_blocks():
    a = np.arange(49, dtype=np.float64).reshape(7, 7)
    upper = np.triu(a)
    _mirror_upper(a, step=3)
    np.testing.assert_array_equal(a, upper + np.triu(upper, 1).T)


def test_auto_picks_ease_for_small_catalogues_and_ials_beyond(
    data: TrainData, models: dict[str, Model]
):
    assert isinstance(models["user-personalization"], EaseModel)
    assert models["user-personalization"].info["algorithm"] == "ease"
    assert isinstance(models["ials"], IalsModel)
    small_cap = RECIPES["user-personalization"].fit(
        data, {"max_ease_items": 100, "iterations": 2, "factors": 8}
    )
    assert isinstance(small_cap, IalsModel) and small_cap.info["algorithm"] == "ials"
    assert small_cap.item_factors.shape == (data.n_items, 8)


def test_ials_fold_in_matches_implicits_recalculate_user(split: Split):
    from implicit.cpu.als import AlternatingLeastSquares

    from oaklake.recommend.models import confidence, one_blas_thread

    model = RECIPES["user-personalization"].fit(
        split.train, {"algorithm": "ials", "factors": 16, "alpha": 2.0, "iterations": 5}
    )
    assert isinstance(model, IalsModel)
    history = split.history[:25].copy()
    history.data[::3] = 4.0  # repeated interactions weigh more
    with one_blas_thread():
        reference = AlternatingLeastSquares(factors=16, regularization=10.0, alpha=2.0)
    reference.item_factors = model.item_factors
    theirs = reference.recalculate_user(np.arange(25), confidence(history))
    np.testing.assert_allclose(model.user_factors(history), theirs, atol=1e-4)


def test_personalization_beats_popularity_on_synthetic_data(split: Split):
    got = recall_table(split)
    print("synthetic R@20", {k: round(v, 3) for k, v in got.items()})
    assert got["ease"] >= 1.5 * got["popularity"]
    assert got["ials"] >= 1.5 * got["popularity"]
    assert got["sims"] >= 1.3 * got["popularity"]


def load_ml100k() -> tuple[np.ndarray, ...]:
    raw = np.loadtxt(ML100K, skiprows=1, dtype=np.int64, usecols=(0, 1, 3))
    _, users = np.unique(raw[:, 0], return_inverse=True)
    _, items = np.unique(raw[:, 1], return_inverse=True)
    order = np.argsort(raw[:, 2], kind="stable")
    return users[order], items[order], raw[order, 2], users.max() + 1, items.max() + 1


@pytest.mark.skipif(not ML100K.exists(), reason="MovieLens-100k not in .tools/data (make setup)")
def test_personalization_beats_popularity_on_movielens_100k():
    users, items, times, n_users, n_items = load_ml100k()
    split = Split(users, items, times, int(n_users), int(n_items))
    got = recall_table(split)
    print("ml-100k R@20", {k: round(v, 3) for k, v in got.items()})
    # Spec §2 (all ratings positive, 80/20 fold-in): popularity ~0.2, EASE/iALS ~0.4+.
    assert 0.15 <= got["popularity"] <= 0.3
    assert got["ease"] >= 1.5 * got["popularity"]
    assert got["ials"] >= 1.5 * got["popularity"]
    assert got["sims"] >= 1.3 * got["popularity"]


def test_a_user_with_no_history_gets_popular_items(models: dict[str, Model]):
    empty = sp.csr_matrix((2, models["sims"].n_items), dtype=np.float32)
    for name in ("sims", "similar-items", "user-personalization", "ials", "personalized-ranking"):
        model = models[name]
        scores = model.score_users(empty)
        pop = model.popularity()
        weight = model.params.get("exploration_weight", 0.0)
        expected = pop / pop.max() + weight * model.exploration_boost()
        np.testing.assert_allclose(scores, np.tile(expected, (2, 1)), rtol=1e-6, err_msg=name)


def test_score_one_is_score_users_of_one_row(data: TrainData, models: dict[str, Model]):
    """The service's per-request path (no sparse matrices) gives the batch path's scores, for
    every model, with repeats in the history and for an empty one, with and without user
    features."""
    rng = np.random.default_rng(5)
    n, n_features = data.n_items, data.user_features.shape[1]
    for name, model in models.items():
        for size in (0, 1, 7, 40):
            for features in ([], [2], [2, 9, 2]):  # repeats count once
                items = rng.integers(0, n, size=size)
                history = np.concatenate([items, items[: size // 2]])  # repeats count once
                row = np.zeros(n, dtype=np.float32)
                row[items] = 1.0
                f_row = np.zeros(n_features, dtype=np.float32)
                f_row[features] = 1.0
                expected = model.score_users(
                    sp.csr_matrix(row[None, :]), user_features=sp.csr_matrix(f_row[None, :])
                )[0]
                got = model.score_one(history, user_features=features)
                assert got.shape == (n,) and got.dtype == np.float32, name
                np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=name)
                if not features:
                    np.testing.assert_array_equal(got, model.score_one(history), err_msg=name)
        with pytest.raises(InvalidInput) as e:
            model.score_one([0, n])
        assert e.value.code == "REC_INVALID_ARGUMENT", name
    for name in ("user-personalization", "ials", "personalized-ranking"):
        model = models[name]
        assert model.n_user_features == n_features, name
        with pytest.raises(InvalidInput) as e:
            model.score_one([0], user_features=[n_features])
        assert e.value.code == "REC_INVALID_ARGUMENT", name
        with pytest.raises(InvalidInput) as e:  # one feature row per history row
            model.score_users(sp.csr_matrix((2, n)), user_features=data.user_features[:3])
        assert e.value.code == "REC_INVALID_ARGUMENT", name


def test_exploration_lifts_a_new_cold_item_and_weight_zero_is_pure(
    synth: Synthetic, data: TrainData, models: dict[str, Model]
):
    model = models["user-personalization"]
    assert isinstance(model, EaseModel)
    boost = model.exploration_boost()
    assert boost[synth.cold] == 1.0  # created at the latest interaction, nobody has it
    # Items first seen long before the cut-off get nothing.
    first_seen = np.full(data.n_items, np.iinfo(np.int64).max)
    np.minimum.at(first_seen, data.events_item, data.events_time)
    old = first_seen < data.events_time.max() - 31 * DAY
    assert old.sum() > 100 and (boost[old] == 0).all()

    history = sp.csr_matrix(data.matrix[:50])
    pure = model.score_users(history, exploration_weight=0)
    rows = [model.related(i) for i in history[0].indices]
    np.testing.assert_allclose(pure[0], np.sum(rows, axis=0), rtol=1e-4, atol=1e-6)
    ranks = {}
    for weight in (0.0, 0.3, 1.0):
        scores = model.score_users(history, exploration_weight=weight)
        ranks[weight] = (scores > scores[:, [synth.cold]]).sum(axis=1)
    assert np.median(ranks[0.0]) > 50  # the model alone never recommends it
    assert (ranks[0.3] < ranks[0.0]).all()
    assert (ranks[1.0] <= 1).all()
    # The trained default (0.3) is what score_users uses without an override.
    np.testing.assert_array_equal(
        model.score_users(history), model.score_users(history, exploration_weight=0.3)
    )


def test_personalized_ranking_is_the_user_personalization_scorer(
    data: TrainData, models: dict[str, Model]
):
    ranking = models["personalized-ranking"]
    assert ranking.kind == "PERSONALIZED_RANKING" and ranking.params["exploration_weight"] == 0.0
    history = sp.csr_matrix(data.matrix[:20])
    np.testing.assert_array_equal(
        ranking.score_users(history),
        models["user-personalization"].score_users(history, exploration_weight=0),
    )


def test_related_for_personalization_models(synth: Synthetic, models: dict[str, Model]):
    a, b = synth.pair
    assert int(np.argmax(models["user-personalization"].related(a))) == b
    ials = models["ials"].related(a)
    assert ials[a] == 0.0 and ials.dtype == np.float32 and ials.max() <= 1.0 + 1e-6


def test_caller_mistakes_are_invalid_arguments(models: dict[str, Model]):
    model = models["user-personalization"]
    with pytest.raises(InvalidInput) as info:
        model.score_users(sp.csr_matrix((1, model.n_items + 3), dtype=np.float32))
    assert info.value.code == "REC_INVALID_ARGUMENT"
    for bad in (-1, model.n_items):
        with pytest.raises(InvalidInput) as info:
            model.related(bad)
        assert info.value.code == "REC_INVALID_ARGUMENT"


# ---- save / load ---------------------------------------------------------------------------


def test_save_load_round_trips_every_recipe(
    tmp_path: Path, data: TrainData, models: dict[str, Model]
):
    history = sp.csr_matrix(data.matrix[:30])
    for name, model in models.items():
        folder = tmp_path / name
        model.save(folder)
        assert sorted(p.name for p in folder.iterdir()) == ["model.json", "model.npz"]
        meta = json.loads((folder / "model.json").read_text())
        assert meta["recipe"] == model.recipe and meta["params"] == model.params
        loaded = load_model(folder)
        assert type(loaded) is type(model)
        assert (loaded.recipe, loaded.kind, loaded.n_items) == (
            model.recipe,
            model.kind,
            model.n_items,
        )
        assert loaded.params == model.params and loaded.info == model.info
        np.testing.assert_array_equal(loaded.score_users(history), model.score_users(history))
        features = data.user_features[:30]
        np.testing.assert_array_equal(
            loaded.score_users(history, user_features=features),
            model.score_users(history, user_features=features),
        )
        assert loaded.n_user_features == model.n_user_features
        np.testing.assert_array_equal(loaded.related(7), model.related(7))
        np.testing.assert_array_equal(loaded.popularity(), model.popularity())
        np.testing.assert_array_equal(loaded.exploration_boost(), model.exploration_boost())
        assert type(model).load(folder).recipe == model.recipe


def test_load_refuses_the_wrong_type_and_damaged_folders(tmp_path: Path, models: dict[str, Model]):
    models["sims"].save(tmp_path / "sims")
    with pytest.raises(InvalidInput) as info:
        EaseModel.load(tmp_path / "sims")
    assert info.value.code == "REC_BAD_MODEL"
    with pytest.raises(InvalidInput) as info:
        load_model(tmp_path / "nothing-here")
    assert info.value.code == "REC_BAD_MODEL"
    (tmp_path / "sims" / "model.npz").write_bytes(b"not a numpy file")
    with pytest.raises(InvalidInput) as info:
        load_model(tmp_path / "sims")
    assert info.value.code == "REC_BAD_MODEL"


# ---- user attributes -----------------------------------------------------------------------


def cluster_rows(n_items: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """One user per taste cluster with no history: empty rows and their ``cluster=c`` rows."""
    features = sp.csr_matrix(
        (np.ones(N_CLUSTERS, np.float32), (np.arange(N_CLUSTERS), np.arange(N_CLUSTERS))),
        shape=(N_CLUSTERS, N_CLUSTERS + 2),
    )
    return sp.csr_matrix((N_CLUSTERS, n_items), dtype=np.float32), features


def test_a_new_user_with_attributes_gets_what_users_like_them_like(
    synth: Synthetic, data: TrainData, models: dict[str, Model]
):
    """No history: a = 1, the scores are attribute popularity (global popularity times each
    feature value's smoothed lift), and they pick the user's own cluster's items."""
    empty, features = cluster_rows(data.n_items)
    for name in ("user-personalization", "ials"):
        model = models[name]
        assert isinstance(model, EaseModel | IalsModel)
        assert model.info["user_attributes_used"] is True
        assert model.info["user_features"] == synth.user_feature_names
        scores = model.score_users(empty, exploration_weight=0, user_features=features)
        lift = user_attribute_lift(data.matrix, data.user_features)
        pop = model.popularity()
        expected = pop[None, :] * np.exp(lift[:N_CLUSTERS].astype(np.float64))
        expected /= expected.max(axis=1, keepdims=True)
        np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(scores, model.attribute_scores(features), rtol=1e-6)
        top = np.argsort(-scores, axis=1)[:, :20]
        own = (synth.item_cluster[top] == np.arange(N_CLUSTERS)[:, None]).mean()
        popular = np.argsort(-pop)[:20]
        baseline = np.mean([(synth.item_cluster[popular] == c).mean() for c in range(N_CLUSTERS)])
        assert own >= 0.8 and baseline < 0.3, (own, baseline)
    # Without attributes a new user still gets popularity, exploration included.
    model = models["user-personalization"]
    no_features = sp.csr_matrix(features.shape, dtype=np.float32)
    weight = model.params["exploration_weight"]
    pop = model.popularity()
    np.testing.assert_allclose(
        model.score_users(empty, user_features=no_features),
        np.tile(pop / pop.max() + weight * model.exploration_boost(), (N_CLUSTERS, 1)),
        rtol=1e-6,
    )


def test_user_attribute_lift_is_the_smoothed_rate_ratio():
    # 4 users with interactions, 1 without (ignored); feature 0 = users 0, 1, 4; feature 1 = 2.
    x = sp.csr_matrix(
        np.array(
            [[1, 1, 0], [1, 0, 0], [0, 1, 1], [0, 0, 1], [0, 0, 0]],
            dtype=np.float32,
        )
    )
    f = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [0, 0], [1, 0]], dtype=np.float32))
    lift = user_attribute_lift(x, f, prior=2.0)
    p = np.array([2, 2, 2]) / 4
    rate0 = (np.array([2, 1, 0]) + 2 * p) / (2 + 2)
    rate1 = (np.array([0, 1, 1]) + 2 * p) / (1 + 2)
    np.testing.assert_allclose(lift, np.log(np.stack([rate0, rate1]) / p), rtol=1e-6)


def test_attributes_shrink_as_history_grows(data: TrainData):
    """(1 - a) * model + a * attributes, both scaled to max |1|, a = lam / (lam + n)."""
    lam = 2.0
    model = RECIPES["user-personalization"].fit(
        data, {"exploration_weight": 0, "user_attribute_weight": lam}
    )
    assert isinstance(model, EaseModel)
    rows = sp.csr_matrix(data.matrix[:12], dtype=np.float32).tolil()
    for u in range(12):  # histories of 0 to 11 items
        keep = rows.rows[u][:u]
        rows.rows[u], rows.data[u] = keep, [1.0] * len(keep)
    history = sp.csr_matrix(rows)
    features = data.user_features[:12]
    got = model.score_users(history, user_features=features)
    plain = model.score_users(history)  # no attributes: the model alone, popularity when empty
    attr = model.attribute_scores(features)
    for u in range(12):
        a = lam / (lam + u)
        own = plain[u] / np.abs(plain[u]).max() if u else np.zeros_like(plain[u])
        np.testing.assert_allclose(got[u], (1 - a) * own + a * attr[u], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[0], attr[0], rtol=1e-6)  # no history: a = 1


def test_user_attribute_weight_zero_is_the_model_without_attributes(data: TrainData):
    import dataclasses

    params = {"exploration_weight": 0.3}
    off = RECIPES["user-personalization"].fit(data, {**params, "user_attribute_weight": 0})
    plain = RECIPES["user-personalization"].fit(
        dataclasses.replace(data, user_features=None, user_feature_names=[]), params
    )
    assert off.n_user_features == 0 and off.info["user_attributes_used"] is False
    assert "user_attr_lift" not in off._arrays()
    keep = np.ones(20, dtype=np.float32)
    keep[3] = 0.0  # one user without history
    history = sp.csr_matrix(sp.diags(keep) @ data.matrix[:20])
    history.eliminate_zeros()
    features = data.user_features[:20]
    np.testing.assert_array_equal(
        off.score_users(history, user_features=features), plain.score_users(history)
    )
    np.testing.assert_array_equal(off.score_one([], user_features=[1]), plain.score_one([]))
    # A users dataset is needed: without one, the default weight changes nothing either.
    assert plain.n_user_features == 0 and plain.info["user_attributes_used"] is False


def test_models_saved_without_user_attributes_still_load(
    tmp_path: Path, data: TrainData, models: dict[str, Model]
):
    """Versions trained before user attributes have no user_attr_lift array: they load and
    score as they did, ignoring any features the caller passes."""
    for name in ("user-personalization", "ials"):
        folder = tmp_path / name
        models[name].save(folder)
        with np.load(folder / "model.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files if k != "user_attr_lift"}
        assert len(arrays) == len(models[name]._arrays()) - 1
        with open(folder / "model.npz", "wb") as fh:
            np.savez(fh, **arrays)
        old = load_model(folder)
        assert old.n_user_features == 0
        history = sp.csr_matrix(data.matrix[:10])
        np.testing.assert_array_equal(
            old.score_users(history, user_features=data.user_features[:10]),
            old.score_users(history),
        )
        np.testing.assert_array_equal(
            old.score_one([], user_features=[0, 3]), models[name].score_one([])
        )
