"""Promotions (Personalize's ``promotions`` on GetRecommendations): a share of the results taken
from the items a promotion filter selects, the rest left to the recommender and the request's
own filter.

As in Personalize: the promotion's filter applies only to the promoted items and the request's
filter only to the others; promoted items are ranked by the same scores among themselves and
placed at random positions among the others; when too few items match, the result holds as
many as there are; each promoted item carries ``promotionName`` and the reason "Promoted item".
One promotion per request (Personalize's limit too). Here the filter is the expression itself,
as for the request's ``filter``, instead of a filter ARN.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Any

from oaklake.errors import InvalidInput

PROMOTED = "Promoted item"
_FIELDS = ("name", "percentPromotedItems", "filter", "filterValues")
_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9\-_]{0,62}")
_EXAMPLE = (
    '[{"name": "in-house", "percentPromotedItems": 20, '
    '"filter": "INCLUDE ItemID WHERE Items.CATEGORY IN (\\"shoes\\")"}]'
)


class PromotionError(InvalidInput):
    code = "REC_INVALID_PROMOTION"


@dataclass(frozen=True)
class Promotion:
    name: str
    percent: int
    filter: str
    filter_values: dict[str, Any] | None = None

    def count(self, n: int) -> int:
        """How many of ``n`` results are promoted: ``percent`` of them, rounded down, at least
        one."""
        return max(1, n * self.percent // 100)


def parse_promotions(value: Any) -> Promotion | None:
    """``promotions`` from a request: a JSON text (a query string) or an already-decoded list
    of at most one object {name, percentPromotedItems, filter, filterValues}."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise PromotionError(
                f"promotions is not valid JSON: {e.msg} at character {e.pos + 1}",
                hint="e.g. " + _EXAMPLE,
            ) from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(p, dict) for p in value):
        raise PromotionError("promotions must be a list of objects", hint="e.g. " + _EXAMPLE)
    if not value:
        return None
    if len(value) > 1:
        raise PromotionError(
            f"promotions holds {len(value)} promotions; one per request",
            hint="Personalize's limit is one too: combine them into one filter with |",
        )
    raw = value[0]
    for key in raw:
        if key not in _FIELDS:
            from oaklake.errors import did_you_mean

            hint = did_you_mean(key, _FIELDS) or "the fields are " + ", ".join(_FIELDS)
            raise PromotionError(f"unknown promotion field {key!r}", hint=hint)
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise PromotionError(
            f"promotion name {name!r} is not valid",
            hint="1-63 letters, digits, - and _, starting with a letter or digit",
        )
    percent = raw.get("percentPromotedItems")
    if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= 100:
        raise PromotionError(
            f"percentPromotedItems must be a whole number from 1 to 100, got {percent!r}",
        )
    text = raw.get("filter")
    if not isinstance(text, str) or not text.strip():
        raise PromotionError(
            "a promotion needs a filter: the expression that selects the promoted items",
            hint="e.g. " + _EXAMPLE,
        )
    values = raw.get("filterValues")
    if values is not None and not isinstance(values, dict):
        raise PromotionError(
            "a promotion's filterValues must be an object",
            hint='e.g. {"CATEGORY": "\\"shoes\\""}',
        )
    return Promotion(name, percent, text, values)


def place(regular: list[Any], promoted: list[Any], seed: Any = None) -> list[Any]:
    """``promoted`` (kept in their order) at random positions among ``regular`` (kept in
    theirs)."""
    total = len(regular) + len(promoted)
    slots = set(random.Random(seed).sample(range(total), len(promoted)))  # noqa: S311
    out: list[Any] = []
    r, p = iter(regular), iter(promoted)
    for position in range(total):
        out.append(next(p) if position in slots else next(r))
    return out
