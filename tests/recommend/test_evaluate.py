"""Offline evaluation: metric definitions, the Personalize split, strong generalisation, search.

The scorers here are deliberately tiny (popularity, item-kNN cosine) so the protocol is tested
without the real recipes.
"""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar

import numpy as np
import pytest
import scipy.sparse as sp

from oaklake.errors import InvalidInput
from oaklake.recommend import evaluate as ev
from oaklake.recommend.matrix import TrainData, from_pairs

# --- tiny scorers --------------------------------------------------------------------------


class Popular:
    def __init__(self, data: TrainData) -> None:
        self.counts = np.asarray((data.matrix > 0).sum(axis=0), dtype=np.float32).ravel()

    def score_users(self, history: sp.csr_matrix) -> np.ndarray:
        return np.tile(self.counts, (history.shape[0], 1))


class ItemKNN:
    """Cosine item-item similarity on the binary training matrix; score = history @ S."""

    def __init__(self, data: TrainData) -> None:
        x = (data.matrix > 0).astype(np.float64)
        co = (x.T @ x).toarray()
        norms = np.sqrt(np.diag(co))
        norms[norms == 0] = 1.0
        sim = co / norms[:, None] / norms[None, :]
        np.fill_diagonal(sim, 0.0)
        self.sim = sim.astype(np.float32)

    def score_users(self, history: sp.csr_matrix) -> np.ndarray:
        return np.asarray((history > 0).astype(np.float32) @ self.sim)


class Spy:
    """Wraps a fit: records every TrainData trained on and every history row scored."""

    def __init__(self, inner: Any = Popular) -> None:
        self.inner = inner
        self.trained: list[TrainData] = []
        self.histories: list[sp.csr_matrix] = []

    def __call__(self, data: TrainData) -> Spy:
        self.trained.append(data)
        self.model = self.inner(data)
        return self

    def score_users(self, history: sp.csr_matrix) -> np.ndarray:
        self.histories.append(history.copy())
        return np.asarray(self.model.score_users(history))


def make_data(users: Any, items: Any, times: Any, n_users: int, n_items: int) -> TrainData:
    u = np.asarray(users, dtype=np.int32)
    i = np.asarray(items, dtype=np.int32)
    t = np.asarray(times, dtype=np.int64)
    return TrainData(from_pairs(u, i, n_users, n_items), u, i, t)


def clustered(
    n_users: int = 300, n_items: int = 200, n_clusters: int = 5, seed: int = 7
) -> tuple[TrainData, np.ndarray]:
    """Users who mostly like one cluster of items; globally popular items exist too, so that
    popularity is a fair but beatable baseline. Returns the data and a 1-5 rating per event."""
    rng = np.random.default_rng(seed)
    item_cluster = np.arange(n_items) % n_clusters
    weight = 1.0 / (1.0 + np.arange(n_items)) ** 0.5
    users, items = [], []
    for u in range(n_users):
        mine = item_cluster == u % n_clusters
        p = weight * np.where(mine, 30.0, 1.0)
        chosen = rng.choice(n_items, size=int(rng.integers(12, 30)), replace=False, p=p / p.sum())
        users += [u] * chosen.size
        items += chosen.tolist()
    times = rng.permutation(len(users))
    order = np.argsort(times)
    data = make_data(np.array(users)[order], np.array(items)[order], times[order], n_users, n_items)
    ratings = rng.integers(1, 6, size=len(users))
    return data, ratings


# --- metrics -------------------------------------------------------------------------------


def test_ndcg_reproduces_personalizes_worked_example() -> None:
    # Relevant items at ranks 2 and 5 of a top-5 list, two relevant items in all.
    hits = np.array([False, True, False, False, True])
    assert float(ev.ndcg_at_k(hits, 2, 5)) == pytest.approx(0.6241, abs=5e-5)
    # The log base cancels: the same ratio with natural logs, computed by hand.
    by_hand = (1 / math.log(3) + 1 / math.log(6)) / (1 / math.log(2) + 1 / math.log(3))
    assert float(ev.ndcg_at_k(hits, 2, 5)) == pytest.approx(by_hand, rel=1e-12)


def test_ndcg_ideal_uses_min_of_k_and_relevant() -> None:
    top = np.array([True, True, True, True, True])
    assert float(ev.ndcg_at_k(top, 50, 5)) == pytest.approx(1.0)  # more relevant than K
    assert float(ev.ndcg_at_k(top[:1], 1, 5)) == pytest.approx(1.0)
    second = np.array([False, True, False])
    assert float(ev.ndcg_at_k(second, 1, 3)) == pytest.approx(1 / math.log2(3))
    # A hit past K does not count.
    late = np.array([False, False, False, True])
    assert float(ev.ndcg_at_k(late, 1, 3)) == 0.0
    assert float(ev.ndcg_at_k(np.zeros(3, bool), 0, 3)) == 0.0


def test_precision_recall_mrr_per_user() -> None:
    hits = np.array(
        [
            [False, True, False, False, True, True],
            [False, False, False, False, False, False],
            [True, False, False, False, False, False],
        ]
    )
    n_rel = np.array([10, 3, 1])
    np.testing.assert_allclose(ev.precision_at_k(hits, 5), [2 / 5, 0, 1 / 5])
    # Recall divides by min(K, relevant): user 0 has 10 relevant, so 5 at K=5.
    np.testing.assert_allclose(ev.recall_at_k(hits, n_rel, 5), [2 / 5, 0, 1])
    np.testing.assert_allclose(ev.recall_at_k(hits, n_rel, 2), [1 / 2, 0, 1])
    np.testing.assert_allclose(ev.mrr_at_k(hits, 5), [1 / 2, 0, 1])
    np.testing.assert_allclose(ev.mrr_at_k(hits, 1), [0, 0, 1])


def test_coverage_counts_distinct_items_and_ignores_empty_slots() -> None:
    ranked = np.array([[3, 1, -1], [1, 4, -1]])
    assert ev.coverage(ranked, 10) == pytest.approx(3 / 10)


def test_hit_flags_against_sparse_targets() -> None:
    ranked = np.array([[2, 0, -1], [1, 2, 3]])
    targets = sp.csr_matrix(np.array([[1, 0, 0, 1], [0, 0, 1, 1]], dtype=np.float32))
    np.testing.assert_array_equal(
        ev.hit_flags(ranked, targets), [[False, True, False], [False, True, True]]
    )


def test_top_k_orders_best_first_lower_index_wins_ties() -> None:
    scores = np.array([[1.0, 3.0, 3.0, 2.0, 3.0, -np.inf]], dtype=np.float32)
    np.testing.assert_array_equal(ev.top_k(scores, 2), [[1, 2]])
    np.testing.assert_array_equal(ev.top_k(scores, 4), [[1, 2, 4, 3]])
    # Excluded (-inf) items become empty slots rather than recommendations.
    np.testing.assert_array_equal(ev.top_k(scores, 6), [[1, 2, 4, 3, 0, -1]])


def test_top_k_matches_a_stable_full_sort() -> None:
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 6, size=(40, 300)).astype(np.float32)  # ties everywhere
    scores[:, ::7] = -np.inf
    smooth = rng.random((40, 300)).astype(np.float32)  # no ties: the argpartition path
    for s in (scores, smooth):
        for k in (1, 10, 100, 300):
            expected = np.argsort(-s, axis=1, kind="stable")[:, :k]
            expected = np.where(np.take_along_axis(s, expected, 1) == -np.inf, -1, expected)
            np.testing.assert_array_equal(ev.top_k(s, k), expected)


# --- the Personalize split -----------------------------------------------------------------


def test_personalize_split_takes_oldest_90_percent_as_input() -> None:
    # Users 0-8 have one interaction each; user 9 has 12, so it is the only user that can be held
    # out, and 10 active users -> 1 held out. Events are not in time order in the arrays.
    times9 = [50, 10, 90, 30, 70, 20, 110, 40, 60, 100, 80, 30]
    users = [*range(9), *([9] * 12)]
    items = [*range(9), *range(20, 32)]
    times = [*([5] * 9), *times9]
    split = ev.personalize_split(
        np.array(users), np.array(items), np.array(times), n_users=10, seed=0
    )
    np.testing.assert_array_equal(split.test_users, [9])
    # floor(0.9 * 12) = 10 oldest are the input; the 2 newest (times 110 and 100) the target.
    target9 = [t in (110, 100) for t in times9]
    np.testing.assert_array_equal(split.target_event, [False] * 9 + target9)
    np.testing.assert_array_equal(split.input_event, [False] * 9 + [not x for x in target9])
    np.testing.assert_array_equal(split.train_event, [True] * 9 + [False] * 12)


def test_personalize_split_equal_times_keep_event_order_and_two_events_split_one_one() -> None:
    users = np.array([0, 0, 1, 2, 3, 4, 5, 6, 7, 8])
    times = np.array([7, 7, 1, 1, 1, 1, 1, 1, 1, 1])
    split = ev.personalize_split(users, np.arange(10), times, n_users=9, seed=5)
    np.testing.assert_array_equal(split.test_users, [0])
    np.testing.assert_array_equal(split.input_event[:2], [True, False])
    np.testing.assert_array_equal(split.target_event[:2], [False, True])


def test_personalize_split_many_users() -> None:
    # User u has u+1 interactions at shuffled times; user 0 (one interaction) always trains.
    rng = np.random.default_rng(11)
    users = np.repeat(np.arange(40), np.arange(1, 41))
    times = rng.permutation(users.size)
    items = rng.integers(0, 50, users.size)
    seen = set()
    for seed in range(15):
        split = ev.personalize_split(users, items, times, n_users=40, seed=seed)
        assert split.test_users.size == 4  # 10% of 40 active users
        assert 0 not in split.test_users
        seen.add(tuple(split.test_users))
        held = np.isin(users, split.test_users)
        np.testing.assert_array_equal(split.train_event, ~held)
        np.testing.assert_array_equal(split.input_event | split.target_event, held)
        assert not (split.input_event & split.target_event).any()
        for u in split.test_users:
            mine = users == u
            n = int(mine.sum())
            assert split.input_event[mine].sum() == (9 * n) // 10
            assert split.target_event[mine].sum() == n - (9 * n) // 10 >= 1
            # Every target is newer than every input.
            assert times[mine & split.target_event].min() > times[mine & split.input_event].max()
        again = ev.personalize_split(users, items, times, n_users=40, seed=seed)
        np.testing.assert_array_equal(again.test_users, split.test_users)
        np.testing.assert_array_equal(again.target_event, split.target_event)
    assert len(seen) > 5  # the seed matters


# --- evaluate_personalize ------------------------------------------------------------------


def tiny_pz() -> TrainData:
    """10 users, 40 items. Users 0-8 have one interaction each (items 0,0,0,0,1,1,2,3,4), so the
    distinct-user popularity is item 0: 4, item 1: 2, items 2-4: 1. User 9 is the only user that
    can be held out: items 0, 5..12 (times 1-9) are its input and item 2 (time 10) its target."""
    users = [*range(9), *([9] * 10)]
    items = [0, 0, 0, 0, 1, 1, 2, 3, 4, 0, 5, 6, 7, 8, 9, 10, 11, 12, 2]
    times = [0] * 9 + list(range(1, 11))
    return make_data(users, items, times, 10, 40)


def test_popularity_baseline_equals_hand_computed_values() -> None:
    result = ev.evaluate_personalize(Popular, tiny_pz())
    # Item 0 (most popular) is in the input, so excluded: the ranking is 1, 2, 3, 4, 13, 14, ...
    # (ties go to the lower index) and the target, item 2, is at rank 2.
    ndcg = 1 / math.log2(3)
    expected = {
        "precision_at_5": 1 / 5,
        "precision_at_10": 1 / 10,
        "precision_at_25": 1 / 25,
        "normalized_discounted_cumulative_gain_at_5": ndcg,
        "normalized_discounted_cumulative_gain_at_10": ndcg,
        "normalized_discounted_cumulative_gain_at_25": ndcg,
        "mean_reciprocal_rank_at_25": 1 / 2,
        "coverage": 25 / 40,
    }
    assert list(result["baseline"]) == list(expected)
    assert list(result["metrics"]) == list(expected)
    for name, value in expected.items():
        assert result["baseline"][name] == pytest.approx(value), name
        assert result["metrics"][name] == pytest.approx(value), name
    assert result["n_users_held_out"] == result["n_users_scored"] == 1


def test_personalize_trains_without_held_out_users_and_folds_in_their_input() -> None:
    data = tiny_pz()
    spy = Spy()
    ev.evaluate_personalize(spy, data)
    (train,) = spy.trained
    assert train.matrix.shape == (10, 40)  # rows kept, held-out row emptied
    assert train.matrix.getrow(9).nnz == 0
    assert train.matrix.nnz == 9
    assert 9 not in train.events_user
    assert len(train.events_user) == 9
    (history,) = spy.histories
    assert history.shape == (1, 40)
    assert sorted(history.indices.tolist()) == [0, 5, 6, 7, 8, 9, 10, 11, 12]


def test_personalize_target_repeating_the_input_is_not_scored() -> None:
    data = tiny_pz()
    items = data.events_item.copy()
    items[-1] = 5  # the newest interaction repeats an input item
    repeat = make_data(data.events_user, items, data.events_time, 10, 40)
    with pytest.raises(InvalidInput, match="none of the 1 held-out users"):
        ev.evaluate_personalize(Popular, repeat)
    # With one more, new target item, only the repeat is dropped from the target.
    more = make_data([*data.events_user, 9], [*items, 3], [*data.events_time, 11], 10, 40)
    result = ev.evaluate_personalize(Popular, more)
    assert result["n_users_scored"] == 1
    # Input: the 9 oldest of 11 (items 0, 5..12); target {5 (repeat), 3} -> {3}.
    # Ranking without the input: 1, 2, 3, ... so item 3 is at rank 3.
    assert result["baseline"]["mean_reciprocal_rank_at_25"] == pytest.approx(1 / 3)
    assert result["baseline"]["precision_at_5"] == pytest.approx(1 / 5)


def test_personalize_knn_beats_popularity_on_clustered_users() -> None:
    data, _ = clustered()
    result = ev.evaluate_personalize(ItemKNN, data, seed=1)
    knn, pop = result["metrics"], result["baseline"]
    assert result["n_users_held_out"] == 30
    for name in ("normalized_discounted_cumulative_gain_at_10", "precision_at_10"):
        assert knn[name] > 1.5 * pop[name], (name, knn[name], pop[name])
    assert knn["coverage"] > pop["coverage"]
    assert ev.evaluate_personalize(ItemKNN, data, seed=1) == result  # deterministic
    assert json.loads(json.dumps(result)) == result


def test_personalize_refuses_too_little_data_and_bad_scores() -> None:
    lonely = make_data([0, 1, 2], [0, 1, 2], [1, 2, 3], 3, 3)
    with pytest.raises(InvalidInput, match="too few users"):
        ev.evaluate_personalize(Popular, lonely)

    class Wrong:
        def __init__(self, data: TrainData) -> None:
            pass

        def score_users(self, history: sp.csr_matrix) -> np.ndarray:
            return np.zeros((history.shape[0], 3), dtype=np.float32)

    with pytest.raises(InvalidInput, match="score_users returned shape"):
        ev.evaluate_personalize(Wrong, tiny_pz())


# --- strong generalisation -----------------------------------------------------------------


def test_strong_generalization_binarizes_and_drops_light_users() -> None:
    # User 0: 6 ratings, 5 above 3.5 (one is exactly 3.5) -> kept.
    # User 1: 6 ratings, 4 above -> dropped. User 2: 5 ratings all 5 -> kept.
    # 8 users more with 5 good ratings each, so the folds fill up.
    users = [0] * 6 + [1] * 6 + [2] * 5
    items = [*range(6), *range(6), *range(5)]
    ratings = [4, 5, 4, 5, 4, 3.5, 4, 5, 4, 5, 3, 1, *([5] * 5)]  # strictly above 3.5 counts
    for u in range(3, 11):
        users += [u] * 5
        items += list(range(u, u + 5))
        ratings += [5] * 5
    data = make_data(users, items, range(len(users)), 11, 20)
    spy = Spy()
    result = ev.evaluate_strong_generalization(spy, data, ratings=np.array(ratings))
    assert result["n_users"] == 10
    assert result["n_interactions"] == 5 + 5 + 8 * 5
    assert 1 not in np.concatenate(ev.strong_generalization_folds(data, ratings=np.array(ratings)))
    for train in spy.trained:
        assert train.matrix.getrow(1).nnz == 0  # never trained on, not even as a train user
        assert set(np.unique(train.matrix.data)) <= {1.0}
        assert 1 not in train.events_user
        # The rating-3.5 event of user 0 (item 5) is gone from the matrix and the events.
        assert 5 not in train.matrix.getrow(0).indices
        assert not ((train.events_user == 0) & (train.events_item == 5)).any()


def test_strong_generalization_folds_are_disjoint_covering_and_held_out() -> None:
    data, _ = clustered(n_users=103)
    spy = Spy(ItemKNN)
    result = ev.evaluate_strong_generalization(spy, data, folds=5)
    folds = ev.strong_generalization_folds(data, folds=5)
    everyone = np.concatenate(folds)
    assert sorted(everyone.tolist()) == list(range(103))  # covering and disjoint
    assert [f.size for f in folds] == [21, 21, 21, 20, 20]
    assert len(spy.trained) == 5
    per_user = np.diff(data.matrix.indptr)
    for fold_users, train, history in zip(folds, spy.trained, spy.histories, strict=True):
        rows = np.diff(train.matrix.indptr)
        assert (rows[fold_users] == 0).all()
        others = np.setdiff1d(np.arange(103), fold_users)
        assert (rows[others] == per_user[others]).all()
        assert not np.isin(train.events_user, fold_users).any()
        # Fold-in: each held-out user keeps n - floor(0.2 n) of their own items (all items are
        # seen in training here), the rest is the target.
        n = per_user[fold_users]
        np.testing.assert_array_equal(np.diff(history.indptr), n - (2 * n) // 10)
        for row, user in enumerate(fold_users):
            mine = set(data.matrix.getrow(user).indices)
            assert set(history.getrow(row).indices) <= mine
    assert [f["n_users"] for f in result["folds"]] == [f.size for f in folds]


def test_strong_generalization_is_seeded() -> None:
    data, _ = clustered(n_users=120)
    a = ev.evaluate_strong_generalization(ItemKNN, data)
    b = ev.evaluate_strong_generalization(ItemKNN, data)
    c = ev.evaluate_strong_generalization(ItemKNN, data, seed=1)
    assert a["folds"] == b["folds"]
    assert a["folds"] != c["folds"]
    fa, fb = ev.strong_generalization_folds(data), ev.strong_generalization_folds(data)
    fc = ev.strong_generalization_folds(data, seed=1)
    for x, y in zip(fa, fb, strict=True):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for x, y in zip(fa, fc, strict=True))
    assert json.loads(json.dumps(a))["n_users"] == 120  # plain values: the CLI prints them


def test_strong_generalization_knn_beats_popularity() -> None:
    data, _ = clustered()
    result = ev.evaluate_strong_generalization(ItemKNN, data)
    for name in ("recall_at_20", "recall_at_50", "ndcg_at_100"):
        mean, sd = result[name]
        base_mean, _ = result["baseline"][name]
        assert mean > 1.3 * base_mean, (name, mean, base_mean)
        assert 0 < sd < 0.1
        folds = [f[name] for f in result["folds"]]
        assert mean == pytest.approx(np.mean(folds))
        assert sd == pytest.approx(np.std(folds, ddof=1))


def test_strong_generalization_excludes_fold_in_items() -> None:
    # A model that puts the history on top: excluded, so it ranks exactly like popularity.
    class Echo(Popular):
        def score_users(self, history: sp.csr_matrix) -> np.ndarray:
            return super().score_users(history) + 1000 * history.toarray()

    data, _ = clustered(n_users=150)
    echo = ev.evaluate_strong_generalization(Echo, data)
    for name in ev.SG_METRICS:
        assert echo[name] == echo["baseline"][name]


def test_strong_generalization_drops_items_no_training_user_has() -> None:
    # Item 9 is only ever seen by user 0, so it cannot be in user 0's history or target when
    # user 0 is held out.
    users, items = [], []
    for u in range(10):
        users += [u] * 6
        items += [0, 1, 2, 3, 4, 5] if u else [0, 1, 2, 3, 4, 9]
    data = make_data(users, items, range(60), 10, 10)
    spy = Spy()
    result = ev.evaluate_strong_generalization(spy, data, folds=10)
    assert result["n_items"] == 7
    fold_of_0 = next(
        i for i, f in enumerate(ev.strong_generalization_folds(data, folds=10)) if 0 in f
    )
    history = spy.histories[fold_of_0]
    assert 9 not in history.indices
    assert history.nnz == 4  # 5 seen items: 4 folded in, floor(20% of 5) = 1 target


# --- hyper-parameter search ----------------------------------------------------------------


def factory(params: dict[str, Any]) -> Any:
    return ItemKNN if params["knn"] else Popular


def test_search_picks_by_validation_ndcg_and_never_sees_excluded_users() -> None:
    data, _ = clustered()
    test_users = np.arange(0, 300, 10)
    seen: list[TrainData] = []

    def spying_factory(params: dict[str, Any]) -> Any:
        def fit(train: TrainData) -> Any:
            seen.append(train)
            return factory(params)(train)

        return fit

    found = ev.search(
        spying_factory, {"knn": [False, True]}, data, exclude_users=test_users, validation=0.2
    )
    assert found.best_params == {"knn": True}
    assert [p for p, _ in found.scores] == [{"knn": False}, {"knn": True}]
    assert found.best_ndcg == max(s for _, s in found.scores) == found.scores[1][1]
    assert not np.isin(found.validation_users, test_users).any()
    assert found.validation_users.size == 54  # 20% of the 270 non-test users
    assert len(seen) == 2
    for train in seen:
        rows = np.diff(train.matrix.indptr)
        assert (rows[test_users] == 0).all()
        assert (rows[found.validation_users] == 0).all()

    listed = ev.search(factory, [{"knn": True}, {"knn": False}], data, exclude_users=test_users)
    assert listed.best_params == {"knn": True}
    with pytest.raises(InvalidInput, match="grid is empty"):
        ev.search(factory, [], data)


def test_strong_generalization_tunes_per_fold_on_training_users_only() -> None:
    data, _ = clustered(n_users=150)
    trained: list[TrainData] = []

    def spying_factory(params: dict[str, Any]) -> Any:
        def fit(train: TrainData) -> Any:
            trained.append(train)
            return factory(params)(train)

        return fit

    result = ev.evaluate_strong_generalization(
        None, data, folds=3, tune=(spying_factory, {"knn": [False, True]})
    )
    assert result["params"] == [{"knn": True}] * 3
    # Per fold: 2 candidates on validation users, then the final fit.
    assert len(trained) == 9
    for fold, fold_users in enumerate(ev.strong_generalization_folds(data, folds=3)):
        for train in trained[3 * fold : 3 * fold + 3]:
            assert (np.diff(train.matrix.indptr)[fold_users] == 0).all()
    plain = ev.evaluate_strong_generalization(ItemKNN, data, folds=3)
    assert result["ndcg_at_100"] == plain["ndcg_at_100"]
    with pytest.raises(InvalidInput, match="nothing to evaluate"):
        ev.evaluate_strong_generalization(None, data)


# --- user attributes: cold start and short histories -----------------------------------------


class ClusterPopular:
    """Popularity among training users with the same feature (here: their taste cluster); records
    the histories and user features it is asked to score."""

    seen: ClassVar[list[tuple[sp.csr_matrix, sp.csr_matrix]]] = []

    def __init__(self, data: TrainData) -> None:
        assert data.user_features is not None
        x = (data.matrix > 0).astype(np.float32)
        self.by_feature = np.asarray((data.user_features.T @ x).todense(), dtype=np.float32)

    def score_users(self, history: sp.csr_matrix, user_features: Any = None) -> np.ndarray:
        ClusterPopular.seen.append((history.copy(), user_features.copy()))
        return np.asarray(user_features @ self.by_feature, dtype=np.float32)


def with_clusters(data: TrainData, n_clusters: int = 5) -> TrainData:
    """``clustered`` data with each user's cluster (u % n_clusters) as their one feature."""
    import dataclasses

    users = np.arange(data.n_users)
    features = sp.csr_matrix(
        (np.ones(data.n_users, np.float32), (users, users % n_clusters)),
        shape=(data.n_users, n_clusters),
    )
    names = [f"cluster={c}" for c in range(n_clusters)]
    return dataclasses.replace(data, user_features=features, user_feature_names=names)


def test_cold_start_folds_nothing_in_and_targets_every_item() -> None:
    data, _ = clustered(n_users=150)
    data = with_clusters(data)
    ClusterPopular.seen = []
    result = ev.evaluate_cold_start(ClusterPopular, data, folds=5)
    folds = ev.strong_generalization_folds(data, folds=5)
    assert len(ClusterPopular.seen) == 5
    for fold_users, (history, features) in zip(folds, ClusterPopular.seen, strict=True):
        assert history.shape[0] == fold_users.size and history.nnz == 0  # nothing folded in
        np.testing.assert_array_equal(features.toarray(), data.user_features[fold_users].toarray())
    # every held-out user is scored, on all their items: the metrics' denominators say so
    assert [f["n_users"] for f in result["folds"]] == [f.size for f in folds]
    for name in ev.SG_METRICS:
        assert result[name][0] > 1.3 * result["baseline"][name][0], name
    # popularity scored the cold-start way is its own baseline
    plain = ev.evaluate_cold_start(Popular, clustered(n_users=150)[0], folds=5)
    for name in ev.SG_METRICS:
        assert plain[name] == plain["baseline"][name]


def test_fold_in_keeps_only_k_items_of_each_history() -> None:
    data, _ = clustered(n_users=120)
    spy = Spy(ItemKNN)
    short = ev.evaluate_strong_generalization(spy, data, folds=5, fold_in=2)
    full = ev.evaluate_strong_generalization(ItemKNN, data, folds=5)
    for history in spy.histories:
        assert (np.diff(history.indptr) == 2).all()  # every user here has 12+ items
    # the same users are scored on the same 20%; a shorter history tells the model less
    assert [f["n_users"] for f in short["folds"]] == [f["n_users"] for f in full["folds"]]
    assert short["ndcg_at_100"][0] < full["ndcg_at_100"][0]
    with pytest.raises(InvalidInput):
        ev.evaluate_strong_generalization(ItemKNN, data, fold_in=-1)
