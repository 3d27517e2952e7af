"""Offline evaluation: Personalize's metrics and split ("PZ"), and strong generalisation.

Three protocols, all holding users out so that a model is judged on people it never trained on
(what happens in production when a new user arrives and we fold in their history):

* ``evaluate_personalize`` — Amazon Personalize's own split and metric names, so that a solution
  version reports the same JSON a Personalize user knows, always next to Popularity-Count.
* ``evaluate_strong_generalization`` — Liang et al. 2018's protocol, so that our recipes can be
  checked against published Recall@20/50 and NDCG@100 numbers (``fold_in=k``: only k items of
  each held-out history, for users who have just arrived).
* ``evaluate_cold_start`` — the same folds with nothing folded in: what a user who has only
  their attributes (a users dataset row) is served.

When the data has ``user_features``, held-out users' rows of it are passed to ``score_users``
(``user_features=``), as serving passes a user's attributes.

Recipes are passed in as ``fit`` callables (``TrainData -> Scorer``), so nothing here depends on a
recipe's implementation. The training data a ``fit`` receives keeps the full users x items shape:
held-out users' rows are EMPTY, not removed, so user and item indices mean the same thing in
training, fold-in and serving, and no recipe has to re-index.

Metrics work on hit flags: a boolean array ``(users x K)`` whose row is one user's ranked list,
True where the recommended item is in that user's target. They return one value per user, so a
caller can average, bootstrap or slice them.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from oaklake.errors import InvalidInput
from oaklake.recommend.matrix import TrainData, from_pairs

BATCH_ROWS = 256
PZ_METRICS = (
    "precision_at_5",
    "precision_at_10",
    "precision_at_25",
    "normalized_discounted_cumulative_gain_at_5",
    "normalized_discounted_cumulative_gain_at_10",
    "normalized_discounted_cumulative_gain_at_25",
    "mean_reciprocal_rank_at_25",
    "coverage",
)
SG_METRICS = ("recall_at_20", "recall_at_50", "ndcg_at_100")


class Scorer(Protocol):
    """What a trained recipe must offer to be evaluated (and, when the data has user features,
    accept ``user_features=``: one CSR row of them per history row)."""

    def score_users(self, history: sp.csr_matrix) -> np.ndarray:
        """Scores ``(rows of history) x n_items``; higher is better. History rows are users the
        model may never have seen (fold-in)."""
        ...


Fit = Callable[[TrainData], Scorer]


# --- metrics on ranked lists -----------------------------------------------------------------


def _discounts(k: int) -> np.ndarray:
    # 1/log2(1 + position) for positions 1..k. Personalize writes log without a base; NDCG is a
    # ratio of two sums with the same discounts, so the base cancels (see ndcg_at_k).
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def _per_user(values: np.ndarray, n_relevant: Any) -> tuple[np.ndarray, np.ndarray]:
    hits = np.asarray(values, dtype=bool)
    n_rel = np.broadcast_to(np.asarray(n_relevant, dtype=np.int64), hits.shape[:-1])
    return hits, n_rel


def precision_at_k(hits: np.ndarray, k: int) -> np.ndarray:
    """Hits in the first ``k`` ÷ ``k`` (Personalize: the denominator is K even when a user has
    fewer relevant items)."""
    h = np.asarray(hits, dtype=bool)
    return np.asarray(h[..., :k].sum(axis=-1) / k, dtype=np.float64)


def recall_at_k(hits: np.ndarray, n_relevant: Any, k: int) -> np.ndarray:
    """Hits in the first ``k`` ÷ min(k, number of relevant items) (Liang et al. 2018), so that a
    user with more targets than ``k`` can still reach 1. 0 for a user with nothing relevant."""
    h, n_rel = _per_user(hits, n_relevant)
    denom = np.minimum(k, n_rel).astype(np.float64)
    found = h[..., :k].sum(axis=-1).astype(np.float64)
    out = np.zeros(found.shape, dtype=np.float64)
    np.divide(found, denom, out=out, where=denom > 0)
    return out


def ndcg_at_k(hits: np.ndarray, n_relevant: Any, k: int) -> np.ndarray:
    """Binary NDCG@k: sum of 1/log(1+position) over hits in the first ``k``, divided by the same
    sum over the first min(k, number of relevant items) positions.

    This one definition is both Personalize's ``normalized_discounted_cumulative_gain_at_K`` and
    the binary NDCG@100 of Liang et al. 2018: both discount by 1/log(1+position) and cap the ideal
    list at min(K, relevant). The log base cancels in the ratio; Personalize's worked example
    (relevant at ranks 2 and 5, two relevant items) gives 0.6241 with any base.
    """
    h, n_rel = _per_user(hits, n_relevant)
    width = min(k, h.shape[-1])
    disc = _discounts(k)
    dcg = (h[..., :width] * disc[:width]).sum(axis=-1)
    ideal_cum = np.concatenate(([0.0], np.cumsum(disc)))
    idcg = ideal_cum[np.minimum(k, n_rel)]
    out = np.zeros_like(dcg, dtype=np.float64)
    np.divide(dcg, idcg, out=out, where=idcg > 0)
    return out


def mrr_at_k(hits: np.ndarray, k: int) -> np.ndarray:
    """1 ÷ the position of the first hit in the first ``k``; 0 when there is none."""
    h = np.asarray(hits, dtype=bool)[..., :k]
    if h.shape[-1] == 0:
        return np.zeros(h.shape[:-1], dtype=np.float64)
    first = h.argmax(axis=-1)
    found = h.any(axis=-1)
    return np.where(found, 1.0 / (first + 1.0), 0.0)


def coverage(ranked: np.ndarray, n_catalog: int) -> float:
    """Distinct recommended items ÷ the catalogue (items in the interactions and items datasets,
    i.e. the matrix's columns). ``-1`` marks an empty slot and is not an item."""
    items = np.asarray(ranked).ravel()
    if n_catalog <= 0:
        return 0.0
    return float(np.unique(items[items >= 0]).size / n_catalog)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` best item indices per row, best first; ties go to the lower item index so that
    results (and popularity baselines, which tie a lot) are reproducible. Positions whose score is
    -inf (excluded items) are ``-1``.

    ``np.argpartition`` does the work; only rows where the k-th score ties with an item left out
    (an arbitrary choice among equals) are redone with a stable full sort.
    """
    s = np.asarray(scores)
    n_rows, n_items = s.shape
    k = min(k, n_items)
    if k <= 0 or n_rows == 0:
        return np.empty((n_rows, max(k, 0)), dtype=np.int64)
    neg = -s
    if k < n_items:
        chosen = np.argpartition(neg, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(s, chosen, axis=1)
        kth = vals.min(axis=1)
        ambiguous = np.flatnonzero((s >= kth[:, None]).sum(axis=1) > k)
        if ambiguous.size:
            chosen[ambiguous] = np.argsort(neg[ambiguous], axis=1, kind="stable")[:, :k]
            vals[ambiguous] = np.take_along_axis(s[ambiguous], chosen[ambiguous], axis=1)
    else:
        chosen = np.broadcast_to(np.arange(n_items), (n_rows, n_items)).copy()
        vals = s.copy()
    order = np.lexsort((chosen, -vals), axis=1)
    ranked = np.take_along_axis(chosen, order, axis=1).astype(np.int64)
    ranked[np.take_along_axis(vals, order, axis=1) == -np.inf] = -1
    return ranked


def hit_flags(ranked: np.ndarray, targets: sp.csr_matrix | np.ndarray) -> np.ndarray:
    """``ranked`` (users x K item indices, -1 = empty) against ``targets`` (users x items, nonzero
    = relevant) as hit flags for the metric functions."""
    dense = targets.toarray() if isinstance(targets, sp.spmatrix | sp.sparray) else targets
    valid = ranked >= 0
    flags = np.take_along_axis(dense != 0, np.where(valid, ranked, 0), axis=1)
    return np.asarray(flags & valid, dtype=bool)


# --- scoring held-out users ------------------------------------------------------------------


class _Popularity:
    """Personalize's Popularity-Count: the number of distinct training users per item."""

    def __init__(self, train: sp.csr_matrix) -> None:
        self.counts = np.asarray((train > 0).sum(axis=0), dtype=np.float32).ravel()

    def score_users(self, history: sp.csr_matrix, user_features: Any = None) -> np.ndarray:
        return np.broadcast_to(self.counts, (history.shape[0], self.counts.size))


def popularity_fit(data: TrainData) -> Scorer:
    """The baseline every protocol reports alongside a recipe."""
    return _Popularity(data.matrix)


def _rank_held_out(
    model: Scorer,
    history: sp.csr_matrix,
    targets: sp.csr_matrix,
    k: int,
    batch_rows: int,
    user_features: sp.csr_matrix | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` lists and hit flags for every row, excluding each row's history items."""
    n_rows, n_items = history.shape
    ranked = np.empty((n_rows, min(k, n_items)), dtype=np.int64)
    for start in range(0, n_rows, batch_rows):
        stop = min(start + batch_rows, n_rows)
        hist = history[start:stop]
        if user_features is None:
            raw = model.score_users(hist)
        else:
            raw = model.score_users(hist, user_features=user_features[start:stop])  # type: ignore[call-arg]
        if getattr(raw, "shape", None) != (stop - start, n_items):
            raise InvalidInput(
                f"score_users returned shape {getattr(raw, 'shape', None)}, "
                f"expected {(stop - start, n_items)}",
                hint="return one row per history row and one column per item",
            )
        scores = np.array(raw, dtype=np.float32)  # a copy: the model's array may be shared
        scores[np.isnan(scores)] = -np.inf
        rows = np.repeat(np.arange(stop - start), np.diff(hist.indptr))
        scores[rows, hist.indices] = -np.inf
        ranked[start:stop] = top_k(scores, k)
    hits = np.empty(ranked.shape, dtype=bool)
    for start in range(0, n_rows, batch_rows):
        stop = min(start + batch_rows, n_rows)
        hits[start:stop] = hit_flags(ranked[start:stop], targets[start:stop])
    return ranked, hits


def _without_users(data: TrainData, held_out: np.ndarray, keep_event: np.ndarray) -> TrainData:
    """``data`` for training: held-out users' rows emptied, their events dropped."""
    keep_row = np.ones(data.n_users, dtype=np.float32)
    keep_row[held_out] = 0.0
    matrix = sp.csr_matrix(sp.diags(keep_row) @ data.matrix, dtype=np.float32)
    matrix.eliminate_zeros()
    return dataclasses.replace(
        data,
        matrix=matrix,
        events_user=data.events_user[keep_event],
        events_item=data.events_item[keep_event],
        events_time=data.events_time[keep_event],
    )


# --- the Personalize protocol ("PZ") ---------------------------------------------------------


@dataclass(frozen=True)
class PersonalizeSplit:
    """Which users are held out and, per event, its role. Masks are parallel to the events."""

    test_users: np.ndarray  # sorted user indices held out (never trained on)
    train_event: np.ndarray  # events of training users
    input_event: np.ndarray  # held-out users' oldest 90%: the fold-in history
    target_event: np.ndarray  # held-out users' newest 10%: what should be recommended


def personalize_split(
    events_user: np.ndarray,
    events_item: np.ndarray,
    events_time: np.ndarray,
    n_users: int,
    seed: int,
) -> PersonalizeSplit:
    """Personalize's split: a random 10% of users is held out; for each, the oldest 90% of their
    interactions is the input and the newest 10% the target.

    Counts are integers: 10% of the users with any interaction, rounded half up (943 -> 94), drawn
    only from users with at least 2 interactions (a user needs an input and a target; the others
    stay in training). A held-out user with n interactions gets floor(0.9 n) as input and the rest
    as target, so the target is never empty. Equal timestamps keep the events' order.
    """
    users = np.asarray(events_user, dtype=np.int64)
    n_events = users.size
    if not (len(events_item) == len(events_time) == n_events):
        raise InvalidInput(
            "events_user, events_item and events_time must have the same length",
            hint="pass one entry per interaction in each array",
        )
    per_user = np.bincount(users, minlength=n_users)
    active = int((per_user > 0).sum())
    eligible = np.flatnonzero(per_user >= 2)
    n_test = min((active + 5) // 10, eligible.size)
    rng = np.random.default_rng(seed)
    test_users = np.sort(rng.choice(eligible, size=n_test, replace=False)).astype(np.int64)

    held = np.zeros(n_users, dtype=bool)
    held[test_users] = True
    order = np.lexsort((np.arange(n_events), np.asarray(events_time), users))
    sorted_users = users[order]
    starts = np.concatenate(([0], np.cumsum(per_user)))[sorted_users]
    position = np.arange(n_events) - starts  # 0 = the user's oldest interaction
    n_input = (9 * per_user) // 10
    is_input = np.empty(n_events, dtype=bool)
    is_input[order] = position < n_input[sorted_users]
    held_event = held[users]
    return PersonalizeSplit(
        test_users=test_users,
        train_event=~held_event,
        input_event=held_event & is_input,
        target_event=held_event & ~is_input,
    )


def _pz_metrics(
    ranked: np.ndarray, hits: np.ndarray, n_rel: np.ndarray, n_catalog: int
) -> dict[str, float]:
    out: dict[str, float] = {}
    for k in (5, 10, 25):
        out[f"precision_at_{k}"] = float(precision_at_k(hits, k).mean())
    for k in (5, 10, 25):
        out[f"normalized_discounted_cumulative_gain_at_{k}"] = float(
            ndcg_at_k(hits, n_rel, k).mean()
        )
    out["mean_reciprocal_rank_at_25"] = float(mrr_at_k(hits, 25).mean())
    out["coverage"] = coverage(ranked, n_catalog)
    return {name: out[name] for name in PZ_METRICS}


def evaluate_personalize(
    fit: Fit,
    data: TrainData,
    seed: int = 0,
    *,
    weights: np.ndarray | None = None,
    n_catalog: int | None = None,
    batch_rows: int = BATCH_ROWS,
) -> dict[str, Any]:
    """Personalize's offline metrics for ``fit`` and for Popularity-Count on the same split.

    ``fit`` trains on ``data`` with the held-out users' rows emptied and their events dropped. Each
    held-out user's input is folded in as a history row (event counts, or the sum of ``weights``
    per event when given) and excluded from the ranking. The target is the distinct items of the
    newest 10% that are not in the input: a repeat can never be recommended, so it cannot count as
    a miss; users left with no target are not scored. ``n_catalog`` (default: the matrix's
    columns) is the coverage denominator.

    Returns ``{"metrics": {...}, "baseline": {...}, "n_users_held_out", "n_users_scored"}`` where
    both metric dicts carry exactly Personalize's eight names.
    """
    split = personalize_split(
        data.events_user, data.events_item, data.events_time, data.n_users, seed
    )
    if split.test_users.size == 0:
        raise InvalidInput(
            "too few users to hold any out for evaluation",
            hint="Personalize needs at least 25 users with 2 or more interactions each",
        )
    train = _without_users(data, split.test_users, split.train_event)
    row_of = np.full(data.n_users, -1, dtype=np.int64)
    row_of[split.test_users] = np.arange(split.test_users.size)
    n_held = split.test_users.size

    w = None if weights is None else np.asarray(weights, dtype=np.float32)[split.input_event]
    history = from_pairs(
        row_of[data.events_user[split.input_event]],
        data.events_item[split.input_event],
        n_held,
        data.n_items,
        w,
    )
    target = from_pairs(
        row_of[data.events_user[split.target_event]],
        data.events_item[split.target_event],
        n_held,
        data.n_items,
    )
    target = target - target.multiply(history > 0)  # repeats of the input are not targets
    target.eliminate_zeros()
    n_rel = np.diff(sp.csr_matrix(target).indptr)
    scored = np.flatnonzero(n_rel > 0)
    history, target, n_rel = history[scored], sp.csr_matrix(target)[scored], n_rel[scored]
    if scored.size == 0:
        raise InvalidInput(
            f"none of the {n_held} held-out users has a new item among their newest interactions",
            hint="evaluate on data where users interact with items they have not seen before",
        )
    catalog = data.n_items if n_catalog is None else n_catalog

    features = _features_of(data, split.test_users[scored])
    results: dict[str, Any] = {}
    for key, fitter in (("metrics", fit), ("baseline", popularity_fit)):
        ranked, hits = _rank_held_out(fitter(train), history, target, 25, batch_rows, features)
        results[key] = _pz_metrics(ranked, hits, n_rel, catalog)
    results["n_users_held_out"] = int(n_held)
    results["n_users_scored"] = int(scored.size)
    return results


# --- strong generalisation (Liang et al. 2018) -----------------------------------------------


@dataclass(frozen=True)
class _Binary:
    """The binarised, user-filtered data every strong-generalisation split starts from."""

    data: TrainData  # matrix of ones; events are the kept interactions
    users: np.ndarray  # users with enough interactions: the only ones ever held out


def _binarize(
    data: TrainData, ratings: np.ndarray | None, threshold: float, min_interactions: int
) -> _Binary:
    keep = np.ones(len(data.events_user), dtype=bool)
    if ratings is not None:
        r = np.asarray(ratings, dtype=np.float64)
        if r.shape != keep.shape:
            raise InvalidInput(
                f"ratings has {r.size} values for {keep.size} interactions",
                hint="pass one rating per interaction, parallel to events_user",
            )
        keep = r > threshold
    matrix = from_pairs(data.events_user[keep], data.events_item[keep], data.n_users, data.n_items)
    matrix.data[:] = 1.0
    enough = np.diff(matrix.indptr) >= min_interactions
    # Users below the bar leave the data entirely, as in the protocol, not just the test folds.
    matrix = sp.csr_matrix(sp.diags(enough.astype(np.float32)) @ matrix, dtype=np.float32)
    matrix.eliminate_zeros()
    kept = keep & enough[data.events_user]
    binary = dataclasses.replace(
        data,
        matrix=matrix,
        events_user=data.events_user[kept],
        events_item=data.events_item[kept],
        events_time=data.events_time[kept],
    )
    users = np.flatnonzero(enough).astype(np.int64)
    return _Binary(data=binary, users=users)


def _fold_in_split(
    matrix: sp.csr_matrix,
    users: np.ndarray,
    seen: np.ndarray,
    rng: np.random.Generator,
    fold_in: int | None = None,
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Held-out users' items split at random: floor(20%) target, the rest fold-in. Items no
    training user has (``seen`` False) are dropped first, as Liang et al. do; a user left with
    fewer than 5 items gets no target (and is not scored). ``fold_in=k`` folds in only k of the
    rest (at random); ``fold_in=0`` is cold start: nothing folded in, every item a target."""
    rows = matrix[users]
    rows = sp.csr_matrix(rows @ sp.diags(seen.astype(np.float32)))
    rows.eliminate_zeros()
    shape = rows.shape
    if fold_in == 0:
        return sp.csr_matrix(shape, dtype=rows.dtype), rows
    counts = np.diff(rows.indptr)
    n = rows.nnz
    row_idx = np.repeat(np.arange(users.size), counts)
    order = np.lexsort((rng.random(n), row_idx))  # a random order within each user
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n) - np.repeat(rows.indptr[:-1], counts)
    n_target = ((2 * counts) // 10)[row_idx]
    is_target = position < n_target
    is_fold = ~is_target
    if fold_in is not None:
        is_fold &= position < n_target + fold_in
    fold = sp.csr_matrix((rows.data[is_fold], (row_idx[is_fold], rows.indices[is_fold])), shape)
    target = sp.csr_matrix(
        (rows.data[is_target], (row_idx[is_target], rows.indices[is_target])), shape
    )
    return fold, target


def _features_of(data: TrainData, users: np.ndarray) -> sp.csr_matrix | None:
    """The users' rows of ``data.user_features`` (None when the data has none)."""
    if data.user_features is None:
        return None
    return sp.csr_matrix(data.user_features)[users]


def _sg_scores(
    fit: Fit,
    binary: _Binary,
    held_out: np.ndarray,
    seed: int,
    stream: int,
    batch_rows: int,
    fold_in: int | None = None,
) -> dict[str, float]:
    """Train without ``held_out`` users and score them: Recall@20/50 and NDCG@100 means."""
    data = binary.data
    keep_event = ~np.isin(data.events_user, held_out)
    train = _without_users(data, held_out, keep_event)
    seen = np.asarray(train.matrix.sum(axis=0)).ravel() > 0
    fold, target = _fold_in_split(
        data.matrix, held_out, seen, np.random.default_rng((seed, stream)), fold_in
    )
    n_rel = np.diff(target.indptr)
    scored = np.flatnonzero(n_rel > 0)
    fold, target, n_rel = fold[scored], target[scored], n_rel[scored]
    features = _features_of(data, held_out[scored])
    _, hits = _rank_held_out(fit(train), fold, target, 100, batch_rows, features)
    if scored.size == 0:  # NaN, not 0: an empty fold must not pass for a bad model
        return {"recall_at_20": np.nan, "recall_at_50": np.nan, "ndcg_at_100": np.nan, "n_users": 0}
    return {
        "recall_at_20": float(recall_at_k(hits, n_rel, 20).mean()),
        "recall_at_50": float(recall_at_k(hits, n_rel, 50).mean()),
        "ndcg_at_100": float(ndcg_at_k(hits, n_rel, 100).mean()),
        "n_users": int(scored.size),
    }


def _mean_sd(values: Sequence[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=np.float64)
    sd = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return float(arr.mean()), sd


@dataclass(frozen=True)
class SearchResult:
    best_params: dict[str, Any]
    best_ndcg: float
    scores: list[tuple[dict[str, Any], float]]  # every candidate with its validation NDCG@100
    validation_users: np.ndarray


def _candidates(
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    if isinstance(grid, Mapping):
        keys = list(grid)
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]
    return [dict(c) for c in grid]


def _search_binary(
    fit_factory: Callable[[dict[str, Any]], Fit],
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
    binary: _Binary,
    exclude_users: np.ndarray,
    validation: float,
    seed: int,
    batch_rows: int,
) -> SearchResult:
    candidates = _candidates(grid)
    if not candidates:
        raise InvalidInput("the hyper-parameter grid is empty", hint="give at least one value")
    pool = np.setdiff1d(binary.users, exclude_users)
    n_val = max(1, round(validation * pool.size))
    if pool.size < 2 or n_val >= pool.size:
        raise InvalidInput(
            f"{pool.size} training users are too few to carve out validation users",
            hint="lower validation or evaluate on more users",
        )
    rng = np.random.default_rng((seed, 1 << 20))
    val_users = np.sort(rng.choice(pool, size=n_val, replace=False))
    # Validation users and the excluded (test) users are both left out of training.
    held = np.union1d(val_users, exclude_users)
    scores: list[tuple[dict[str, Any], float]] = []
    for params in candidates:
        result = _sg_scores(fit_factory(params), binary, held, seed, 1 << 20, batch_rows)
        scores.append((params, result["ndcg_at_100"]))
    best = max(range(len(scores)), key=lambda i: scores[i][1])  # first wins a tie
    return SearchResult(scores[best][0], scores[best][1], scores, val_users)


def search(
    fit_factory: Callable[[dict[str, Any]], Fit],
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
    data: TrainData,
    *,
    exclude_users: np.ndarray | None = None,
    validation: float = 0.1,
    seed: int = 98765,
    ratings: np.ndarray | None = None,
    threshold: float = 3.5,
    min_interactions: int = 5,
    batch_rows: int = BATCH_ROWS,
) -> SearchResult:
    """Pick hyper-parameters by NDCG@100 on validation users, with the strong-generalisation
    protocol. ``grid`` is ``{name: [values]}`` (every combination) or a list of parameter dicts;
    ``fit_factory(params)`` returns a ``fit``.

    Validation users are a random ``validation`` share of the eligible users that are not in
    ``exclude_users``; pass the test users there so that choosing parameters never looks at them
    (``evaluate_strong_generalization(tune=...)`` does this per fold). Validation and excluded
    users are both kept out of training.
    """
    binary = _binarize(data, ratings, threshold, min_interactions)
    excl = np.asarray([] if exclude_users is None else exclude_users, dtype=np.int64)
    return _search_binary(fit_factory, grid, binary, excl, validation, seed, batch_rows)


def _folds(binary: _Binary, folds: int, seed: int, min_interactions: int) -> list[np.ndarray]:
    if folds < 2:
        raise InvalidInput(f"folds must be at least 2, got {folds}", hint="use folds=5")
    if binary.users.size < folds:
        raise InvalidInput(
            f"{binary.users.size} users with {min_interactions}+ interactions for {folds} folds",
            hint="lower folds or min_interactions, or evaluate on more data",
        )
    shuffled = np.random.default_rng(seed).permutation(binary.users)
    return [np.sort(part) for part in np.array_split(shuffled, folds)]


def strong_generalization_folds(
    data: TrainData,
    folds: int = 5,
    seed: int = 98765,
    ratings: np.ndarray | None = None,
    *,
    threshold: float = 3.5,
    min_interactions: int = 5,
) -> list[np.ndarray]:
    """The sorted user indices each fold of ``evaluate_strong_generalization`` holds out, for the
    same arguments (kept out of its result so that the result stays small and JSON-friendly)."""
    binary = _binarize(data, ratings, threshold, min_interactions)
    return _folds(binary, folds, seed, min_interactions)


def evaluate_strong_generalization(
    fit: Fit | None,
    data: TrainData,
    folds: int = 5,
    seed: int = 98765,
    ratings: np.ndarray | None = None,
    *,
    threshold: float = 3.5,
    min_interactions: int = 5,
    tune: tuple[Callable[[dict[str, Any]], Fit], Any] | None = None,
    validation: float = 0.1,
    batch_rows: int = BATCH_ROWS,
    fold_in: int | None = None,
) -> dict[str, Any]:
    """Liang et al. 2018's strong generalisation with ``folds`` disjoint user folds.

    Interactions with ``ratings > threshold`` are kept when ratings (one per event) are given,
    otherwise all; the matrix is binary; users with fewer than ``min_interactions`` items are
    dropped. Users are shuffled (``seed``) into ``folds`` folds. Each fold's users are held out of
    training; each has a random floor(20%) of their items as target and the rest folded in (and
    excluded from the ranking). Items no training user has are dropped from held-out users first.

    ``tune=(fit_factory, grid)`` picks parameters per fold with ``search`` on validation users
    carved from that fold's training users; ``fit`` is then ignored and may be None.
    ``fold_in=k`` folds in only k random items of each held-out user's 80% (same targets), to
    measure users with a short history; ``evaluate_cold_start`` is the case of none.

    Returns ``{"recall_at_20": (mean, sd), "recall_at_50": ..., "ndcg_at_100": ...}`` (sd across
    folds, ddof=1), ``"baseline"`` (Popularity-Count, same shape), ``"folds"`` (per-fold values and
    users scored), ``"params"`` (per fold, when tuned) and the filtered data's size: plain
    Python values only. ``strong_generalization_folds`` tells which users each fold held out.
    """
    if fit is None and tune is None:
        raise InvalidInput("nothing to evaluate", hint="pass fit, or tune=(fit_factory, grid)")
    if fold_in is not None and fold_in < 0:
        raise InvalidInput(f"fold_in must be 0 or more, got {fold_in}", hint="use fold_in=1")
    binary = _binarize(data, ratings, threshold, min_interactions)
    assignment = _folds(binary, folds, seed, min_interactions)
    per_fold: list[dict[str, Any]] = []
    baseline: list[dict[str, Any]] = []
    chosen: list[dict[str, Any]] = []
    for i, held in enumerate(assignment):
        fold_fit = fit
        if tune is not None:
            factory, grid = tune
            found = _search_binary(factory, grid, binary, held, validation, seed + i, batch_rows)
            chosen.append(found.best_params)
            fold_fit = factory(found.best_params)
        assert fold_fit is not None
        per_fold.append(_sg_scores(fold_fit, binary, held, seed, i, batch_rows, fold_in))
        baseline.append(_sg_scores(popularity_fit, binary, held, seed, i, batch_rows, fold_in))

    out: dict[str, Any] = {m: _mean_sd([f[m] for f in per_fold]) for m in SG_METRICS}
    out["baseline"] = {m: _mean_sd([f[m] for f in baseline]) for m in SG_METRICS}
    out["folds"] = per_fold
    if tune is not None:
        out["params"] = chosen
    out["n_users"] = int(binary.users.size)
    out["n_items"] = int((np.diff(binary.data.matrix.tocsc().indptr) > 0).sum())
    out["n_interactions"] = int(binary.data.matrix.nnz)
    return out


def evaluate_cold_start(
    fit: Fit,
    data: TrainData,
    folds: int = 5,
    seed: int = 98765,
    ratings: np.ndarray | None = None,
    *,
    threshold: float = 3.5,
    min_interactions: int = 5,
    batch_rows: int = BATCH_ROWS,
) -> dict[str, Any]:
    """Users who arrive with attributes and no history: strong generalisation's folds (same
    binarisation, users and seed), but nothing is folded in and every item of a held-out user
    (that some training user has) is a target.

    ``fit``'s model sees an empty history plus, when ``data`` has ``user_features``, the user's
    feature row — what serving knows of a user who is in the users dataset but has not
    interacted yet. Popularity-Count on the same folds is the baseline: what such a user is
    served without attributes. Same result shape as ``evaluate_strong_generalization``.
    """
    return evaluate_strong_generalization(
        fit,
        data,
        folds,
        seed,
        ratings,
        threshold=threshold,
        min_interactions=min_interactions,
        batch_rows=batch_rows,
        fold_in=0,
    )
