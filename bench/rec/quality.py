"""Offline quality on MovieLens-100k: strong generalisation and Personalize's metrics, per recipe.

Data: ``sample.movielens_100k()`` through ``data.build`` with the items dataset reduced to its
genres (Similar-Items' attributes). Strong generalisation (specs/recommend.md §2): ratings > 3.5
kept, users with 5+ of them, 5 disjoint user folds (seed 98765), 80% of each held-out user's
items folded in and 20% predicted; the ratings travel to ``evaluate_strong_generalization`` as
its ``ratings`` (one per event, looked up by (user, item), so they cannot be misaligned).
Personalize's protocol ("PZ", §1.4/§4) runs on every interaction, as Personalize would train:
10% of users held out, oldest 90% folded in, newest 10% predicted (seed 42, as
``oaklake rec train`` uses).

Exploration: user-personalization's default ``exploration_weight`` is 0.3 (Personalize's),
which lifts new, little-used items into every list. The quality rows set it to 0 (what the model
itself ranks); one extra row keeps the default, to show what exploration costs offline.

User attributes (``ATTR_CASES``): ML-100k with its users dataset (AGE, GENDER, OCCUPATION; ZIP
is skipped as high-cardinality) and the generated shop (``sample.shop()``: AGE, GENDER,
SEGMENT), user-personalization with ``user_attribute_weight`` 0 (off) against each value of
``ATTR_WEIGHTS`` on the same strong-generalisation folds: cold start (nothing folded in, every
item a target: off = global popularity), 1 and 3 items folded in (users who just arrived) and
the usual 80%. The model does not depend on the weight, so each fold is fitted once and scored
at every weight. "popularity prior" is the default weight with one feature every user has in
place of the attributes: the blend with global popularity alone, to tell what the attributes add.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

SPEC_EASE_NDCG = 0.444  # specs/recommend.md §2, ML-100k strong generalisation, EASE λ=200
SPEC_EASE_SD = 0.009
SPEC_SIZES = {"n_users": 938, "n_items": 1447, "n_interactions": 55361}
# specs/recommend.md §2 (ML-100k strong generalisation): R@20, R@50, NDCG@100 means.
SPEC_SG = {
    "popularity": (0.199, 0.316, 0.256),
    "rp3beta": (0.356, 0.535, 0.402),
    "ease": (0.402, 0.558, 0.444),
    "ials": (0.394, 0.559, 0.441),
}
# specs/recommend.md §4 (PZ on ML-100k, 94 users; "the sample is small, ±~0.02").
SPEC_PZ = {
    "popularity": (0.053, 0.053, 0.042, 0.057, 0.063, 0.077, 0.139, 0.06),
    "ease": (0.096, 0.097, 0.078, 0.106, 0.124, 0.161, 0.221, 0.28),
    "ials": (0.104, 0.085, 0.075, 0.106, 0.115, 0.157, 0.206, 0.35),
}
SG_SEED = 98765
PZ_SEED = 42


@dataclass(frozen=True)
class Case:
    label: str
    recipe: str
    params: dict[str, Any]
    spec: str | None = None  # key of SPEC_SG / SPEC_PZ to show next to it
    note: str = ""


CASES = (
    Case("popularity-count", "popularity-count", {}, "popularity"),
    Case("trending-now", "trending-now", {}),
    Case("sims", "sims", {}, "rp3beta", "RP3beta, beta 0.6, 200 neighbours"),
    Case("similar-items (genres)", "similar-items", {}),
    Case(
        "user-personalization ease",
        "user-personalization",
        {"algorithm": "ease", "exploration_weight": 0.0},
        "ease",
        "lambda 200, exploration 0",
    ),
    Case(
        "user-personalization ials",
        "user-personalization",
        {"algorithm": "ials", "exploration_weight": 0.0},
        "ials",
        "128 factors, reg 10, alpha 1, 15 iterations, exploration 0",
    ),
    Case("personalized-ranking", "personalized-ranking", {}, None, "defaults (auto -> ease)"),
    Case(
        "user-personalization ease, exploration 0.3",
        "user-personalization",
        {"algorithm": "ease"},
        None,
        "the recipe's default exploration_weight",
    ),
)


@dataclass
class Movielens:
    dataset: Any  # oaklake.recommend.data.Dataset
    ratings: np.ndarray  # EVENT_VALUE per event, parallel to dataset.train.events_*
    load_s: float


def load(users: Any = None) -> Movielens:
    """ML-100k with its genres; with ``users`` (the users dataset) too when given."""
    from oaklake.recommend import data, sample

    start = time.perf_counter()
    tables = sample.movielens_100k()
    inter = tables["interactions"]
    items = tables["items"].select(["ITEM_ID", "GENRES"])
    ds = data.build(inter, items=items, users=users)
    users, item_index = ds.user_index(), ds.item_index()
    n_items = len(ds.item_ids)
    keys = np.fromiter(
        (
            users[u] * n_items + item_index[i]
            for u, i in zip(inter["USER_ID"].to_pylist(), inter["ITEM_ID"].to_pylist(), strict=True)
        ),
        dtype=np.int64,
        count=inter.num_rows,
    )
    values = np.asarray(inter["EVENT_VALUE"].to_numpy(), dtype=np.float64)
    if np.unique(keys).size != keys.size:
        raise RuntimeError("MovieLens-100k has a repeated (user, item): ratings would be ambiguous")
    order = np.argsort(keys)
    t = ds.train
    wanted = t.events_user.astype(np.int64) * n_items + t.events_item.astype(np.int64)
    pos = np.searchsorted(keys[order], wanted)
    if not np.array_equal(keys[order][pos], wanted):
        raise RuntimeError("an event of the training data has no rating")
    ratings = values[order][pos]
    return Movielens(ds, ratings, time.perf_counter() - start)


@dataclass
class Outcome:
    case: Case
    sg: dict[str, Any]
    pz: dict[str, Any]
    sg_s: float
    pz_s: float
    same_as: str | None = None  # an earlier row with identical results
    extra: dict[str, Any] = field(default_factory=dict)


def _fit(case: Case) -> Any:
    from oaklake.recommend.recipes import RECIPES

    recipe = RECIPES[case.recipe]
    return lambda d: recipe.fit(d, dict(case.params))


def run(ml: Movielens, progress: Any = print) -> list[Outcome]:
    from oaklake.recommend.evaluate import evaluate_personalize, evaluate_strong_generalization

    out: list[Outcome] = []
    for case in CASES:
        progress(f"  {case.label} …")
        start = time.perf_counter()
        sg = evaluate_strong_generalization(
            _fit(case), ml.dataset.train, folds=5, seed=SG_SEED, ratings=ml.ratings
        )
        sg_s = time.perf_counter() - start
        start = time.perf_counter()
        pz = evaluate_personalize(_fit(case), ml.dataset.train, seed=PZ_SEED)
        pz_s = time.perf_counter() - start
        outcome = Outcome(case, sg, pz, sg_s, pz_s)
        for earlier in out:
            if _same(earlier, outcome):
                outcome.same_as = earlier.case.label
                break
        out.append(outcome)
        progress(
            f"    NDCG@100 {sg['ndcg_at_100'][0]:.3f}±{sg['ndcg_at_100'][1]:.3f} "
            f"({sg_s:.1f} s); PZ NDCG@25 "
            f"{pz['metrics']['normalized_discounted_cumulative_gain_at_25']:.3f} ({pz_s:.1f} s)"
        )
    return out


# -- user attributes ---------------------------------------------------------------------------
ATTR_WEIGHTS = (0.25, 0.5, 1.0, 2.0)
ATTR_PROTOCOLS = (("cold start", 0), ("1 item folded in", 1), ("3 items folded in", 3),
                  ("80% folded in", None))  # fmt: skip


@dataclass(frozen=True)
class AttrCase:
    data: str  # key of the loaded datasets
    algorithm: str  # "ease" | "ials"
    protocol: str
    fold_in: int | None


ATTR_CASES = tuple(
    AttrCase(d, a, label, fold_in)
    for d in ("ML-100k", "shop")
    for a in ("ease", "ials")
    for label, fold_in in ATTR_PROTOCOLS
    if not (a == "ials" and fold_in == 0)  # cold users get the attributes alone: same as EASE
)


@dataclass
class AttrData:
    dataset: Any  # with user_features
    ratings: np.ndarray | None
    load_s: float


def load_attribute_data() -> dict[str, AttrData]:
    """ML-100k with its users dataset (and its ratings, as ``load``) and the generated shop."""
    from oaklake.recommend import data, sample

    start = time.perf_counter()
    tables = sample.movielens_100k()
    ml = load(users=tables["users"])
    ml_s = time.perf_counter() - start
    start = time.perf_counter()
    shop = sample.shop()
    ds = data.build(shop["interactions"], users=shop["users"], items=shop["items"])
    return {
        "ML-100k": AttrData(ml.dataset, ml.ratings, ml_s),
        "shop": AttrData(ds, None, time.perf_counter() - start),
    }


@dataclass
class AttrOutcome:
    case: AttrCase
    by_weight: dict[float, dict[str, Any]]  # 0.0 (off) and each of ATTR_WEIGHTS
    prior: dict[str, Any]  # the default weight, with popularity in place of the attributes
    seconds: float

    def ndcg_folds(self, weight: float) -> np.ndarray:
        return np.array([f["ndcg_at_100"] for f in self.by_weight[weight]["folds"]])

    def folds_better(self, weight: float) -> int:
        return int((self.ndcg_folds(weight) > self.ndcg_folds(0.0) + 1e-12).sum())


def _fit_once(algorithm: str) -> Any:
    """``weight -> fit`` whose models share one fit per fold: the weight only changes scoring."""
    import copy
    import hashlib

    from oaklake.recommend.recipes import RECIPES

    recipe = RECIPES["user-personalization"]
    cache: dict[str, Any] = {}  # training matrix -> model (5 folds: ~60 MB of EASE on ML-100k)

    def factory(weight: float) -> Any:
        def fit(d: Any) -> Any:
            parts = (d.matrix.indptr, d.matrix.indices, np.array(d.user_features.shape))
            key = hashlib.sha256(b"".join(a.tobytes() for a in parts)).hexdigest()
            if key not in cache:
                params = {"algorithm": algorithm, "exploration_weight": 0.0}
                cache[key] = recipe.fit(d, {**params, "user_attribute_weight": 1.0})
            model = copy.copy(cache[key])
            model.params = {**model.params, "user_attribute_weight": weight}
            return model

        return fit

    return factory


def _measure(fit: Any, train: Any, ratings: np.ndarray | None, fold_in: int | None) -> Any:
    from oaklake.recommend.evaluate import evaluate_cold_start, evaluate_strong_generalization

    kwargs: dict[str, Any] = {"folds": 5, "seed": SG_SEED, "ratings": ratings}
    if fold_in == 0:
        return evaluate_cold_start(fit, train, **kwargs)
    return evaluate_strong_generalization(fit, train, fold_in=fold_in, **kwargs)


def run_attributes(loaded: dict[str, AttrData], progress: Any = print) -> list[AttrOutcome]:
    out: list[AttrOutcome] = []
    factories: dict[tuple[str, str], Any] = {}  # the protocols share the folds' fits
    for case in ATTR_CASES:
        progress(f"  {case.data} {case.algorithm}, {case.protocol} …")
        d = loaded[case.data]
        key = (case.data, case.algorithm)
        if key not in factories:
            factories = {key: _fit_once(case.algorithm)}  # the previous ones' models can go
        factory = factories[key]
        start = time.perf_counter()
        train = d.dataset.train
        results = {
            w: _measure(factory(w), train, d.ratings, case.fold_in) for w in (0.0, *ATTR_WEIGHTS)
        }
        everyone = sp.csr_matrix(np.ones((train.n_users, 1), dtype=np.float32))
        plain = dataclasses.replace(train, user_features=everyone, user_feature_names=["all"])
        prior = _measure(factory(default_attribute_weight()), plain, d.ratings, case.fold_in)
        outcome = AttrOutcome(case, results, prior, time.perf_counter() - start)
        out.append(outcome)
        on = results[default_attribute_weight()]
        progress(
            f"    NDCG@100 off {results[0.0]['ndcg_at_100'][0]:.4f}, on "
            f"{on['ndcg_at_100'][0]:.4f} ({outcome.seconds:.1f} s)"
        )
    return out


def default_attribute_weight() -> float:
    from oaklake.recommend.recipes import RECIPES

    return float(RECIPES["user-personalization"].defaults["user_attribute_weight"])


def _same(a: Outcome, b: Outcome) -> bool:
    folds_a = [f["ndcg_at_100"] for f in a.sg["folds"]]
    folds_b = [f["ndcg_at_100"] for f in b.sg["folds"]]
    return (
        bool(np.allclose(folds_a, folds_b, rtol=0, atol=1e-12))
        and a.pz["metrics"] == b.pz["metrics"]
    )


def best(outcomes: list[Outcome]) -> Outcome:
    return max(outcomes, key=lambda o: o.sg["ndcg_at_100"][0])
