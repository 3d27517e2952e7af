"""Datasets for recommendations: interactions, users and items read from Iceberg tables (or any
SQL query), validated with Amazon Personalize's rules, and turned into the integer-indexed
``TrainData`` every recipe trains on.

Personalize's schema rules are kept where they protect the user (required fields, reserved
names, ID length, categorical value length, minimum data); its arbitrary caps (5 custom
interaction columns, 25 user fields) are not enforced: extra columns are simply not used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from oaklake.errors import InvalidInput
from oaklake.recommend.matrix import TrainData, from_pairs

if TYPE_CHECKING:
    import pyarrow as pa

    from oaklake.app import Lake

MAX_ID_LENGTH = 256
MAX_CATEGORICAL_LENGTH = 1000
MIN_INTERACTIONS = 1000
MIN_USERS_WITH_TWO = 25
RESERVED_ITEM_FIELDS = ("ITEM_ID", "CREATION_TIMESTAMP")
_NUMERIC_BINS = 5
# A categorical user attribute with more distinct values than this (ZIP codes, e-mail domains)
# is not a feature: each value would hold a handful of users, too few to say what they like.
MAX_USER_FEATURE_VALUES = 50


class DatasetError(InvalidInput):
    """A dataset that Personalize would refuse (missing field, bad type, too little data)."""

    code = "REC_INVALID_DATASET"


@dataclass
class Dataset:
    """One dataset group's data, ready for training and serving."""

    user_ids: np.ndarray  # index -> USER_ID (object array of str)
    item_ids: np.ndarray  # index -> ITEM_ID
    train: TrainData
    events_type: np.ndarray  # EVENT_TYPE per event (parallel to train.events_*), "" if none
    user_attrs: dict[str, np.ndarray] = field(default_factory=dict)  # FIELD -> per user index
    item_attrs: dict[str, np.ndarray] = field(default_factory=dict)  # FIELD -> per item index
    stats: dict[str, Any] = field(default_factory=dict)
    # How user attributes became ``train.user_features`` (see ``user_feature_spec``); serving
    # encodes a user's attributes with the same spec so they land on the same columns.
    user_feature_spec: list[dict[str, Any]] = field(default_factory=list)

    def user_index(self) -> dict[str, int]:
        return {u: i for i, u in enumerate(self.user_ids.tolist())}

    def item_index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.item_ids.tolist())}


# -- reading -------------------------------------------------------------------------------
def query_of(source: str) -> str:
    """A table name or a SELECT as the query that reads it."""
    text = source.strip().rstrip(";")
    if re.match(r"(?is)^(select|with|values|from)\b", text):
        return text
    if not re.fullmatch(r"[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*){0,2}", text):
        raise InvalidInput(
            f"not a table name or a query: {source!r}",
            hint="give DB.TABLE, or a SELECT that returns the dataset's columns",
        )
    return f"SELECT * FROM {text}"


def read(lake: Lake, source: str) -> pa.Table:
    """The rows of a table or query, columns renamed to upper case (Personalize's names)."""
    arrow = lake.sql(query_of(source)).to_arrow()
    names = [c.upper() for c in arrow.column_names]
    if len(set(names)) != len(names):
        raise DatasetError(f"{source} has two columns whose names differ only in case")
    return arrow.rename_columns(names)


def _require(table: pa.Table, kind: str, columns: tuple[str, ...], source: str) -> None:
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise DatasetError(
            f"the {kind} dataset ({source}) has no {', '.join(missing)} column",
            hint=f"a {kind} dataset needs {', '.join(columns)}; rename columns in a SELECT: "
            f"SELECT customer AS user_id, …",
        )


def _ids(column: Any, kind: str, name: str) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.null_count:
        raise DatasetError(
            f"{column.null_count} row(s) of the {kind} dataset have no {name}",
            hint=f"every row needs a {name}: filter them out with WHERE {name.lower()} IS NOT NULL",
        )
    text = pc.cast(column, pa.string())
    longest = pc.max(pc.utf8_length(text)).as_py() or 0
    if longest > MAX_ID_LENGTH:
        raise DatasetError(
            f"a {name} of the {kind} dataset is {longest} characters; at most {MAX_ID_LENGTH}",
            hint="use a shorter key (a hash, a surrogate id)",
        )
    return np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)


def _epoch_seconds(column: Any, kind: str) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    t = column.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        seconds = pc.cast(pc.cast(column, pa.timestamp("s")), pa.int64())
    elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        seconds = pc.cast(column, pa.int64())
    else:
        raise DatasetError(
            f"TIMESTAMP of the {kind} dataset is {t}; it must be a Unix epoch (seconds) or a "
            "timestamp",
            hint="CAST it in a SELECT: to_unixtime(ts) AS timestamp",
        )
    if seconds.null_count:
        raise DatasetError(f"{seconds.null_count} interaction(s) have no TIMESTAMP")
    values = np.asarray(seconds.to_numpy(zero_copy_only=False), dtype=np.int64)
    if len(values) and values.max() > 10**11:  # milliseconds, as many exports write them
        values = values // 1000
    return values


def load(
    lake: Lake,
    interactions: str,
    *,
    users: str | None = None,
    items: str | None = None,
    event_types: list[str] | None = None,
    event_value_threshold: float | None = None,
    check_minimum: bool = True,
) -> Dataset:
    """Read and validate the datasets, keep the training events, and index everything."""
    inter = read(lake, interactions)
    users_t = read(lake, users) if users else None
    items_t = read(lake, items) if items else None
    return build(
        inter,
        users=users_t,
        items=items_t,
        event_types=event_types,
        event_value_threshold=event_value_threshold,
        check_minimum=check_minimum,
        sources=(interactions, users, items),
    )


def build(
    inter: pa.Table,
    *,
    users: pa.Table | None = None,
    items: pa.Table | None = None,
    event_types: list[str] | None = None,
    event_value_threshold: float | None = None,
    check_minimum: bool = True,
    sources: tuple[str | None, str | None, str | None] = ("interactions", "users", "items"),
) -> Dataset:
    """``load`` on Arrow tables (upper-case column names)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    inter = inter.rename_columns([c.upper() for c in inter.column_names])
    _require(inter, "interactions", ("USER_ID", "ITEM_ID", "TIMESTAMP"), sources[0] or "")
    total = inter.num_rows
    if "EVENT_TYPE" in inter.column_names:
        inter = inter.set_column(
            inter.column_names.index("EVENT_TYPE"),
            "EVENT_TYPE",
            pc.fill_null(pc.cast(inter.column("EVENT_TYPE"), pa.string()), ""),
        )
    if event_types:
        if "EVENT_TYPE" not in inter.column_names:
            raise DatasetError(
                "--event-types needs an EVENT_TYPE column in the interactions",
                hint="leave --event-types out to train on every interaction",
            )
        inter = inter.filter(pc.is_in(inter.column("EVENT_TYPE"), pa.array(event_types)))
    if event_value_threshold is not None:
        if "EVENT_VALUE" not in inter.column_names:
            raise DatasetError("an event value threshold needs an EVENT_VALUE column")
        value = pc.cast(inter.column("EVENT_VALUE"), pa.float64())
        inter = inter.filter(pc.greater_equal(value, event_value_threshold))
    user_col = _ids(inter.column("USER_ID"), "interactions", "USER_ID")
    item_col = _ids(inter.column("ITEM_ID"), "interactions", "ITEM_ID")
    times = _epoch_seconds(inter.column("TIMESTAMP"), "interactions")
    etypes = (
        np.asarray(inter.column("EVENT_TYPE").to_numpy(zero_copy_only=False), dtype=object)
        if "EVENT_TYPE" in inter.column_names
        else np.full(inter.num_rows, "", dtype=object)
    )
    if check_minimum:
        _check_minimum(user_col, total, event_types)

    user_attr_t = _attributes(users, "users", "USER_ID", sources[1]) if users is not None else None
    item_attr_t = _attributes(items, "items", "ITEM_ID", sources[2]) if items is not None else None
    user_universe = _universe(user_col, user_attr_t, "USER_ID")
    item_universe = _universe(item_col, item_attr_t, "ITEM_ID")
    u_index = {u: i for i, u in enumerate(user_universe.tolist())}
    i_index = {t: i for i, t in enumerate(item_universe.tolist())}
    eu = np.fromiter((u_index[u] for u in user_col), dtype=np.int32, count=len(user_col))
    ei = np.fromiter((i_index[t] for t in item_col), dtype=np.int32, count=len(item_col))
    order = np.argsort(times, kind="stable")
    eu, ei, times, etypes = eu[order], ei[order], times[order], etypes[order]
    matrix = from_pairs(eu, ei, len(user_universe), len(item_universe))
    matrix.data[:] = 1.0  # implicit feedback: interacted or not
    user_attrs = _aligned(user_attr_t, "USER_ID", u_index) if user_attr_t is not None else {}
    item_attrs = _aligned(item_attr_t, "ITEM_ID", i_index) if item_attr_t is not None else {}
    features, names = _item_features(item_attrs, len(item_universe))
    user_spec, skipped = user_feature_spec(user_attrs)
    user_features = (
        encode_user_features(user_attrs, user_spec, len(user_universe)) if user_spec else None
    )
    created = None
    if "CREATION_TIMESTAMP" in item_attrs:
        raw = item_attrs.pop("CREATION_TIMESTAMP")
        created = np.array([(-1 if v is None else int(v)) for v in raw], dtype=np.int64)
        if len(created) and created.max() > 10**11:
            created = np.where(created > 0, created // 1000, created)
    train = TrainData(
        matrix=matrix,
        events_user=eu,
        events_item=ei,
        events_time=times,
        item_features=features,
        feature_names=names,
        item_created=created,
        user_features=user_features,
        user_feature_names=user_feature_names(user_spec),
    )
    stats = {
        "interactions": len(eu),
        "interactions_read": int(total),
        "users": len(user_universe),
        "items": len(item_universe),
        "users_with_interactions": len(np.unique(eu)),
        "items_with_interactions": len(np.unique(ei)),
        "event_types": sorted({str(t) for t in np.unique(etypes)} - {""}),
        "first_timestamp": int(times.min()) if len(times) else None,
        "last_timestamp": int(times.max()) if len(times) else None,
        "item_features": len(names),
        "user_features": len(user_feature_names(user_spec)),
        "user_attributes_skipped": skipped,
    }
    return Dataset(
        user_ids=user_universe,
        item_ids=item_universe,
        train=train,
        events_type=etypes,
        user_attrs=user_attrs,
        item_attrs=item_attrs,
        stats=stats,
        user_feature_spec=user_spec,
    )


def _check_minimum(users: np.ndarray, total: int, event_types: list[str] | None) -> None:
    """Personalize's minimum data, so a model is never trained on almost nothing."""
    n = len(users)
    _, counts = np.unique(users, return_counts=True) if n else (np.array([]), np.array([]))
    with_two = int((counts >= 2).sum())
    after = " after the event-type filter" if event_types else ""
    if n < MIN_INTERACTIONS:
        raise DatasetError(
            f"{n} interactions{after} ({total} read); training needs at least {MIN_INTERACTIONS}",
            code="REC_NOT_ENOUGH_DATA",
            hint="load more history, or widen --event-types",
        )
    if with_two < MIN_USERS_WITH_TWO or (len(counts) and with_two < 0.01 * len(counts)):
        raise DatasetError(
            f"{with_two} users have 2 or more interactions{after}; training needs at least "
            f"{MIN_USERS_WITH_TWO} (and 1% of the users)",
            code="REC_NOT_ENOUGH_DATA",
            hint="load more history per user",
        )


def _attributes(table: pa.Table, kind: str, key: str, source: str | None) -> pa.Table:
    import pyarrow as pa
    import pyarrow.compute as pc

    table = table.rename_columns([c.upper() for c in table.column_names])
    _require(table, kind, (key,), source or kind)
    fields = [c for c in table.column_names if c != key]
    if not fields:
        raise DatasetError(
            f"the {kind} dataset ({source}) has only {key}; it needs at least one attribute",
            hint="add a column such as " + ("AGE or GENDER" if kind == "users" else "CATEGORY"),
        )
    ids = _ids(table.column(key), kind, key)
    if len(set(ids.tolist())) != len(ids):
        raise DatasetError(
            f"the {kind} dataset ({source}) lists a {key} twice",
            hint=f"one row per {key.lower()} (keep the latest: use ROW_NUMBER() in a SELECT)",
        )
    for name in fields:
        col = table.column(name)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            longest = pc.max(pc.utf8_length(col)).as_py() or 0
            if longest > MAX_CATEGORICAL_LENGTH:
                raise DatasetError(
                    f"a value of {name} in the {kind} dataset is {longest} characters; "
                    f"categorical values are at most {MAX_CATEGORICAL_LENGTH}",
                    hint="shorten it, or leave the column out of the dataset",
                )
    if kind == "items" and "CREATION_TIMESTAMP" in fields:
        created = table.column("CREATION_TIMESTAMP")
        if not (pa.types.is_integer(created.type) or pa.types.is_timestamp(created.type)):
            raise DatasetError(
                "CREATION_TIMESTAMP of the items dataset must be a Unix epoch or a timestamp"
            )
        if pa.types.is_timestamp(created.type):
            table = table.set_column(
                table.column_names.index("CREATION_TIMESTAMP"),
                "CREATION_TIMESTAMP",
                pc.cast(pc.cast(created, pa.timestamp("s")), pa.int64()),
            )
    return table


def _universe(ids: np.ndarray, attrs: pa.Table | None, key: str) -> np.ndarray:
    """Every id: those that interacted (first) plus those only in the attribute dataset."""
    seen = list(dict.fromkeys(ids.tolist()))
    if attrs is not None:
        known = set(seen)
        extra = [str(v) for v in attrs.column(key).to_pylist() if str(v) not in known]
        seen.extend(dict.fromkeys(extra))
    return np.asarray(seen, dtype=object)


def _aligned(table: pa.Table, key: str, index: dict[str, int]) -> dict[str, np.ndarray]:
    """Attribute columns as arrays over the id index (None where an id has no row)."""
    rows = [index[str(v)] for v in table.column(key).to_pylist()]
    out: dict[str, np.ndarray] = {}
    for name in table.column_names:
        if name == key:
            continue
        values = np.full(len(index), None, dtype=object)
        values[rows] = table.column(name).to_pylist()
        out[name] = values
    return out


def _item_features(attrs: dict[str, np.ndarray], n_items: int) -> tuple[Any, list[str]]:
    """One-hot item features: categorical values (``|``-separated) and numeric quintiles."""
    import scipy.sparse as sp

    rows: list[int] = []
    cols: list[int] = []
    names: list[str] = []
    for name, values in attrs.items():
        if name in RESERVED_ITEM_FIELDS:
            continue
        present = [v for v in values if v is not None]
        if not present:
            continue
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
            numbers = np.array([np.nan if v is None else float(v) for v in values])
            finite = numbers[~np.isnan(numbers)]
            edges = np.unique(np.quantile(finite, np.linspace(0, 1, _NUMERIC_BINS + 1)[1:-1]))
            bins = np.searchsorted(edges, numbers, side="right")
            base = len(names)
            names.extend(f"{name}=q{b}" for b in range(len(edges) + 1))
            for i, (x, b) in enumerate(zip(numbers, bins, strict=True)):
                if not np.isnan(x):
                    rows.append(i)
                    cols.append(base + int(b))
            continue
        vocab: dict[str, int] = {}
        for i, v in enumerate(values):
            if v is None:
                continue
            for part in str(v).split("|"):
                part = part.strip()
                if not part:
                    continue
                key = f"{name}={part.lower()}"
                if key not in vocab:
                    vocab[key] = len(names)
                    names.append(key)
                rows.append(i)
                cols.append(vocab[key])
    if not names:
        return None, []
    data = np.ones(len(rows), dtype=np.float32)
    return sp.csr_matrix((data, (rows, cols)), shape=(n_items, len(names)), dtype=np.float32), names


# -- user features -----------------------------------------------------------------------------
def _value_text(value: Any) -> str:
    """A categorical value as a feature key: lower case, ``2.0`` as ``2``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip().lower()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _parts(value: Any) -> list[str]:
    """A categorical value's features: ``|``-separated values apart, as Personalize splits them."""
    if _missing(value):
        return []
    return [t for t in (_value_text(p) for p in str(value).split("|")) if t]


def user_feature_spec(
    attrs: dict[str, np.ndarray],
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """How each user attribute becomes binary features, and the attributes left out (and why).

    Categorical values are split on ``|``, one feature per value. Numbers are cut into quantile
    bins (``AGE 25-31``), since a 34-year-old says about as much as a 35-year-old; a numeric
    column with at most ``_NUMERIC_BINS`` distinct values is kept value by value. Categorical
    columns with more than ``MAX_USER_FEATURE_VALUES`` values, or a different value for every
    user (an e-mail, a ZIP code), are skipped: no value would gather enough users to learn from.
    The spec is plain JSON, stored with a version so serving bins exactly as training did.
    """
    spec: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for name, values in attrs.items():
        present = [v for v in values if not _missing(v)]
        if not present:
            skipped[name] = "no values"
            continue
        if all(_is_number(v) for v in present):
            numbers = np.asarray(present, dtype=np.float64)
            distinct = np.unique(numbers)
            if len(distinct) > _NUMERIC_BINS:
                spec.append(_numeric_spec(name, numbers))
                continue
            spec.append({"column": name, "kind": "categorical",
                         "values": [_value_text(float(x)) for x in distinct]})  # fmt: skip
            continue
        vocab = sorted({p for v in present for p in _parts(v)})
        raw = {str(v) for v in present}
        if len(present) > 1 and len(raw) == len(present):
            skipped[name] = "a different value for every user"
        elif len(vocab) > MAX_USER_FEATURE_VALUES:
            skipped[name] = f"{len(vocab)} distinct values (more than {MAX_USER_FEATURE_VALUES})"
        elif vocab:
            spec.append({"column": name, "kind": "categorical", "values": vocab})
        else:
            skipped[name] = "no values"
    return spec, skipped


def _numeric_spec(name: str, numbers: np.ndarray) -> dict[str, Any]:
    """Quantile bins of ``numbers``: the inner edges (a value >= edge k is past bin k) and labels
    from the observed range (``AGE 7-24``, ``AGE 25-30`` … for integers)."""
    low, high = float(numbers.min()), float(numbers.max())
    integral = bool(np.all(numbers == np.round(numbers)))
    edges = np.quantile(numbers, np.linspace(0, 1, _NUMERIC_BINS + 1)[1:-1])
    if integral:
        edges = np.ceil(edges)
    edges = np.unique(edges[edges > low])
    bounds = [low, *edges.tolist(), high]
    labels = []
    for b in range(len(edges) + 1):
        lo, hi = bounds[b], bounds[b + 1]
        last = b == len(edges)
        if integral:
            top = int(hi) if last else int(hi) - 1
            text = f"{int(lo)}" if top <= int(lo) else f"{int(lo)}-{top}"
        else:
            text = f"{lo:g}-{hi:g}"
        labels.append(f"{name} {text}")
    return {"column": name, "kind": "numeric", "edges": edges.tolist(), "labels": labels}


def user_feature_names(spec: list[dict[str, Any]]) -> list[str]:
    """The feature columns a spec produces, in order."""
    names: list[str] = []
    for col in spec:
        if col["kind"] == "numeric":
            names.extend(col["labels"])
        else:
            names.extend(f"{col['column']}={v}" for v in col["values"])
    return names


def encode_user_features(
    attrs: dict[str, np.ndarray], spec: list[dict[str, Any]], n_users: int
) -> Any:
    """Users x features (CSR float32, ones) for ``attrs`` aligned over ``n_users`` users.

    Values the spec does not know (a category first seen after training) and missing columns
    give no feature.
    """
    import scipy.sparse as sp

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    offset = 0
    for col in spec:
        values = attrs.get(col["column"])
        if col["kind"] == "numeric":
            width = len(col["labels"])
            if values is not None:
                numbers = np.array(
                    [float(v) if _is_number(v) else np.nan for v in values], dtype=np.float64
                )
                known = np.flatnonzero(~np.isnan(numbers))
                bins = np.searchsorted(np.asarray(col["edges"]), numbers[known], side="right")
                rows.append(known)
                cols.append(offset + bins)
        else:
            width = len(col["values"])
            if values is not None:
                index = {v: offset + k for k, v in enumerate(col["values"])}
                pairs = [
                    (u, index[p]) for u, v in enumerate(values) for p in _parts(v) if p in index
                ]
                if pairs:
                    found = np.asarray(pairs, dtype=np.int64)
                    rows.append(found[:, 0])
                    cols.append(found[:, 1])
        offset += width
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    out = sp.csr_matrix(
        (np.ones(len(r), dtype=np.float32), (r, c)), shape=(n_users, offset), dtype=np.float32
    )
    out.sum_duplicates()
    out.data[:] = 1.0
    return out
