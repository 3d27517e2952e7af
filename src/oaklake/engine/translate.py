"""Athena (Trino) → DuckDB: sqlglot's transpiler plus the fixes Athena semantics need.

sqlglot turns most Athena SQL into DuckDB SQL that means the same thing; where it does not (see
``tests/engine/golden/translate.sql`` for every known case), a rewrite here makes DuckDB compute
what Athena would. Every statement the engine runs goes through :func:`to_duckdb`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

# Rewrites applied, in order, to a (copied) tree before it is printed as DuckDB SQL. Each takes
# a node and returns its replacement (or the node itself); they run bottom-up over the tree.
REWRITES: tuple[Callable[[exp.Expression], exp.Expression], ...] = ()


def rewrite(tree: exp.Expression) -> exp.Expression:
    for fix in REWRITES:
        tree = tree.transform(fix, copy=False)
    return tree


def to_duckdb(tree: exp.Expression) -> str:
    """DuckDB SQL with Athena's meaning for an (already resolved) Athena-dialect tree."""
    return rewrite(tree.copy()).sql(dialect="duckdb")
