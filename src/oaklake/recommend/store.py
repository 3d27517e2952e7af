"""Recommenders and their versions, kept in the workspace.

A recommender (Personalize's solution + campaign in one) is a name, a recipe, its datasets and
hyper-parameters: a row of ``oaklake_system.rec_recommenders``. Each training makes a version
(a solution version): a row of ``oaklake_system.rec_versions`` with its metrics, and the model's
files under ``.oaklake/models/<name>/v<N>/``. Both tables are Iceberg tables, queryable with SQL.
Nothing runs while idle: serving loads the latest version on the first call.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oaklake.errors import AlreadyExists, InvalidInput, NotFound

if TYPE_CHECKING:
    from oaklake.app import Lake

SCHEMA = "oaklake_system"
RECOMMENDERS = f"{SCHEMA}.rec_recommenders"
VERSIONS = f"{SCHEMA}.rec_versions"
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}")
TABLES = {
    "rec_recommenders": (
        "name string, recipe string, interactions string, users string, items string, "
        "event_types string, params string, created_at timestamp"
    ),
    "rec_versions": (
        "name string, version int, recipe string, params string, metrics string, "
        "baseline string, stats string, path string, trained_at timestamp, seconds double"
    ),
}


class RecommenderNotFound(NotFound):
    code = "REC_NOT_FOUND"


@dataclass
class Recommender:
    name: str
    recipe: str
    interactions: str
    users: str | None = None
    items: str | None = None
    event_types: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    created_at: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "recipe": self.recipe,
            "interactions": self.interactions,
            "users": self.users,
            "items": self.items,
            "event_types": self.event_types,
            "params": self.params,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


@dataclass
class Version:
    name: str
    version: int
    recipe: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    baseline: dict[str, Any]
    stats: dict[str, Any]
    path: str
    trained_at: dt.datetime
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "recipe": self.recipe,
            "params": self.params,
            "metrics": self.metrics,
            "baseline": self.baseline,
            "stats": self.stats,
            "path": self.path,
            "trained_at": self.trained_at.isoformat(),
            "seconds": round(self.seconds, 3),
        }


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name or ""):
        raise InvalidInput(
            f"invalid recommender name {name!r}",
            hint="lower-case letters, digits, - and _, starting with a letter (e.g. shop-similar)",
        )
    return name


class Store:
    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    # -- tables ----------------------------------------------------------------------------
    def _ensure(self) -> None:
        catalog = self.lake.catalog
        catalog.create_schema(SCHEMA, if_not_exists=True)
        for table, ddl in TABLES.items():
            if not catalog.table_exists(SCHEMA, table):
                self.lake.sql(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{table} ({ddl})")

    def _exists(self) -> bool:
        catalog = self.lake.catalog
        return all(catalog.table_exists(SCHEMA, t) for t in TABLES)

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        if not self._exists():
            return []
        return self.lake.sql(sql).rows

    def models_root(self) -> Path:
        return self.lake.settings.root / ".oaklake" / "models"

    # -- recommenders ----------------------------------------------------------------------
    def create(self, rec: Recommender) -> Recommender:
        import pyarrow as pa

        check_name(rec.name)
        if self.find(rec.name) is not None:
            raise AlreadyExists(
                f"recommender {rec.name} already exists",
                hint=f"oaklake rec delete {rec.name} first, or choose another name",
            )
        self._ensure()
        rec.created_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        row = {
            "name": rec.name,
            "recipe": rec.recipe,
            "interactions": rec.interactions,
            "users": rec.users,
            "items": rec.items,
            "event_types": json.dumps(rec.event_types),
            "params": json.dumps(rec.params, sort_keys=True),
            "created_at": rec.created_at,
        }
        schema = pa.schema(
            [(k, pa.timestamp("us") if k == "created_at" else pa.string()) for k in row]
        )
        self.lake.table(RECOMMENDERS).append(pa.Table.from_pylist([row], schema=schema))
        return rec

    def find(self, name: str) -> Recommender | None:
        rows = self._rows(
            "SELECT name, recipe, interactions, users, items, event_types, params, created_at "
            f"FROM {RECOMMENDERS} WHERE name = '{check_name(name)}'"
        )
        if not rows:
            return None
        n, recipe, inter, users, items, etypes, params, created = rows[0]
        return Recommender(
            name=n,
            recipe=recipe,
            interactions=inter,
            users=users,
            items=items,
            event_types=json.loads(etypes or "[]"),
            params=json.loads(params or "{}"),
            created_at=created,
        )

    def get(self, name: str) -> Recommender:
        rec = self.find(name)
        if rec is None:
            from oaklake.errors import did_you_mean

            known = [r.name for r in self.list()]
            raise RecommenderNotFound(
                f"no recommender named {name}",
                hint=did_you_mean(name, known) or "oaklake rec list shows the recommenders",
            )
        return rec

    def list(self) -> list[Recommender]:
        rows = self._rows(f"SELECT name FROM {RECOMMENDERS} ORDER BY name")
        found = [self.find(r[0]) for r in rows]
        return [r for r in found if r is not None]

    def delete(self, name: str) -> None:
        self.get(name)
        self.lake.sql(f"DELETE FROM {VERSIONS} WHERE name = '{name}'")
        self.lake.sql(f"DELETE FROM {RECOMMENDERS} WHERE name = '{name}'")
        shutil.rmtree(self.models_root() / name, ignore_errors=True)

    # -- versions --------------------------------------------------------------------------
    def next_version(self, name: str) -> int:
        rows = self._rows(f"SELECT max(version) FROM {VERSIONS} WHERE name = '{name}'")
        return int(rows[0][0] or 0) + 1 if rows else 1

    def folder(self, name: str, version: int) -> Path:
        return self.models_root() / name / f"v{version}"

    def add_version(self, v: Version) -> Version:
        import pyarrow as pa

        self._ensure()
        row = {
            "name": v.name,
            "version": v.version,
            "recipe": v.recipe,
            "params": json.dumps(v.params, sort_keys=True, default=str),
            "metrics": json.dumps(v.metrics, sort_keys=True, default=str),
            "baseline": json.dumps(v.baseline, sort_keys=True, default=str),
            "stats": json.dumps(v.stats, sort_keys=True, default=str),
            "path": v.path,
            "trained_at": v.trained_at.replace(tzinfo=None),
            "seconds": float(v.seconds),
        }
        types = {"version": pa.int32(), "trained_at": pa.timestamp("us"), "seconds": pa.float64()}
        schema = pa.schema([(k, types.get(k, pa.string())) for k in row])
        self.lake.table(VERSIONS).append(pa.Table.from_pylist([row], schema=schema))
        return v

    def versions(self, name: str) -> list[Version]:
        rows = self._rows(
            "SELECT name, version, recipe, params, metrics, baseline, stats, path, trained_at, "
            f"seconds FROM {VERSIONS} WHERE name = '{name}' ORDER BY version"
        )
        return [
            Version(
                name=r[0],
                version=int(r[1]),
                recipe=r[2],
                params=json.loads(r[3] or "{}"),
                metrics=json.loads(r[4] or "{}"),
                baseline=json.loads(r[5] or "{}"),
                stats=json.loads(r[6] or "{}"),
                path=r[7],
                trained_at=r[8],
                seconds=float(r[9] or 0),
            )
            for r in rows
        ]

    def latest(self, name: str) -> Version:
        versions = self.versions(name)
        if not versions:
            raise NotFound(
                f"recommender {name} has no trained version",
                code="REC_NOT_TRAINED",
                hint=f"oaklake rec train {name}",
            )
        return versions[-1]
