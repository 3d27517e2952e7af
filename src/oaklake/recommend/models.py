"""Trained recommendation models: what a recipe's ``fit`` returns.

A model only scores; choosing the top N, filtering and back-filling are the service's job, so every
model answers the same three questions over the whole catalogue — scores for users given their
interaction rows (:meth:`Model.score_users`), scores of items related to one item
(:meth:`Model.related`) and popularity for back-fill (:meth:`Model.popularity`).

Users are always scored from the history they bring, never from a per-user table learnt at training
time: a user known at training, a user first seen an hour ago and an anonymous session are the same
case (fold-in), which is how events sent after training change recommendations without a retrain.

A model is saved as plain arrays (``model.npz``, loaded with ``allow_pickle=False``) plus its
recipe, hyper-parameters and training facts (``model.json``), so a saved version can be read by
anything that reads numpy files and never executes code on load.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from oaklake.errors import InvalidInput

FORMAT_VERSION = 1
META_FILE = "model.json"
ARRAYS_FILE = "model.npz"

# Batches up to this many users are scored with BLAS pinned to one thread: for a handful of rows
# the thread hand-off costs more than the arithmetic, and it turns p95 latency into milliseconds.
PIN_BLAS_MAX_ROWS = 64

_controller: Any = None


def one_blas_thread(size: int = 1, up_to: int = PIN_BLAS_MAX_ROWS) -> AbstractContextManager[Any]:
    """Pin BLAS/LAPACK to one thread for work of ``size`` up to ``up_to``; bigger work keeps every
    core.

    On a shared machine multi-threaded OpenBLAS spin-waits for its threads: measured on 2 busy
    cores, a 1.7k x 1.7k Cholesky took 2.8 s with 2 threads and 0.24 s with one. The controller is
    built once (it scans the loaded libraries, ~2 ms) and entering its limit costs ~15 us, so this
    is cheap enough to wrap every single-user request.
    """
    global _controller
    if size > up_to:
        return nullcontext()
    if _controller is None:
        import scipy.linalg  # noqa: F401  (load scipy's own BLAS before the scan)
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    limit: AbstractContextManager[Any] = _controller.limit(limits=1, user_api="blas")
    return limit


def binary(matrix: sp.spmatrix | sp.sparray) -> sp.csr_matrix:
    """Positive entries as 1.0, everything else dropped.

    Item-item models count *users*, not events: a user who viewed one film forty times is one
    co-occurrence, not forty. Negative EVENT_VALUE sums are not a preference either way.
    """
    out = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    out.data = (out.data > 0).astype(np.float32)
    out.eliminate_zeros()
    return out


def confidence(matrix: sp.spmatrix | sp.sparray) -> sp.csr_matrix:
    """iALS confidence: log2(1 + weight) of positive entries.

    One interaction stays 1.0 (the setting the spec's measurements used), while a user's 500 plays
    of one song weigh ~9, not 500, so a few heavy repeaters cannot pull the factors around.
    """
    out = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    out.data = np.where(out.data > 0, np.log2(1.0 + np.maximum(out.data, 0)), 0).astype(np.float32)
    out.eliminate_zeros()
    return out


def check_history(history: Any, n_items: int) -> sp.csr_matrix:
    """The caller's interaction rows as CSR float32 over this model's items."""
    if not sp.issparse(history):
        arr = np.asarray(history, dtype=np.float32)
        if arr.ndim == 1:
            arr = arr[None, :]
        history = sp.csr_matrix(arr)
    rows = sp.csr_matrix(history, dtype=np.float32)
    if rows.shape[1] != n_items:
        raise InvalidInput(
            f"history has {rows.shape[1]} item columns but the model knows {n_items} items",
            hint="build history rows with the item index of the training data; items added "
            "since training are unknown to the model until it is retrained",
            code="REC_INVALID_ARGUMENT",
        )
    return rows


def one_row(idx: np.ndarray, n_items: int) -> sp.csr_matrix:
    """A one-user binary CSR row from sorted unique item indices (no duplicate summing)."""
    indptr = np.array([0, len(idx)], dtype=np.int32)
    data = np.ones(len(idx), dtype=np.float32)
    return sp.csr_matrix((data, idx.astype(np.int32), indptr), shape=(1, n_items))


def _rows_by_abs_max(scores: np.ndarray) -> np.ndarray:
    """Each row divided by its largest absolute value (all-zero rows stay zero), in place."""
    top = np.abs(scores).max(axis=1, keepdims=True) if scores.shape[0] else 1.0
    scores /= np.where(top > 0, top, 1.0).astype(np.float32)
    return scores


def check_user_features(features: Any, n_features: int, n_rows: int | None = None) -> sp.csr_matrix:
    """The caller's user-feature rows as binary CSR (one per history row when ``n_rows``)."""
    rows = binary(features if sp.issparse(features) else np.atleast_2d(features))
    if rows.shape[1] != n_features or (n_rows is not None and rows.shape[0] != n_rows):
        raise InvalidInput(
            f"user_features is {rows.shape[0]} x {rows.shape[1]}; the history has {n_rows} "
            f"row(s) and the model knows {n_features} user features",
            hint="build user features with the training data's feature columns, one row per "
            "history row",
            code="REC_INVALID_ARGUMENT",
        )
    return rows


def _exp_to_max_one(log: np.ndarray) -> np.ndarray:
    """exp of each row's log-scores, scaled to a maximum of 1 (-inf gives 0)."""
    top = log.max(axis=1, keepdims=True)
    out: np.ndarray = np.exp(log - np.where(np.isfinite(top), top, 0.0)).astype(np.float32)
    return out


def _normalised(vector: np.ndarray) -> np.ndarray:
    """A non-negative score vector scaled to a maximum of 1 (all zeros stays all zeros)."""
    top = float(vector.max()) if vector.size else 0.0
    out = vector.astype(np.float32)
    return out / np.float32(top) if top > 0 else out


class Model:
    """Base model: popularity for everybody. Subclasses override what their kind needs.

    ``popularity`` (distinct users per item) is kept by every model so a filtered list can always be
    back-filled; ``info`` holds training facts worth showing (fit time, algorithm chosen, window).
    """

    model_type: ClassVar[str] = "popularity"

    def __init__(
        self,
        recipe: str,
        kind: str,
        params: dict[str, Any],
        popularity: np.ndarray,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.recipe = recipe
        self.kind = kind
        self.params = dict(params)
        self.n_items = len(popularity)
        self._popularity = np.ascontiguousarray(popularity, dtype=np.float32)
        self.info: dict[str, Any] = dict(info or {})

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.recipe} n_items={self.n_items}>"

    # ---- scoring ------------------------------------------------------------------------

    def popularity(self) -> np.ndarray:
        """Distinct users per item, float32 (a copy: callers may mask it in place)."""
        return self._popularity.copy()

    @property
    def n_user_features(self) -> int:
        """User-feature columns the model scores with (0: it does not use user attributes)."""
        return 0

    def score_users(self, history: Any, user_features: Any = None) -> np.ndarray:
        """Scores for k users (k x n_items float32); this base model ignores the history.

        ``user_features`` (k x ``n_user_features``, ones) is used by models that score with user
        attributes and ignored by the others, so a caller can always pass what it has.
        """
        rows = check_history(history, self.n_items)
        return np.tile(self._popularity, (rows.shape[0], 1))

    def score_one(self, items: Any, user_features: Any = None) -> np.ndarray:
        """One user's scores (n_items float32) from the indices of the items they interacted
        with, repeats allowed, and of their user features: ``score_users`` of that one binary
        row, without building sparse matrices. The service calls this on every request, where
        scipy's constructors alone cost ~0.3 ms."""
        idx = np.unique(np.asarray(items, dtype=np.int64))
        if len(idx) and (idx[0] < 0 or idx[-1] >= self.n_items):
            bad = int(idx[0] if idx[0] < 0 else idx[-1])
            self._check_item(bad)
        feats = None
        if user_features is not None and self.n_user_features:
            feats = np.unique(np.asarray(user_features, dtype=np.int64))
            if len(feats) and (feats[0] < 0 or feats[-1] >= self.n_user_features):
                raise InvalidInput(
                    f"user feature index {int(feats[0] if feats[0] < 0 else feats[-1])} is "
                    f"outside the model's {self.n_user_features} user features",
                    hint="map user attributes with the version's user feature spec",
                    code="REC_INVALID_ARGUMENT",
                )
            feats = feats if len(feats) else None
        return self._score_one(idx, feats)

    def _score_one(self, idx: np.ndarray, feats: np.ndarray | None = None) -> np.ndarray:
        """``score_one`` for sorted unique in-range item (and feature) indices; subclasses do
        it without scipy."""
        features = None if feats is None else one_row(feats, self.n_user_features)
        scores = self.score_users(one_row(idx, self.n_items), user_features=features)
        return np.asarray(scores[0], dtype=np.float32)

    def related(self, item: int) -> np.ndarray:
        """Scores of items related to ``item``; without a notion of relation, popularity."""
        self._check_item(item)
        return self._popularity.copy()

    def related_rows(self, items: np.ndarray) -> np.ndarray:
        """``related`` for several items at once (len(items) x n_items), for explanations."""
        return np.vstack([self.related(int(i)) for i in items]).astype(np.float32, copy=False)

    def exploration_boost(self) -> np.ndarray:
        """Per item, what exploration adds to a normalised score at weight 1 (zeros: none).

        The service uses it to label an item's ``reason`` as "Exploration".
        """
        return np.zeros(self.n_items, dtype=np.float32)

    def _check_item(self, item: int) -> int:
        index = int(item)
        if not 0 <= index < self.n_items:
            raise InvalidInput(
                f"item index {item} is outside the model's {self.n_items} items",
                hint="map the item id with the training data's item index; unknown items have "
                "no related items until the model is retrained",
                code="REC_INVALID_ARGUMENT",
            )
        return index

    def _cold_rows(self, rows: sp.csr_matrix, scores: np.ndarray) -> np.ndarray:
        """Users with no history get popularity (scaled to max 1), as Personalize serves them."""
        empty = np.diff(binary(rows).indptr) == 0  # nothing positive to go on
        if empty.any():
            scores[empty] = _normalised(self._popularity)
        return scores

    # ---- persistence --------------------------------------------------------------------

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"popularity": self._popularity}

    @classmethod
    def _restore(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Model:
        return cls(
            meta["recipe"],
            meta["kind"],
            meta["params"],
            arrays["popularity"],
            meta["info"],
            **cls._restored(arrays),
        )

    @classmethod
    def _restored(cls, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        """The subclass's own constructor arguments, from the saved arrays (``_arrays``)."""
        return {}

    def save(self, folder: Path) -> None:
        """Write ``model.npz`` (arrays) and ``model.json`` (recipe, params, facts) to ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT_VERSION,
            "recipe": self.recipe,
            "kind": self.kind,
            "model": self.model_type,
            "n_items": self.n_items,
            "params": self.params,
            "info": self.info,
        }
        # Arrays first: a folder with a model.json always has its arrays next to it.
        with open(folder / ARRAYS_FILE, "wb") as fh:
            np.savez(fh, **self._arrays())  # type: ignore[arg-type]
        (folder / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, folder: Path) -> Model:
        """Read a saved model; on the base class any model, on a subclass only its own type."""
        meta, arrays = _read(Path(folder))
        model_cls = MODEL_TYPES[meta["model"]]
        if cls is not Model and not issubclass(model_cls, cls):
            raise InvalidInput(
                f"{folder} holds a {meta['model']!r} model, not a {cls.model_type!r} one",
                hint="use oaklake.recommend.recipes.load_model to load whatever was saved",
                code="REC_BAD_MODEL",
            )
        model = model_cls._restore(meta, arrays)
        if model.n_items != meta["n_items"]:
            raise InvalidInput(
                f"{folder}: arrays have {model.n_items} items, model.json says {meta['n_items']}",
                hint="the model files are damaged or mixed up; retrain the solution version",
                code="REC_BAD_MODEL",
            )
        return model


class TrendingModel(Model):
    """Trending-now: one ranking (rise in interactions) for everybody."""

    model_type = "trending"

    def __init__(self, *args: Any, trend: np.ndarray, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._trend = np.ascontiguousarray(trend, dtype=np.float32)

    def trend(self) -> np.ndarray:
        return self._trend.copy()

    def score_users(self, history: Any, user_features: Any = None) -> np.ndarray:
        rows = check_history(history, self.n_items)
        return np.tile(self._trend, (rows.shape[0], 1))

    def _score_one(self, idx: np.ndarray, feats: np.ndarray | None = None) -> np.ndarray:
        return self._trend.copy()

    def related(self, item: int) -> np.ndarray:
        self._check_item(item)
        return self._trend.copy()

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"popularity": self._popularity, "trend": self._trend}

    @classmethod
    def _restored(cls, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        return {"trend": arrays["trend"]}


class ItemSimilarityModel(Model):
    """Sims and similar-items: a sparse item x item matrix ``S`` (top-k neighbours per row).

    ``related(i)`` is row i; a user's scores are ``history @ S``, the sum of the neighbour rows of
    everything they interacted with (item-based collaborative filtering).
    """

    model_type = "item-similarity"

    def __init__(self, *args: Any, similarity: sp.csr_matrix, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._similarity = sp.csr_matrix(similarity, dtype=np.float32)

    @property
    def similarity(self) -> sp.csr_matrix:
        return self._similarity

    def score_users(self, history: Any, user_features: Any = None) -> np.ndarray:
        rows = check_history(history, self.n_items)
        scores = np.asarray((binary(rows) @ self._similarity).toarray(), dtype=np.float32)
        return self._cold_rows(rows, scores)

    def _score_one(self, idx: np.ndarray, feats: np.ndarray | None = None) -> np.ndarray:
        if not len(idx):
            return _normalised(self._popularity)
        # The neighbour rows of the history, gathered straight from the CSR arrays and summed
        # per column: the same sum as ``row @ S``.
        s = self._similarity
        starts, ends = s.indptr[idx], s.indptr[idx + 1]
        lengths = ends - starts
        at = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        return np.bincount(s.indices[at], weights=s.data[at], minlength=self.n_items).astype(
            np.float32
        )

    def related(self, item: int) -> np.ndarray:
        index = self._check_item(item)
        return np.asarray(self._similarity[index].toarray(), dtype=np.float32).ravel()

    def _arrays(self) -> dict[str, np.ndarray]:
        s = self._similarity
        return {
            "popularity": self._popularity,
            "sim_data": s.data,
            "sim_indices": s.indices,
            "sim_indptr": s.indptr,
        }

    @classmethod
    def _restored(cls, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        n = len(arrays["popularity"])
        sim = sp.csr_matrix(
            (arrays["sim_data"], arrays["sim_indices"], arrays["sim_indptr"]), shape=(n, n)
        )
        return {"similarity": sim}


class PersonalizationModel(Model):
    """User-personalization and personalized-ranking: a scorer plus exploration of new items,
    and optionally user attributes.

    Exploration (Personalize's ``explorationWeight``): each user's scores are scaled to a maximum
    of 1 and ``weight * boost`` is added, where ``boost`` is 1 for a brand-new item nobody has
    touched and falls to 0 with age (at ``exploration_item_age_cutoff_days``) and with popularity.
    With weight 0 the scores are the model's own, untouched.

    User attributes (``user_attr_lift``, features x items): ``attr(i)`` is the popularity of item
    i among users who share the user's feature values, naive-Bayes style — global popularity
    times, per feature value, the (smoothed) lift of the item's rate among users with that value
    (``recipes.user_attribute_lift``). A user without history gets ``attr`` (scaled to max 1)
    instead of global popularity; a user with n items gets ``(1 - a) * model + a * attr``, both
    scaled to max |1|, with ``a = lam / (lam + n)`` (``lam`` = ``user_attribute_weight``): the
    attributes are a prior that the user's own history overrides as it grows.
    """

    def __init__(
        self, *args: Any, boost: np.ndarray, user_attr_lift: np.ndarray | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._boost = np.ascontiguousarray(boost, dtype=np.float32)
        self._attr_lift = (
            None if user_attr_lift is None else np.ascontiguousarray(user_attr_lift, np.float32)
        )
        with np.errstate(divide="ignore"):  # items nobody has: log 0 = -inf, attr 0
            self._attr_base = np.log(self._popularity)

    @property
    def n_user_features(self) -> int:
        return 0 if self._attr_lift is None else int(self._attr_lift.shape[0])

    def exploration_boost(self) -> np.ndarray:
        return self._boost.copy()

    def model_scores(self, rows: sp.csr_matrix) -> np.ndarray:
        """The model's scores before exploration; EASE and iALS each define it."""
        raise NotImplementedError(f"{type(self).__name__} does not define model_scores")

    def attribute_scores(self, features: Any) -> np.ndarray:
        """``attr`` for k users' feature rows (k x n_items, each row scaled to max 1).

        Rows without any feature get global popularity (scaled), what they would be served.
        """
        rows = check_user_features(features, self.n_user_features)
        if self._attr_lift is None:
            return np.tile(_normalised(self._popularity), (rows.shape[0], 1))
        log = np.asarray(rows @ self._attr_lift, dtype=np.float32) + self._attr_base
        return _exp_to_max_one(log)

    def _attribute_one(self, feats: np.ndarray) -> np.ndarray:
        assert self._attr_lift is not None
        log = self._attr_lift[feats].sum(axis=0, dtype=np.float32) + self._attr_base
        return _exp_to_max_one(log[None, :])

    def _attribute_weight(self) -> float:
        return float(self.params.get("user_attribute_weight", 0.0)) if self.n_user_features else 0.0

    def score_users(
        self,
        history: Any,
        user_features: Any = None,
        exploration_weight: float | None = None,
    ) -> np.ndarray:
        """Scores for k users; ``user_features`` (k x ``n_user_features``, ones, or None) are the
        users' attributes; ``exploration_weight`` overrides the trained default per call.

        The override is how a campaign's own ``explorationWeight`` (or an evaluation, with 0)
        applies without retraining.
        """
        rows = check_history(history, self.n_items)
        lengths = np.diff(binary(rows).indptr)
        empty = lengths == 0  # nothing positive to go on
        scores = self.model_scores(rows)
        lam = self._attribute_weight()
        if user_features is not None and lam > 0:
            feats = check_user_features(user_features, self.n_user_features, rows.shape[0])
            has = np.diff(feats.indptr) > 0
            if has.any():
                a = (lam / (lam + lengths[has])).astype(np.float32)[:, None]
                attr = self.attribute_scores(feats[has])
                scores[has] = (1 - a) * _rows_by_abs_max(scores[has]) + a * attr
                empty &= ~has  # their attributes, not global popularity
        return self._explore(scores, empty, exploration_weight)

    def _score_one(self, idx: np.ndarray, feats: np.ndarray | None = None) -> np.ndarray:
        n = len(idx)
        scores: np.ndarray = self.model_scores_one(idx)[None, :] if n else self._cold_row()
        empty = n == 0
        lam = self._attribute_weight() if feats is not None else 0.0
        if lam > 0:
            assert feats is not None
            a = np.float32(lam / (lam + n))
            scores = (1 - a) * _rows_by_abs_max(scores) + a * self._attribute_one(feats)
            empty = False  # their attributes, not global popularity
        out: np.ndarray = self._explore(scores, np.array([empty]), None)[0]
        return out

    def model_scores_one(self, idx: np.ndarray) -> np.ndarray:
        """``model_scores`` for one user's sorted unique item indices (n_items float32)."""
        return np.asarray(self.model_scores(one_row(idx, self.n_items))[0], dtype=np.float32)

    def _cold_row(self) -> np.ndarray:
        return np.zeros((1, self.n_items), dtype=np.float32)

    def _explore(
        self, scores: np.ndarray, empty: np.ndarray, exploration_weight: float | None
    ) -> np.ndarray:
        """Scale each row to a maximum of 1 and add ``weight * boost``; rows with no history get
        popularity (plus the boost)."""
        weight = float(
            self.params.get("exploration_weight", 0.0)
            if exploration_weight is None
            else exploration_weight
        )
        if weight > 0:
            _rows_by_abs_max(scores)
            scores += np.float32(weight) * self._boost
        if empty.any():
            scores[empty] = (
                _normalised(self._popularity) + np.float32(max(weight, 0.0)) * self._boost
            )
        return scores

    def _arrays(self) -> dict[str, np.ndarray]:
        out = {"popularity": self._popularity, "boost": self._boost}
        if self._attr_lift is not None:  # absent in models trained without user attributes
            out["user_attr_lift"] = self._attr_lift
        return out

    @classmethod
    def _restored(cls, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        return {"boost": arrays["boost"], "user_attr_lift": arrays.get("user_attr_lift")}


class EaseModel(PersonalizationModel):
    """EASE (Steck 2019): a dense item x item weight matrix ``B`` with a zero diagonal.

    Scoring one user is ``history @ B``: a sparse row times a dense matrix touches only the rows
    of the items in the history, ~50 us for 1.7k items, with no BLAS call at all.
    """

    model_type = "ease"

    def __init__(self, *args: Any, weights: np.ndarray, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._weights = np.ascontiguousarray(weights, dtype=np.float32)

    def model_scores(self, rows: sp.csr_matrix) -> np.ndarray:
        return np.asarray(binary(rows) @ self._weights, dtype=np.float32)

    def model_scores_one(self, idx: np.ndarray) -> np.ndarray:
        out: np.ndarray = self._weights[idx].sum(axis=0, dtype=np.float32)
        return out

    def related(self, item: int) -> np.ndarray:
        row: np.ndarray = self._weights[self._check_item(item)].copy()
        return row

    def related_rows(self, items: np.ndarray) -> np.ndarray:
        rows: np.ndarray = self._weights[np.asarray(items, dtype=np.int64)]
        return rows

    def _arrays(self) -> dict[str, np.ndarray]:
        return {**super()._arrays(), "weights": self._weights}

    @classmethod
    def _restored(cls, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        return {**super()._restored(arrays), "weights": arrays["weights"]}


class IalsModel(PersonalizationModel):
    """iALS (Hu, Koren, Volinsky 2008): item factors; users are folded in at scoring time.

    Fold-in solves each user's least-squares problem against the fixed item factors, the same
    system implicit's ``recalculate_user`` solves, so scores do not depend on training-time user
    factors at all and fresh events count immediately.
    """

    model_type = "ials"

    def __init__(self, *args: Any, item_factors: np.ndarray, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._factors = np.ascontiguousarray(item_factors, dtype=np.float32)
        self._gram = (self._factors.T @ self._factors).astype(np.float64)
        norms = np.linalg.norm(self._factors, axis=1)
        self._norms = np.where(norms > 0, norms, 1.0).astype(np.float32)

    @property
    def item_factors(self) -> np.ndarray:
        return self._factors

    def user_factors(self, rows: sp.csr_matrix) -> np.ndarray:
        """Fold in users: x = (YtY + reg I + Yi^T (C_i - 1) Yi)^-1 Yi^T C_i, per user."""
        conf = confidence(rows)
        conf.data *= np.float32(self.params["alpha"])
        n_factors = self._factors.shape[1]
        base = self._gram + float(self.params["regularization"]) * np.eye(n_factors)
        out = np.zeros((conf.shape[0], n_factors), dtype=np.float32)
        for u in range(conf.shape[0]):
            lo, hi = conf.indptr[u], conf.indptr[u + 1]
            if lo == hi:
                continue
            y = self._factors[conf.indices[lo:hi]].astype(np.float64)
            c = conf.data[lo:hi].astype(np.float64)
            a = base + y.T @ ((c - 1.0)[:, None] * y)
            out[u] = np.linalg.solve(a, y.T @ c)
        return out

    def model_scores(self, rows: sp.csr_matrix) -> np.ndarray:
        # The per-user solves are tiny (factors x factors): always one thread for them.
        with one_blas_thread():
            users = self.user_factors(rows)
        with one_blas_thread(rows.shape[0]):
            return np.asarray(users @ self._factors.T, dtype=np.float32)

    def related(self, item: int) -> np.ndarray:
        """Cosine similarity of item factors (the item itself scores 0)."""
        index = self._check_item(item)
        with one_blas_thread():
            sims = (self._factors @ self._factors[index]) / (self._norms * self._norms[index])
        out: np.ndarray = sims.astype(np.float32)
        out[index] = 0.0
        return out

    def _arrays(self) -> dict[str, np.ndarray]:
        return {**super()._arrays(), "item_factors": self._factors}

    @classmethod
    def _restored(cls, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        return {**super()._restored(arrays), "item_factors": arrays["item_factors"]}


MODEL_TYPES: dict[str, type[Model]] = {
    cls.model_type: cls for cls in (Model, TrendingModel, ItemSimilarityModel, EaseModel, IalsModel)
}


def _read(folder: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    meta_path, arrays_path = folder / META_FILE, folder / ARRAYS_FILE
    if not meta_path.is_file() or not arrays_path.is_file():
        raise InvalidInput(
            f"no saved model in {folder}",
            hint=f"a saved model is a folder with {META_FILE} and {ARRAYS_FILE}; retrain the "
            "solution version if they were removed",
            code="REC_BAD_MODEL",
        )
    try:
        meta = json.loads(meta_path.read_text())
        with np.load(arrays_path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError) as e:
        raise InvalidInput(
            f"{folder}: the saved model cannot be read ({e})",
            hint="the files are damaged; retrain the solution version",
            code="REC_BAD_MODEL",
        ) from e
    if meta.get("format") != FORMAT_VERSION or meta.get("model") not in MODEL_TYPES:
        raise InvalidInput(
            f"{folder}: unsupported model format {meta.get('format')!r} / {meta.get('model')!r}",
            hint=f"this oaklake reads format {FORMAT_VERSION}; retrain the solution version",
            code="REC_BAD_MODEL",
        )
    return meta, arrays


def top_k_rows(
    block_rows: Callable[[int, int], np.ndarray],
    n_rows: int,
    n_cols: int,
    k: int,
    *,
    drop_diagonal: bool = True,
    budget: int = 16_000_000,
) -> sp.csr_matrix:
    """Keep the k largest positive entries of each row of a matrix computed a block at a time.

    ``block_rows(r0, r1)`` returns rows r0..r1 as a dense float array. Blocks hold at most
    ``budget`` cells (64 MB of float32), so an item x item similarity over 100k items never
    exists densely — the reason fit stays within memory on large catalogues.
    """
    step = max(1, budget // max(n_cols, 1))
    rows, cols, vals = [], [], []
    for r0, r1 in _blocks(n_rows, step):
        block = np.asarray(block_rows(r0, r1), dtype=np.float32)
        if drop_diagonal:
            local = np.arange(r1 - r0)
            diag = local + r0
            inside = diag < n_cols
            block[local[inside], diag[inside]] = 0.0
        if k < n_cols:
            idx = np.argpartition(-block, k - 1, axis=1)[:, :k]
        else:
            idx = np.broadcast_to(np.arange(n_cols), block.shape)
        top = np.take_along_axis(block, idx, axis=1)
        keep = top > 0
        rows.append((np.nonzero(keep)[0] + r0).astype(np.int64))
        cols.append(idx[keep].astype(np.int64))
        vals.append(top[keep])
    if not rows:
        return sp.csr_matrix((n_rows, n_cols), dtype=np.float32)
    out = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_rows, n_cols),
        dtype=np.float32,
    )
    out.sort_indices()
    return out


def _blocks(n: int, step: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, step):
        yield start, min(n, start + step)
