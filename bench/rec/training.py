"""Training time on MovieLens-100k: user-personalization's fit (EASE, iALS) vs implicit's ALS.

All on the same matrix: every ML-100k rating as an interaction (943 users x 1,682 items, 100,000
ones), as ``oaklake rec train`` trains. Ours is ``RECIPES["user-personalization"].fit`` — the
whole recipe: popularity, the exploration boost and the model. The peer is implicit's
``AlternatingLeastSquares`` called directly with our iALS defaults (128 factors, regularisation
10, alpha 1, 15 iterations, seed 42) on the same CSR matrix (our confidence is log2(1 + 1) = 1 for
every entry here, so both factorise the same numbers): once as a user would call it (implicit's
own threads, BLAS as loaded) and once inside ``threadpool_limits(1)``, which implicit's warning
recommends and our recipe does. Best of ``repeat`` runs; wall and CPU seconds (this process, all
threads).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Timing:
    label: str
    what: str
    wall_s: list[float]
    cpu_s: list[float]

    @property
    def best_s(self) -> float:
        return min(self.wall_s)

    @property
    def best_cpu_s(self) -> float:
        return self.cpu_s[int(np.argmin(self.wall_s))]

    def as_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "best_s": round(self.best_s, 4),
            "cpu_s_of_best": round(self.best_cpu_s, 4),
            "runs_s": [round(t, 4) for t in self.wall_s],
            "runs_cpu_s": [round(t, 4) for t in self.cpu_s],
        }


def _time(label: str, what: str, fn: Callable[[], Any], repeat: int) -> Timing:
    fn()  # warm-up: imports, first-use costs
    wall, cpu = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return Timing(label, what, wall, cpu)


def run(train: Any, repeat: int = 3) -> dict[str, Timing]:
    import scipy.sparse as sp
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    from oaklake.recommend.recipes import RECIPES

    recipe = RECIPES["user-personalization"]
    defaults = recipe.defaults
    matrix = sp.csr_matrix(train.matrix, dtype=np.float32)

    def implicit_als() -> None:
        als = AlternatingLeastSquares(
            factors=defaults["factors"],
            regularization=defaults["regularization"],
            alpha=defaults["alpha"],
            iterations=defaults["iterations"],
            random_state=defaults["random_seed"],
        )
        with warnings.catch_warnings():
            # implicit warns that OpenBLAS uses several threads: that is this row's point.
            warnings.simplefilter("ignore", RuntimeWarning)
            als.fit(matrix, show_progress=False)

    def implicit_als_one_blas() -> None:
        with threadpool_limits(limits=1, user_api="blas"):
            implicit_als()

    shape = f"{matrix.shape[0]} x {matrix.shape[1]}, {matrix.nnz:,} interactions"
    als = (
        f"{defaults['factors']} factors, reg {defaults['regularization']:g}, alpha "
        f"{defaults['alpha']:g}, {defaults['iterations']} iterations"
    )
    out = {
        "ease": _time(
            "ours: user-personalization (ease)",
            f"RECIPES['user-personalization'].fit(algorithm=ease, lambda 200) on {shape}",
            lambda: recipe.fit(train, {"algorithm": "ease"}),
            repeat,
        ),
        "ials": _time(
            "ours: user-personalization (ials)",
            f"RECIPES['user-personalization'].fit(algorithm=ials; {als}) on {shape}",
            lambda: recipe.fit(train, {"algorithm": "ials"}),
            repeat,
        ),
        "implicit": _time(
            "implicit AlternatingLeastSquares",
            f"implicit.cpu.als.AlternatingLeastSquares({als}).fit(csr) on {shape}, defaults",
            implicit_als,
            repeat,
        ),
        "implicit_one_blas": _time(
            "implicit ALS, BLAS 1 thread",
            "the same inside threadpool_limits(limits=1, user_api='blas')",
            implicit_als_one_blas,
            repeat,
        ),
    }
    return out
