"""User segments (Personalize's batch segment jobs, Item-Affinity and Item-Attribute-Affinity):
for an item, or for items with given attributes, the users most likely to interact with them.

Input lines, as in Personalize: ``{"itemId": "105"}`` or
``{"itemAttributes": "ITEMS.genres = \\"Comedy\\" AND ITEMS.genres = \\"Action\\""}``. Output
lines: ``{"input": {…}, "output": {"recommendedUsers": […], "scores": […]}, "error": null}``; a
table output has one row per user: item_id or item_attributes, rank, user_id, score.

Any recommender whose model scores a history answers it (user-personalization,
personalized-ranking, sims, similar-items): a user's affinity to an item is the model's score for
it given their history, read for every user; for an attribute query, the sum over the matching
items. Users who already interacted with an item are not in its segment (they are not
prospects); for an attribute query their interacted items count 0. Personalize trains separate
USER_SEGMENTATION solutions instead; here the recommender already trained answers both ways.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from oaklake.errors import InvalidInput, NotSupported, OakError
from oaklake.recommend.batch import (
    BatchResult,
    check_table_target,
    input_lines,
    write_jsonl,
    write_table,
)

if TYPE_CHECKING:
    from oaklake.app import Lake
    from oaklake.recommend.service import Runtime

MAX_USERS = 5_000_000  # Personalize's limit per segment
MAX_QUERIES = 500  # Personalize: 500 items (or 10 attribute queries) per job
_SCORE_CELLS = 32_000_000  # users x items scored at a time (128 MB of float32)
_TOKEN = re.compile(
    r"(?P<lp>\()|(?P<rp>\))|(?P<op>AND|OR)\b|(?P<field>ITEMS\.[A-Za-z_][A-Za-z0-9_]*)"
    r'|(?P<eq>=)|"(?P<str>(?:[^"\\]|\\.)*)"',
    re.IGNORECASE,
)


class SegmentError(InvalidInput):
    code = "REC_INVALID_SEGMENT"


def run_segment(
    lake: Lake, name: str, *, input: str | os.PathLike[str], output: str, n: int = 25
) -> BatchResult:
    """A batch segment job: every input line's segment, written to a JSON Lines file or a
    table (replaced in one snapshot)."""
    from oaklake.recommend.service import Service

    n = _check_users(n)
    rt = Service(lake).runtime(name)
    if rt.kind == "POPULAR_ITEMS" or rt.recipe == "popularity-count":
        raise NotSupported(
            f"{name} ({rt.recipe}) ranks items the same for everybody, so it cannot tell which "
            "users prefer an item",
            hint="use a user-personalization, sims or similar-items recommender",
        )
    to_table = not output.lower().endswith((".jsonl", ".json", ".ndjson"))
    if to_table:
        check_table_target(lake, output)
    else:
        Path(output).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    lines = list(input_lines(Path(os.fspath(input)).expanduser()))
    if len(lines) > MAX_QUERIES:
        raise SegmentError(
            f"{len(lines)} input lines; a segment job takes at most {MAX_QUERIES}",
            hint="split the input into several jobs",
        )
    queries: list[np.ndarray | OakError] = []
    for _, body in lines:
        try:
            if isinstance(body, OakError):
                raise body
            queries.append(_items_of(rt, body))
        except OakError as e:
            queries.append(e)
    affinity = _affinities(rt, [q for q in queries if not isinstance(q, OakError)])
    outputs: list[dict[str, Any]] = []
    errors = 0
    column = 0
    for (_, body), query in zip(lines, queries, strict=True):
        if isinstance(query, OakError):
            errors += 1
            inp = body if isinstance(body, dict) else None
            outputs.append({"input": inp, "output": None, "error": query.message})
            continue
        scores = affinity[:, column]
        column += 1
        users = np.flatnonzero(scores > 0)
        if len(users) > n:
            users = users[np.argpartition(-scores[users], n - 1)[:n]]
        users = users[np.argsort(-scores[users], kind="stable")]
        outputs.append(
            {
                "input": body,
                "output": {
                    "recommendedUsers": [str(u) for u in rt.user_ids[users].tolist()],
                    "scores": np.round(scores[users].astype(np.float64), 6).tolist(),
                },
                "error": None,
            }
        )
    if to_table:
        rows = _write_segments(lake, output, outputs)
    else:
        rows = write_jsonl(Path(output).expanduser(), outputs)
    return BatchResult(lines=len(lines), errors=errors, rows=rows, output=output)


def _check_users(n: Any) -> int:
    try:
        value = int(n)
    except (TypeError, ValueError):
        raise SegmentError(f"the number of users must be a whole number, got {n!r}") from None
    if not 1 <= value <= MAX_USERS:
        raise SegmentError(f"the number of users must be between 1 and {MAX_USERS:,}, got {value}")
    return value


def _items_of(rt: Runtime, body: Any) -> np.ndarray:
    """The item indices a line asks about."""
    if (
        not isinstance(body, dict)
        or len(body) != 1
        or next(iter(body))
        not in (
            "itemId",
            "itemAttributes",
        )
    ):
        raise SegmentError(
            'a segment input line is {"itemId": "…"} or {"itemAttributes": "ITEMS.X = \\"v\\""}'
        )
    if "itemId" in body:
        item = str(body["itemId"])
        if item not in rt.item_index:
            raise SegmentError(
                f"item {item} is not known to the model",
                hint="items added since the training get segments after the next training",
            )
        return np.array([rt.item_index[item]], dtype=np.int64)
    query = body["itemAttributes"]
    if not isinstance(query, str):
        raise SegmentError("itemAttributes must be a string")
    mask = _Query(query, rt.item_attrs, rt.n_items).parse()
    return np.flatnonzero(mask)


def _affinities(rt: Runtime, queries: list[np.ndarray]) -> np.ndarray:
    """users x queries: each user's summed score over each query's items, seen items 0."""
    out = np.zeros((len(rt.user_ids), len(queries)), dtype=np.float32)
    if not queries:
        return out
    wanted = np.unique(np.concatenate(queries))
    where = np.searchsorted(wanted, np.arange(rt.n_items)).clip(0, max(len(wanted) - 1, 0))
    history = rt.history.tocsr()
    step = max(1, _SCORE_CELLS // max(rt.n_items, 1))
    for start in range(0, history.shape[0], step):
        rows = history[start : start + step]
        scores = np.asarray(rt.model.score_users(rows), dtype=np.float32)[:, wanted]
        seen = rows[:, wanted].toarray() > 0
        scores[seen] = 0.0
        for q, items in enumerate(queries):
            out[start : start + step, q] = scores[:, where[items]].sum(axis=1)
    # A history that is empty scores popularity: those users are no segment's prospects.
    out[np.diff(history.indptr) == 0] = 0.0
    return out


def _write_segments(lake: Lake, output: str, outputs: list[dict[str, Any]]) -> int:
    import pyarrow as pa

    records: list[dict[str, Any]] = []
    for o in outputs:
        if o["output"] is None:
            continue
        inp = o["input"]
        out = o["output"]
        for rank, (user, score) in enumerate(
            zip(out["recommendedUsers"], out["scores"], strict=True), start=1
        ):
            records.append(
                {
                    "item_id": inp.get("itemId"),
                    "item_attributes": inp.get("itemAttributes"),
                    "rank": rank,
                    "user_id": user,
                    "score": score,
                }
            )
    schema = pa.schema(
        [
            ("item_id", pa.string()),
            ("item_attributes", pa.string()),
            ("rank", pa.int32()),
            ("user_id", pa.string()),
            ("score", pa.float64()),
        ]
    )
    return write_table(lake, output, pa.Table.from_pylist(records, schema=schema))


class _Query:
    """``ITEMS.field = "value"`` conditions joined by AND / OR (AND first) and parentheses, over
    the items' attributes; a ``|``-separated categorical value matches any of its parts."""

    def __init__(self, text: str, attrs: dict[str, np.ndarray], n_items: int) -> None:
        self.text = text
        self.attrs = {k.upper(): v for k, v in attrs.items()}
        self.n_items = n_items
        self.tokens = self._lex(text)
        self.at = 0

    def parse(self) -> np.ndarray:
        if not self.tokens:
            raise self._error("an empty itemAttributes query", 0)
        mask = self._or()
        if self.at < len(self.tokens):
            raise self._error("unexpected text", self.tokens[self.at][2])
        return mask

    def _lex(self, text: str) -> list[tuple[str, str, int]]:
        out: list[tuple[str, str, int]] = []
        pos = 0
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                return out
            m = _TOKEN.match(text, pos)
            if m is None:
                raise self._error("unexpected text", pos)
            kind = m.lastgroup or ""
            value = m.group(kind)
            if kind == "str":
                value = re.sub(r"\\(.)", r"\1", value)
            out.append((kind, value.upper() if kind == "op" else value, pos))
            pos = m.end()

    def _error(self, what: str, pos: int) -> SegmentError:
        where = "at the end" if pos >= len(self.text) else f"at character {pos + 1}"
        return SegmentError(
            f"itemAttributes: {what} {where}: {self.text!r}",
            hint='e.g. ITEMS.GENRES = "Comedy" AND (ITEMS.COLOR = "red" OR ITEMS.COLOR = "blue")',
        )

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _take(self, kind: str) -> tuple[str, str, int]:
        token = self._peek()
        if token is None or token[0] != kind:
            pos = token[2] if token is not None else len(self.text)
            expected = {"field": "ITEMS.<field>", "eq": "=", "str": 'a "quoted value"', "rp": ")"}
            raise self._error(f"expected {expected.get(kind, kind)}", pos)
        self.at += 1
        return token

    def _or(self) -> np.ndarray:
        mask = self._and()
        while (t := self._peek()) is not None and t[:2] == ("op", "OR"):
            self.at += 1
            mask = mask | self._and()
        return mask

    def _and(self) -> np.ndarray:
        mask = self._atom()
        while (t := self._peek()) is not None and t[:2] == ("op", "AND"):
            self.at += 1
            mask = mask & self._atom()
        return mask

    def _atom(self) -> np.ndarray:
        token = self._peek()
        if token is not None and token[0] == "lp":
            self.at += 1
            mask = self._or()
            self._take("rp")
            return mask
        _, field, pos = self._take("field")
        self._take("eq")
        value = self._take("str")[1]
        name = field.split(".", 1)[1].upper()
        values = self.attrs.get(name)
        if values is None:
            from oaklake.errors import did_you_mean

            known = sorted(self.attrs)
            raise SegmentError(
                f"itemAttributes: the items have no field {name} (character {pos + 1})",
                hint=did_you_mean(name, known)
                or ("the fields are " + ", ".join(known) if known else "train with --items"),
            )
        return np.fromiter(
            (v is not None and value in str(v).split("|") for v in values),
            dtype=bool,
            count=self.n_items,
        )
