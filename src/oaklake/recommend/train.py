"""Creating and training recommenders: a version is the model, the data it needs to serve
(ids, attributes, histories) and its offline metrics, written under ``.oaklake/models``."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from oaklake.errors import InvalidInput, did_you_mean
from oaklake.recommend.store import Recommender, Store, Version, check_name

if TYPE_CHECKING:
    from oaklake.app import Lake
    from oaklake.recommend.data import Dataset

# Personalize's recipe names (and ARN-style spellings) for ours.
ALIASES = {
    "aws-popularity-count": "popularity-count",
    "aws-trending-now": "trending-now",
    "aws-sims": "sims",
    "aws-similar-items": "similar-items",
    "aws-user-personalization": "user-personalization",
    "aws-user-personalization-v2": "user-personalization",
    "aws-personalized-ranking": "personalized-ranking",
    "aws-personalized-ranking-v2": "personalized-ranking",
}


def recipe_name(name: str) -> str:
    from oaklake.recommend.recipes import RECIPES

    key = name.strip().lower().replace("_", "-")
    key = ALIASES.get(key, key)
    if key not in RECIPES:
        raise InvalidInput(
            f"unknown recipe {name!r}",
            code="REC_UNKNOWN_RECIPE",
            hint=did_you_mean(key, list(RECIPES)) or "one of " + ", ".join(RECIPES),
        )
    return key


def create(
    lake: Lake,
    name: str,
    *,
    recipe: str,
    interactions: str,
    users: str | None = None,
    items: str | None = None,
    event_types: list[str] | None = None,
    params: dict[str, Any] | None = None,
) -> Recommender:
    """Register a recommender; its datasets are read (and validated) now, so a typo in a table
    name or a dataset Personalize would refuse is reported at once, not at training."""
    from oaklake.recommend import data
    from oaklake.recommend.recipes import validate_params

    check_name(name)
    key = recipe_name(recipe)
    effective = validate_params(key, dict(params or {}))
    data.load(lake, interactions, users=users, items=items, event_types=event_types)
    rec = Recommender(
        name=name,
        recipe=key,
        interactions=interactions,
        users=users,
        items=items,
        event_types=list(event_types or []),
        params={k: v for k, v in (params or {}).items() if k in effective},
    )
    return Store(lake).create(rec)


# A small grid per recipe for ``rec train --search`` (Personalize's HPO, without its bill).
SEARCH_GRIDS: dict[str, dict[str, list[Any]]] = {
    "sims": {"popularity_discount_factor": [0.3, 0.5, 0.6, 0.8]},
    "similar-items": {
        "attribute_weight": [0.1, 0.3, 0.5],
        "popularity_discount_factor": [0.5, 0.7],
    },
    "ease": {"lambda": [50.0, 100.0, 200.0, 500.0, 1000.0]},
    "ials": {"regularization": [1.0, 5.0, 10.0, 30.0]},
}


def _grid(recipe: str, params: dict[str, Any], n_items: int) -> dict[str, list[Any]]:
    if recipe in ("user-personalization", "personalized-ranking"):
        algorithm = params.get("algorithm", "auto")
        if algorithm == "auto":
            algorithm = "ease" if n_items <= int(params.get("max_ease_items", 10_000)) else "ials"
        return SEARCH_GRIDS[str(algorithm)]
    if recipe not in SEARCH_GRIDS:
        raise InvalidInput(
            f"{recipe} has no hyper-parameters worth searching",
            code="REC_INVALID_PARAMS",
            hint="--search is for sims, similar-items, user-personalization, personalized-ranking",
        )
    return SEARCH_GRIDS[recipe]


def search_params(
    recipe_name: str, fit: Any, params: dict[str, Any], dataset: Dataset, seed: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Pick hyper-parameters by NDCG@100 on validation users carved from the training users
    (the users Personalize's evaluation holds out are never looked at)."""
    from oaklake.recommend import evaluate as ev

    t = dataset.train
    grid = _grid(recipe_name, params, t.n_items)
    held_out = ev.personalize_split(
        t.events_user, t.events_item, t.events_time, t.n_users, seed
    ).test_users
    found = ev.search(
        lambda candidate: lambda d: fit(d, {**params, **candidate}),
        grid,
        t,
        exclude_users=held_out,
    )
    chosen = {**params, **found.best_params}
    report = {
        "grid": grid,
        "best": found.best_params,
        "best_ndcg_at_100": round(float(found.best_ndcg), 6),
        "candidates": [{"params": p, "ndcg_at_100": round(float(v), 6)} for p, v in found.scores],
        "validation_users": len(found.validation_users),
    }
    return chosen, report


def train(
    lake: Lake,
    name: str,
    *,
    params: dict[str, Any] | None = None,
    evaluate: bool = True,
    search: bool = False,
    seed: int = 42,
) -> Version:
    """Train a new version of ``name`` on its datasets as they are now; ``search`` first picks
    hyper-parameters on validation users (``SEARCH_GRIDS``)."""
    from oaklake.recommend import data
    from oaklake.recommend.recipes import RECIPES, validate_params

    store = Store(lake)
    rec = store.get(name)
    recipe = RECIPES[rec.recipe]
    effective = validate_params(rec.recipe, {**rec.params, **(params or {})})
    dataset = data.load(
        lake, rec.interactions, users=rec.users, items=rec.items, event_types=rec.event_types
    )
    searched: dict[str, Any] | None = None
    if search:
        effective, searched = search_params(rec.recipe, recipe.fit, effective, dataset, seed)
        effective = validate_params(rec.recipe, effective)
    started = time.perf_counter()
    model = recipe.fit(dataset.train, effective)
    seconds = time.perf_counter() - started
    metrics: dict[str, Any] = {}
    baseline: dict[str, Any] = {}
    if evaluate:
        from oaklake.recommend.evaluate import evaluate_personalize

        outcome = evaluate_personalize(lambda d: recipe.fit(d, effective), dataset.train, seed=seed)
        metrics, baseline = dict(outcome["metrics"]), dict(outcome["baseline"])
    version = store.next_version(name)
    folder = store.folder(name, version)
    work = folder.with_name(folder.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        model.save(work / "model")
        save_dataset(dataset, work)
        if folder.exists():
            shutil.rmtree(folder)
        work.rename(folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    result = Version(
        name=name,
        version=version,
        recipe=rec.recipe,
        params=dict(model.params),
        metrics=metrics,
        baseline=baseline,
        stats={**dataset.stats, **({"search": searched} if searched else {})},
        path=str(folder),
        trained_at=dt.datetime.now(dt.UTC),
        seconds=seconds,
    )
    return store.add_version(result)


# -- what serving needs besides the model ----------------------------------------------------
def save_dataset(dataset: Dataset, folder: Path) -> None:
    """Ids, histories (with event types and times) and attributes, without pickle."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = dataset.train
    types, codes = np.unique(dataset.events_type.astype(str), return_inverse=True)
    np.savez_compressed(
        folder / "events.npz",
        user=t.events_user,
        item=t.events_item,
        time=t.events_time,
        type_code=codes.astype(np.int16),
    )
    pq.write_table(pa.table({"USER_ID": dataset.user_ids.astype(str)}), folder / "users.parquet")
    pq.write_table(pa.table({"ITEM_ID": dataset.item_ids.astype(str)}), folder / "items.parquet")
    for kind, attrs in (("user_attrs", dataset.user_attrs), ("item_attrs", dataset.item_attrs)):
        if attrs:
            pq.write_table(
                pa.table({k: pa.array(list(v)) for k, v in attrs.items()}),
                folder / f"{kind}.parquet",
            )
    meta = {
        "event_types": [str(x) for x in types],
        "n_users": int(t.n_users),
        "n_items": int(t.n_items),
        "stats": dataset.stats,
        # how user attributes became the model's feature columns: serving encodes with it
        "user_feature_spec": dataset.user_feature_spec,
    }
    (folder / "dataset.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")


PROTOCOLS = ("personalize", "strong-generalization")


def evaluate(
    lake: Lake, name: str, *, protocol: str = "personalize", folds: int = 5, seed: int | None = None
) -> dict[str, Any]:
    """Evaluate the recommender's recipe and parameters on its datasets as they are now
    (nothing is stored): Personalize's protocol and metric names, or strong generalisation
    (Liang et al. 2018: held-out users, 80% folded in, Recall@20/50 and NDCG@100)."""
    from oaklake.recommend import data
    from oaklake.recommend import evaluate as ev
    from oaklake.recommend.recipes import RECIPES, validate_params

    if protocol not in PROTOCOLS:
        raise InvalidInput(
            f"unknown protocol {protocol!r}",
            code="REC_INVALID_ARGUMENT",
            hint="personalize or strong-generalization",
        )
    rec = Store(lake).get(name)
    recipe = RECIPES[rec.recipe]
    params = validate_params(rec.recipe, dict(rec.params))
    dataset = data.load(
        lake, rec.interactions, users=rec.users, items=rec.items, event_types=rec.event_types
    )

    def fit(d: Any) -> Any:
        return recipe.fit(d, params)

    started = time.perf_counter()
    if protocol == "personalize":
        outcome = ev.evaluate_personalize(fit, dataset.train, seed=42 if seed is None else seed)
    else:
        outcome = ev.evaluate_strong_generalization(
            fit, dataset.train, folds=folds, seed=98765 if seed is None else seed
        )
    return {
        "recommender": name,
        "recipe": rec.recipe,
        "protocol": protocol,
        "params": params,
        "seconds": round(time.perf_counter() - started, 3),
        **outcome,
    }
