"""The shapes every recipe, metric and filter works on: interactions as a users x items matrix.

Ids are strings (Personalize's USER_ID/ITEM_ID); recipes see only dense integer indices.
Everything here is plain numpy/scipy so that recipes and metrics can be tested without a
workspace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp


@dataclass
class TrainData:
    """What a recipe trains on.

    ``matrix``: CSR users x items, float32; entry = the interaction weight (number of
    interactions, or the EVENT_VALUE-weighted sum; 0 = no interaction). ``events_*`` are the
    individual interactions (parallel arrays, one per event, sorted by time), for recipes that
    need time (trending-now). ``item_features``: CSR items x features (one-hot categorical
    attributes, ``|``-separated values split; numeric attributes binned), or None.
    ``item_created``: per item, its CREATION_TIMESTAMP (unix seconds) or -1 when unknown (for
    exploration of new items). ``user_features``: CSR users x features, ones (categorical user
    attributes split on ``|``, numeric ones binned; see ``data.user_feature_spec``), or None;
    rows cover every user, those without interactions too.
    """

    matrix: sp.csr_matrix
    events_user: np.ndarray  # int32 user index per event
    events_item: np.ndarray  # int32 item index per event
    events_time: np.ndarray  # int64 unix seconds per event
    item_features: sp.csr_matrix | None = None
    feature_names: list[str] = field(default_factory=list)
    item_created: np.ndarray | None = None
    user_features: sp.csr_matrix | None = None
    user_feature_names: list[str] = field(default_factory=list)

    @property
    def n_users(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.matrix.shape[1])


def from_pairs(
    users: np.ndarray, items: np.ndarray, n_users: int, n_items: int, weights: Any = None
) -> sp.csr_matrix:
    """A CSR users x items matrix from index pairs; repeated pairs add up."""
    data = (
        np.ones(len(users), dtype=np.float32)
        if weights is None
        else np.asarray(weights, np.float32)
    )
    m = sp.csr_matrix((data, (users, items)), shape=(n_users, n_items), dtype=np.float32)
    m.sum_duplicates()
    return m
