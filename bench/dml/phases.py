"""Where a statement's time goes, measured on every timed run at almost no cost.

While a :class:`Phases` is active, the few functions a copy-on-write statement spends its time
in are wrapped with a stopwatch: DuckDB queries (``Engine._duck``: finding affected files and
computing replacement rows), scan planning (pyiceberg manifests), writing Parquet data files,
and the commit (manifests, manifest list, metadata, catalog). The rest of the statement is
``other`` (parsing, type checks, Python glue). The wrappers are removed on exit.
"""

from __future__ import annotations

import time
from typing import Any

PHASES = ("duckdb", "plan", "write_files", "commit", "other")


class Phases:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self._saved: list[tuple[Any, str, Any]] = []

    def _wrap(self, owner: Any, attr: str, phase: str) -> None:
        original = getattr(owner, attr)
        seconds = self.seconds

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                seconds[phase] += time.perf_counter() - start

        self._saved.append((owner, attr, original))
        setattr(owner, attr, timed)

    def __enter__(self) -> Phases:
        from oaklake.engine import dml, maintenance  # noqa: F401 - loaded before patching
        from oaklake.engine.session import Engine

        self._wrap(Engine, "_duck", "duckdb")
        self._wrap(dml, "plan", "plan")
        self._wrap(dml, "write_data_files", "write_files")
        self._wrap(dml, "commit_files", "commit")
        return self

    def __exit__(self, *exc: Any) -> None:
        for owner, attr, original in reversed(self._saved):
            setattr(owner, attr, original)
        self._saved.clear()

    def split(self, total: float) -> dict[str, float]:
        out = {k: round(v, 4) for k, v in self.seconds.items() if k != "other"}
        out["other"] = round(max(total - sum(out.values()), 0.0), 4)
        return out
