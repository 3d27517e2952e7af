"""Serving a trained recommender: recommendations, related items and re-ranking with filters,
back-fill and reasons, and real-time events that change a user's results at once.

One ``Runtime`` holds one version in memory (model, ids, histories, attributes). A user's
history is the training interactions plus the events received since, so a PutEvents call
changes the next recommendation without retraining (Personalize: user-personalization only,
within 1-2 s; here: every recipe that scores histories, at once). Events are also appended to
the interactions table in batched commits by ``EventWriter`` (see ``events.py``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from oaklake.errors import InvalidInput
from oaklake.recommend.promotions import PROMOTED, Promotion, place

if TYPE_CHECKING:
    from oaklake.app import Lake
    from oaklake.recommend.store import Version

log = logging.getLogger("oaklake.server")

MAX_RESULTS = 500
DEFAULT_RESULTS = 25
POPULAR = "Popular item"
LIKE_YOU = "popular with users like you"
_VERBS = {
    "purchase": "bought",
    "purchased": "bought",
    "buy": "bought",
    "order": "ordered",
    "view": "viewed",
    "click": "clicked",
    "rating": "rated",
    "rate": "rated",
    "watch": "watched",
    "add-to-cart": "added to your cart",
    "add_to_cart": "added to your cart",
}
_LABELS = ("TITLE", "NAME", "PRODUCT_NAME")
_EXPLAIN_HISTORY = 20  # latest history items looked at to explain a recommendation
_RETRY_SECONDS = 30.0  # how long events skip a recommender that could not be loaded
# A version folder appears just before its catalog row is committed (or stays, from a failed
# training): the catalog is read again for it after this long, not at every check.
_RELOOK_SECONDS = 10.0


def check_count(n: Any) -> int:
    try:
        value = int(n)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"numResults must be a whole number, got {n!r}", code="REC_INVALID_ARGUMENT"
        ) from None
    if not 1 <= value <= MAX_RESULTS:
        raise InvalidInput(
            f"numResults must be between 1 and {MAX_RESULTS}, got {value}",
            code="REC_INVALID_ARGUMENT",
            hint="Personalize's limit is 500 too",
        )
    return value


@dataclass
class Item:
    item_id: str
    score: float | None
    reasons: list[str] = field(default_factory=list)
    index: int = -1  # the model's item index; -1 for an item the model does not know
    promotion: str | None = None  # the promotion's name, for a promoted item

    def to_dict(self) -> dict[str, Any]:
        out = {"itemId": self.item_id, "score": self.score, "reasons": self.reasons}
        if self.promotion is not None:
            out["promotionName"] = self.promotion
        return out


class Runtime:
    """One recommender version, loaded and ready to answer."""

    def __init__(self, name: str, version: Version) -> None:
        import pyarrow.parquet as pq

        from oaklake.recommend.matrix import from_pairs
        from oaklake.recommend.recipes import RECIPES, load_model

        self.name = name
        self.version = version
        folder = Path(version.path)
        self.model = load_model(folder / "model")
        self.kind = RECIPES[version.recipe].kind
        self.recipe = version.recipe
        meta = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
        self.event_types: list[str] = list(meta["event_types"])
        self.user_ids = np.asarray(
            pq.read_table(folder / "users.parquet").column(0).to_pylist(), dtype=object
        )
        self.item_ids = np.asarray(
            pq.read_table(folder / "items.parquet").column(0).to_pylist(), dtype=object
        )
        self.user_index = {u: i for i, u in enumerate(self.user_ids.tolist())}
        self.item_index = {t: i for i, t in enumerate(self.item_ids.tolist())}
        self.n_items = len(self.item_ids)
        self.item_attrs: dict[str, np.ndarray] = {}
        self.user_attrs: dict[str, np.ndarray] = {}
        for kind, target in (("item_attrs", self.item_attrs), ("user_attrs", self.user_attrs)):
            path = folder / f"{kind}.parquet"
            if path.exists():
                table = pq.read_table(path)
                for col in table.column_names:
                    target[col] = np.asarray(table.column(col).to_pylist(), dtype=object)
        self._user_features(meta.get("user_feature_spec") or [])
        events = np.load(folder / "events.npz")
        self.ev_user = events["user"]
        self.ev_item = events["item"]
        self.ev_type = events["type_code"]
        self.history = from_pairs(self.ev_user, self.ev_item, len(self.user_ids), self.n_items)
        self.history.data[:] = 1.0
        self.popularity = np.asarray(self.model.popularity(), dtype=np.float32)
        self.popular_order = np.argsort(-self.popularity, kind="stable")
        # real-time state: user id (or "session:<id>") -> [(item index, event type)]
        self.live: dict[str, list[tuple[int, str]]] = {}
        self.sessions: dict[str, str] = {}
        self.lock = threading.Lock()
        self._filters: dict[str, Any] = {}
        self._trained: dict[int, list[tuple[int, str]]] = {}
        self._by_user: dict[int, np.ndarray] | None = None
        self.successor: Runtime | None = None

    def _user_features(self, spec: list[dict[str, Any]]) -> None:
        """Each user's feature columns, from the saved attributes with the version's own spec
        (the same vocabulary and bin edges as training); none when the model does not use
        user attributes or the version has no spec (trained before there was one)."""
        from oaklake.recommend.data import encode_user_features, user_feature_names

        self._uf_indptr: np.ndarray | None = None
        self._uf_indices = np.zeros(0, dtype=np.int64)
        wanted = self.model.n_user_features
        if not (spec and self.user_attrs and wanted == len(user_feature_names(spec))):
            return
        features = encode_user_features(self.user_attrs, spec, len(self.user_ids))
        self._uf_indptr = features.indptr
        self._uf_indices = features.indices.astype(np.int64)

    def features_of(self, user_key: str | None) -> np.ndarray | None:
        """The user's feature columns for ``Model.score_one`` (None: no attributes to use)."""
        if self._uf_indptr is None or user_key is None:
            return None
        u = self.user_index.get(user_key)
        if u is None:
            return None
        lo, hi = self._uf_indptr[u], self._uf_indptr[u + 1]
        return self._uf_indices[lo:hi] if hi > lo else None

    # -- state -----------------------------------------------------------------------------
    def _events_of(self, u: int) -> tuple[np.ndarray, np.ndarray]:
        """The training events of user index ``u``: (items, type codes), oldest first."""
        if self._by_user is None:
            order = np.argsort(self.ev_user, kind="stable")
            bounds = np.searchsorted(self.ev_user[order], np.arange(len(self.user_ids) + 1))
            self._order, self._bounds = order, bounds
            self._by_user = {}
        sel = self._order[self._bounds[u] : self._bounds[u + 1]]
        return self.ev_item[sel], self.ev_type[sel]

    def history_of(self, user_id: str | None) -> list[tuple[int, str]]:
        """(item index, event type) the user interacted with, oldest first, live events last."""
        out: list[tuple[int, str]] = []
        if user_id is not None and user_id in self.user_index:
            u = self.user_index[user_id]
            trained = self._trained.get(u)
            if trained is None:  # built once per user: the training history never changes
                items, codes = self._events_of(u)
                names = self.event_types
                trained = [
                    (i, names[c] if c < len(names) else "")
                    for i, c in zip(items.tolist(), codes.tolist(), strict=True)
                ]
                self._trained[u] = trained
            out = list(trained)
        with self.lock:
            out.extend(self.live.get(user_id or "", []))
        return out

    def record(self, user_key: str, item_id: str | None, event_type: str) -> bool:
        """Apply one event to the user's state; False when the item is unknown to the model
        (still persisted, used at the next training)."""
        with self.lock:
            if self.successor is not None:  # replaced by a newer version meanwhile
                return self.successor.record(user_key, item_id, event_type)
            if item_id is None or item_id not in self.item_index:
                return False
            self.live.setdefault(user_key, []).append((self.item_index[item_id], event_type))
        return True

    def merge_session(self, session_id: str, user_id: str) -> None:
        """An anonymous session's events become the user's (Personalize does it at retrain)."""
        with self.lock:
            if self.successor is not None:
                self.successor.merge_session(session_id, user_id)
                return
            self.sessions[session_id] = user_id
            moved = self.live.pop(f"session:{session_id}", [])
            if moved:
                self.live.setdefault(user_id, []).extend(moved)

    def hand_over(self, newer: Runtime) -> None:
        """Give ``newer`` (the next version) the events received since start and the session
        merges, by item id (a retrain may renumber items; items it dropped are left out), and
        forward every later event to it. Events the new version was trained on may be passed
        twice: a history counts an item once."""
        with self.lock:
            for key, events in self.live.items():
                moved = [
                    (newer.item_index[t], kind)
                    for t, kind in ((str(self.item_ids[i]), kind) for i, kind in events)
                    if t in newer.item_index
                ]
                if moved:
                    newer.live.setdefault(key, []).extend(moved)
            newer.sessions.update(self.sessions)
            self.successor = newer

    def user_key(self, session_id: str | None, user_id: str | None) -> str:
        if user_id:
            return user_id
        if session_id and session_id in self.sessions:
            return self.sessions[session_id]
        return f"session:{session_id}"

    # -- filters ---------------------------------------------------------------------------
    def _mask(
        self,
        text: str | None,
        values: dict[str, Any] | str | None,
        user_id: str | None,
        history: list[tuple[int, str]],
        current_item: int | None,
    ) -> np.ndarray | None:
        if not text:
            return None
        from oaklake.recommend.filters import FilterContext, compile_filter

        compiled = self._filters.get(text)
        if compiled is None:
            compiled = compile_filter(text)
            if len(self._filters) >= 256:  # clients send arbitrary texts: keep the cache bounded
                self._filters.clear()
            self._filters[text] = compiled
        by_type: dict[str, list[int]] = {}
        for i, t in history:
            by_type.setdefault(t, []).append(i)
        user_attrs = None
        if user_id is not None and user_id in self.user_index and self.user_attrs:
            u = self.user_index[user_id]
            user_attrs = {k: v[u] for k, v in self.user_attrs.items()}
        ctx = FilterContext(
            n_items=self.n_items,
            item_attrs=self.item_attrs,
            item_ids=self.item_ids,
            user_attrs=user_attrs,
            user_events={k: np.asarray(v, dtype=np.int64) for k, v in by_type.items()},
            current_item=current_item,
        )
        if isinstance(values, str):
            values = json.loads(values) if values.strip() else None
        return np.asarray(compiled.apply(ctx, values), dtype=bool)

    # -- answers ---------------------------------------------------------------------------
    def recommend(
        self,
        user_id: str | None,
        n: int = DEFAULT_RESULTS,
        *,
        session_id: str | None = None,
        filter: str | None = None,
        filter_values: dict[str, Any] | str | None = None,
        exclude_seen: bool = True,
        promotion: Promotion | None = None,
    ) -> dict[str, Any]:
        """GetRecommendations for a user (an unknown user gets popular items)."""
        n = check_count(n)
        key = self.user_key(session_id, user_id)
        history = self.history_of(key)
        mask = self._mask(filter, filter_values, user_id, history, None)
        seen = np.zeros(self.n_items, dtype=bool)
        if exclude_seen and history:
            seen[[i for i, _ in history]] = True
        scorer = history and self.kind != "POPULAR_ITEMS"
        popular = self.kind == "POPULAR_ITEMS" or self.recipe == "popularity-count"
        features = self.features_of(key)
        alike = not scorer and not popular and features is not None  # new, but has attributes
        scored = scorer or popular or alike
        scores = self._score(history, features) if scored else self.popularity
        promoted, seen = self._promote(promotion, n, scores, user_id, history, None, seen)
        rest = n - len(promoted)
        chosen: list[Item] = []
        if scorer:
            chosen = self._top(scores, rest, mask, seen)
            self._explain(chosen, history)
        elif alike:
            chosen = self._top(scores, rest, mask, seen)
            for item in chosen:
                item.reasons = [LIKE_YOU, *self._popular_in(item.item_id)]
        elif popular:
            chosen = self._top(scores, rest, mask, seen)
            reason = "Trending now" if self.recipe == "trending-now" else POPULAR
            for item in chosen:
                item.reasons = [reason, *self._popular_in(item.item_id)]
        return self._answer(self._backfill(chosen, rest, mask, seen), promoted)

    def related(
        self,
        item_id: str,
        n: int = DEFAULT_RESULTS,
        *,
        user_id: str | None = None,
        filter: str | None = None,
        filter_values: dict[str, Any] | str | None = None,
        promotion: Promotion | None = None,
    ) -> dict[str, Any]:
        """GetRecommendations for an item (RELATED_ITEMS); an unknown item gets popular ones."""
        n = check_count(n)
        history = self.history_of(user_id) if user_id else []
        current = self.item_index.get(item_id)
        mask = self._mask(filter, filter_values, user_id, history, current)
        seen = np.zeros(self.n_items, dtype=bool)
        scores = self.popularity
        if current is not None:
            seen[current] = True
            scores = np.asarray(self.model.related(current), dtype=np.float32)
        promoted, seen = self._promote(promotion, n, scores, user_id, history, current, seen)
        rest = n - len(promoted)
        chosen: list[Item] = []
        if current is not None:
            chosen = self._top(scores, rest, mask, seen)
            label = self._label(current)
            verb = "similar to" if self.recipe == "similar-items" else "often together with"
            for item in chosen:
                item.reasons = [f"{verb} {label}"]
        return self._answer(self._backfill(chosen, rest, mask, seen), promoted)

    def rank(
        self,
        user_id: str | None,
        items: list[str],
        *,
        session_id: str | None = None,
        filter: str | None = None,
        filter_values: dict[str, Any] | str | None = None,
    ) -> dict[str, Any]:
        """GetPersonalizedRanking: the caller's items in the user's order; items the model does
        not know go last, unscored (as in Personalize)."""
        if not isinstance(items, list) or not items:
            raise InvalidInput(
                "inputList must be a non-empty list of item ids", code="REC_INVALID_ARGUMENT"
            )
        if len(items) > MAX_RESULTS:
            raise InvalidInput(
                f"inputList holds {len(items)} items; at most {MAX_RESULTS}",
                code="REC_INVALID_ARGUMENT",
            )
        key = self.user_key(session_id, user_id)
        history = self.history_of(key)
        features = self.features_of(key)
        scored = bool(history) or features is not None
        scores = self._score(history, features) if scored else self.popularity
        mask = self._mask(filter, filter_values, user_id, history, None)
        known = [(t, self.item_index[t]) for t in dict.fromkeys(items) if t in self.item_index]
        unknown = [t for t in dict.fromkeys(items) if t not in self.item_index]
        if mask is not None:
            known = [(t, i) for t, i in known if mask[i]]
        known.sort(key=lambda p: -float(scores[p[1]]))
        ranked = [Item(t, round(float(scores[i]), 6), index=i) for t, i in known]
        if history:
            self._explain(ranked, history)
        ranked += [Item(t, None) for t in unknown]
        return {
            "personalizedRanking": [i.to_dict() for i in ranked],
            "recommendationId": f"RID-{uuid.uuid4()}",
        }

    # -- helpers ---------------------------------------------------------------------------
    def _promote(
        self,
        promotion: Promotion | None,
        n: int,
        scores: np.ndarray,
        user_id: str | None,
        history: list[tuple[int, str]],
        current: int | None,
        seen: np.ndarray,
    ) -> tuple[list[Item], np.ndarray]:
        """The promoted items (best scores first, then the most popular: a brand-new item the
        model cannot score yet can still be promoted) and ``seen`` with them marked taken."""
        if promotion is None:
            return [], seen
        allowed = self._mask(promotion.filter, promotion.filter_values, user_id, history, current)
        if allowed is None:  # an empty filter: parse_promotions refuses it; every item then
            allowed = np.ones(self.n_items, dtype=bool)
        candidates = np.flatnonzero(allowed & ~seen)
        order = candidates[np.lexsort((-self.popularity[candidates], -scores[candidates]))]
        order = order[: promotion.count(n)]
        values = np.round(scores[order].astype(np.float64), 6).tolist()
        promoted = [
            Item(str(self.item_ids[i]), v, [PROMOTED], index=int(i), promotion=promotion.name)
            for i, v in zip(order.tolist(), values, strict=True)
        ]
        taken = seen.copy()
        taken[order] = True
        return promoted, taken

    def _answer(self, regular: list[Item], promoted: list[Item]) -> dict[str, Any]:
        rid = f"RID-{uuid.uuid4()}"
        items = place(regular, promoted, seed=rid) if promoted else regular
        return {"itemList": [i.to_dict() for i in items], "recommendationId": rid}

    def _score(
        self, history: list[tuple[int, str]], features: np.ndarray | None = None
    ) -> np.ndarray:
        return self.model.score_one([i for i, _ in history], user_features=features)

    def _top(
        self, scores: np.ndarray, n: int, mask: np.ndarray | None, seen: np.ndarray
    ) -> list[Item]:
        allowed = ~seen if mask is None else (mask & ~seen)
        candidates = np.flatnonzero(allowed & np.isfinite(scores) & (scores > 0))
        if len(candidates) > n:
            part = np.argpartition(-scores[candidates], n - 1)[:n]
            candidates = candidates[part]
        order = candidates[np.argsort(-scores[candidates], kind="stable")][:n]
        ids = self.item_ids[order].tolist()
        values = np.round(scores[order].astype(np.float64), 6).tolist()
        return [
            Item(str(t), v, index=i) for t, v, i in zip(ids, values, order.tolist(), strict=True)
        ]

    def _backfill(
        self, chosen: list[Item], n: int, mask: np.ndarray | None, seen: np.ndarray
    ) -> list[Item]:
        """Fill up to ``n`` with popular items (reason "Popular item"), as Personalize does."""
        if len(chosen) >= n:
            return chosen[:n]
        taken = {i.item_id for i in chosen}
        top = float(self.popularity.max()) or 1.0
        for idx in self.popular_order:
            if len(chosen) >= n:
                break
            if seen[idx] or (mask is not None and not mask[idx]):
                continue
            item_id = str(self.item_ids[idx])
            if item_id in taken or self.popularity[idx] <= 0:
                continue
            chosen.append(
                Item(
                    item_id,
                    round(float(self.popularity[idx]) / top, 6),
                    [POPULAR, *self._popular_in(item_id)],
                    index=int(idx),
                )
            )
        return chosen

    def _label(self, idx: int) -> str:
        for name in _LABELS:
            values = self.item_attrs.get(name)
            if values is not None and values[idx] not in (None, ""):
                return str(values[idx])
        return str(self.item_ids[idx])

    def _popular_in(self, item_id: str) -> list[str]:
        values = self.item_attrs.get("CATEGORY")
        if values is None:
            return []
        value = values[self.item_index[item_id]]
        return [f"popular in {str(value).split('|')[0]}"] if value not in (None, "") else []

    def _explain(self, chosen: list[Item], history: list[tuple[int, str]]) -> None:
        """ "because you viewed X": the history item whose related-score for the recommendation
        is highest (the item-to-item part of the model's own score)."""
        if not chosen:
            return
        recent: dict[int, str] = {}
        for i, t in reversed(history):
            if i not in recent:
                recent[i] = t
            if len(recent) >= _EXPLAIN_HISTORY:
                break
        sources = list(recent)
        related = self.model.related_rows(np.asarray(sources, dtype=np.int64))
        columns = related[:, [item.index for item in chosen]]
        best = np.argmax(columns, axis=0)
        values = columns[best, np.arange(len(chosen))]
        phrases: dict[int, str] = {}  # one sentence per explaining history item
        for item, b, value in zip(chosen, best.tolist(), values.tolist(), strict=True):
            if value > 0:
                phrase = phrases.get(b)
                if phrase is None:
                    verb = _VERBS.get(recent[sources[b]].lower(), "interacted with")
                    phrase = phrases[b] = f"because you {verb} {self._label(sources[b])}"
                item.reasons = [phrase]
            elif not item.reasons:  # no single item explains it: the history as a whole does
                item.reasons = ["based on your history"]


class Service:
    """Every recommender of a workspace, loaded on first use; events fan out to the
    recommenders that train on the same interactions table (Personalize's event tracker is per
    dataset group: here the interactions table is the tracking id)."""

    def __init__(self, lake: Lake, *, event_interval: float = 0.5) -> None:
        self.lake = lake
        self.event_interval = event_interval
        self.runtimes: dict[str, Runtime] = {}
        self.writers: dict[str, Any] = {}
        self._lock = threading.Lock()
        # interactions table -> recommenders; reading it takes a catalog scan per recommender
        # (~100 ms), far too slow for every PutEvents call: kept until a miss or a new load.
        self._tracker_cache: dict[str, list[str]] | None = None
        self._retry_at: dict[str, float] = {}
        self._watcher: threading.Thread | None = None
        # name -> (newest version folder, when the catalog was read for it)
        self._looked: dict[str, tuple[int | None, float]] = {}
        self._stop_watching = threading.Event()

    def runtime(self, name: str) -> Runtime:
        from oaklake.recommend.store import Store, check_name

        check_name(name)
        with self._lock:
            if name not in self.runtimes:
                store = Store(self.lake)
                store.get(name)
                self.runtimes[name] = Runtime(name, store.latest(name))
                self._tracker_cache = None
            return self.runtimes[name]

    def _trackers(self, *, refresh: bool = False) -> dict[str, list[str]]:
        """Interactions table -> recommenders reading it."""
        from oaklake.recommend.data import query_of
        from oaklake.recommend.store import Store

        cached = self._tracker_cache
        if cached is not None and not refresh:
            return cached
        out: dict[str, list[str]] = {}
        for rec in Store(self.lake).list():
            if query_of(rec.interactions).startswith("SELECT * FROM "):
                out.setdefault(rec.interactions.lower(), []).append(rec.name)
        self._tracker_cache = out
        return out

    def put_events(self, body: Any) -> dict[str, Any]:
        from oaklake.recommend.events import EventError, EventWriter, parse_put_events

        events = parse_put_events(body)
        trackers = self._trackers()
        tracking = body.get("trackingId") if isinstance(body, dict) else None
        if (tracking is None and len(trackers) != 1) or (
            tracking is not None and str(tracking).lower() not in trackers
        ):
            trackers = self._trackers(refresh=True)
        if tracking is None:
            if len(trackers) != 1:
                raise EventError(
                    "trackingId is required: it names the interactions table the events go to",
                    hint="one of " + ", ".join(sorted(trackers)) if trackers else None,
                )
            tracking = next(iter(trackers))
        table = str(tracking).lower()
        if table not in trackers:
            raise EventError(
                f"trackingId {tracking!r} is not the interactions table of any recommender",
                hint="one of " + ", ".join(sorted(trackers)) if trackers else None,
            )
        with self._lock:
            writer = self.writers.get(table)
            if writer is None:
                writer = EventWriter(self.lake.settings, table, interval=self.event_interval)
                self.writers[table] = writer
        writer.put(events)
        applied = 0
        for name in trackers[table]:
            # A recommender that is not trained yet is looked up again after a while, not on
            # every call: each look-up is a catalog scan.
            if name not in self.runtimes and time.monotonic() < self._retry_at.get(name, 0.0):
                continue
            try:
                rt = self.runtime(name)
            except Exception:  # not trained yet: the events still persist
                self._retry_at[name] = time.monotonic() + _RETRY_SECONDS
                continue
            for e in events:
                if e.user_id:
                    rt.merge_session(e.session_id, e.user_id)
                applied += rt.record(rt.user_key(e.session_id, e.user_id), e.item_id, e.event_type)
        return {"accepted": len(events), "applied": applied}

    # -- new versions ----------------------------------------------------------------------
    def watch_versions(self, interval: float) -> None:
        """Serve each loaded recommender's newest version within ``interval`` seconds of its
        training, and stop serving a deleted one (Personalize: updating a campaign). Checks run
        in a background thread with its own workspace connection; 0 turns watching off."""
        if interval <= 0 or self._watcher is not None:
            return
        self._watcher = threading.Thread(
            target=self._watch, args=(interval,), name="oaklake-versions", daemon=True
        )
        self._watcher.start()

    def _watch(self, interval: float) -> None:
        from oaklake.app import Lake

        lake = Lake(self.lake.settings)
        try:
            while not self._stop_watching.wait(interval):
                try:
                    self.reload(lake)
                except Exception:  # the next round tries again; the served version stays
                    log.warning("could not check for new recommender versions", exc_info=True)
        finally:
            lake.close()

    def reload(self, lake: Lake | None = None) -> dict[str, int | None]:
        """Bring the loaded recommenders up to their newest version now: name -> the version
        now served (None: deleted, no longer served), for those that changed. A recommender
        whose version folder has not changed costs a directory listing, not a catalog read."""
        from oaklake.recommend.store import Store

        store = Store(lake or self.lake)
        changed: dict[str, int | None] = {}
        for name, current in list(self.runtimes.items()):
            folder = store.models_root() / name
            newest = _newest_folder(folder)
            if newest is not None and newest <= current.version.version:
                continue  # nothing new
            looked = self._looked.get(name)
            now = time.monotonic()
            if looked is not None and looked[0] == newest and now - looked[1] < _RELOOK_SECONDS:
                continue  # a folder whose version was not in the catalog a moment ago
            self._looked[name] = (newest, now)
            found = store.find(name)
            if found is None:  # deleted: the next call answers 404
                with self._lock:
                    self.runtimes.pop(name, None)
                    self._tracker_cache = None
                changed[name] = None
                continue
            latest = store.latest(name)
            if latest.version == current.version.version:
                continue
            newer = Runtime(name, latest)  # loaded outside the lock: requests go on meanwhile
            with self._lock:
                current.hand_over(newer)
                self.runtimes[name] = newer
                self._tracker_cache = None
            log.warning("recommender %s: now serving version %d", name, latest.version)
            changed[name] = latest.version
        return changed

    def flush(self) -> None:
        for w in list(self.writers.values()):
            w.flush()

    def close(self) -> None:
        self._stop_watching.set()
        if self._watcher is not None:
            self._watcher.join(timeout=10)
            self._watcher = None
        for w in list(self.writers.values()):
            w.close()
        self.writers.clear()


def _newest_folder(folder: Path) -> int | None:
    """The highest N of the ``v<N>`` folders in ``folder`` (None: no folder at all)."""
    try:
        names = [e.name for e in os.scandir(folder) if e.is_dir()]
    except FileNotFoundError:
        return None
    numbers = [int(n[1:]) for n in names if n.startswith("v") and n[1:].isdigit()]
    return max(numbers, default=0)
