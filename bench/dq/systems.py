"""The systems measured, each behind one ``run() -> Run``: outcome per rule and seconds.

- ``OaklakeEvaluate``: ``evaluate(lake.engine, ruleset, Dataset.of_file(path))``: bind the file,
  compile, bind-check, scan, judge. The ruleset is parsed once, outside the timing.
- ``OaklakeDqRun``: ``lake.dq_run(rules_path, file=path, notify=False)`` end to end: read and
  parse the rules file, evaluate, record the run in the workspace's Iceberg system tables.
- ``LimitRunner``: the one hand-written DuckDB query of bench/dq/limit.py.
- ``GxRunner``: Great Expectations, in this process: ``pandas.read_parquet`` + validation; the
  "tuned" one retypes two columns after reading so that GX's checks on them are vectorised.
- ``SodaRunner``: Soda Core in its own environment (bench/dq/peers), a long-lived child process
  timed inside itself around ``Scan.execute()``; see bench/dq/soda_worker.py.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.dq import data

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RULES = HERE / "rules.dqdl"
SODA_CHECKS = HERE / "soda_checks.yml"
PEERS = HERE / "peers"
PEERS_VENV = data.WORK / "peers-venv"
RULE_COUNT = 20


@dataclass
class Run:
    seconds: float
    passed: list[bool | None]  # per rule, rules.dqdl order; None: no outcome
    values: list[Any] = field(default_factory=list)  # the number each rule was judged on
    extra: dict[str, float] = field(default_factory=dict)  # more timings (GX: read, validate)
    cpu_s: float | None = None  # CPU seconds, all threads (None: the caller measures them)


def _first_metric(metrics: dict[str, float]) -> float | None:
    return next(iter(metrics.values()), None)


class _Oaklake:
    def __init__(self, lake: Any, path: Path) -> None:
        from oaklake.quality.parse import parse_ruleset

        self.lake = lake
        self.path = path
        self.ruleset = parse_ruleset(RULES.read_text())
        self.texts = [node.text for node in self.ruleset.rules]
        if len(self.texts) != RULE_COUNT:
            raise SystemExit(f"{RULES} has {len(self.texts)} rules, not {RULE_COUNT}")

    @staticmethod
    def _run(seconds: float, result: Any) -> Run:
        passed = [None if r.outcome == "Error" else r.outcome == "Passed" for r in result.rules]
        values = [_first_metric(r.metrics) for r in result.rules]
        errors = [f"{r.rule}: {r.failure_reason}" for r in result.rules if r.outcome == "Error"]
        if errors:
            raise RuntimeError("rules in Error: " + "; ".join(errors))
        return Run(seconds, passed, values)


class OaklakeEvaluate(_Oaklake):
    name = "oaklake evaluate"

    def run(self) -> Run:
        from oaklake.quality.dataset import Dataset
        from oaklake.quality.evaluate import evaluate

        start = time.perf_counter()
        result = evaluate(self.lake.engine, self.ruleset, Dataset.of_file(self.path))
        return self._run(time.perf_counter() - start, result)


class OaklakeDqRun(_Oaklake):
    name = "oaklake dq_run"

    def run(self) -> Run:
        start = time.perf_counter()
        result = self.lake.dq_run(str(RULES), file=str(self.path), notify=False)
        return self._run(time.perf_counter() - start, result)


class LimitRunner:
    name = "limit (1 DuckDB query)"

    def __init__(self, path: Path, threads: int) -> None:
        from bench.dq import limit

        self.limit = limit.Limit(str(path), threads)
        self.outcomes = limit.outcomes

    def run(self) -> Run:
        seconds, values = self.limit.run()
        passed = self.outcomes(values)
        return Run(seconds, [passed[i] for i in range(1, RULE_COUNT + 1)],
                   [values[i] for i in range(1, RULE_COUNT + 1)])  # fmt: skip

    def close(self) -> None:
        self.limit.close()


class GxRunner:
    name = "Great Expectations"

    def __init__(self, path: Path, tuned: bool = False) -> None:
        from bench.dq.gx_suite import GreatExpectations

        self.gx = GreatExpectations(str(path), tuned=tuned)

    def run(self) -> Run:
        out = self.gx.run()
        gc.collect()  # the DataFrame (~3 GB at 10M rows) is gone before the next system runs
        return Run(
            out["read_s"] + out["validate_s"],
            out["passed"],
            out["observed"],
            {"read_s": out["read_s"], "validate_s": out["validate_s"]},
        )


def _uv() -> str:
    local = REPO / ".tools" / "bin" / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    if not found:
        raise SystemExit("uv not found: run `make setup` first (it installs uv into .tools/)")
    return found


def install_peers(log: Any = print) -> float:
    """``uv sync`` the Soda environment from bench/dq/peers/uv.lock (a no-op when up to date)."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["UV_PROJECT_ENVIRONMENT"] = str(PEERS_VENV)
    start = time.perf_counter()
    out = subprocess.run(
        [_uv(), "sync", "--frozen", "--quiet", "--project", str(PEERS)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"installing the Soda environment failed:\n{out.stderr.strip()}")
    seconds = time.perf_counter() - start
    if seconds > 2:
        log(f"soda: installed its environment into {data.shown(PEERS_VENV)} in {seconds:.1f} s")
    return seconds


class SodaRunner:
    name = "Soda Core"

    def __init__(self, path: Path, threads: int) -> None:
        python = PEERS_VENV / "bin" / "python"
        self.log = (data.WORK / "soda-worker.log").open("w")
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        env["PYTHONPATH"] = str(REPO)  # for `-m bench.dq.soda_worker` (stdlib-only imports)
        self.proc = subprocess.Popen(
            [str(python), "-m", "bench.dq.soda_worker", str(path), str(threads),
             str(SODA_CHECKS), str(data.WORK / "soda")],
            cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
            text=True, bufsize=1,
        )  # fmt: skip
        hello = self._reply()
        self.versions = {"soda-core": hello["soda"], "duckdb (soda's)": hello["duckdb"]}

    def _reply(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the Soda worker stopped; see {data.shown(Path(self.log.name))}")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"Soda: {reply['error']}")
        return reply

    def run(self) -> Run:
        assert self.proc.stdin is not None
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        reply = self._reply()
        if reply["errors"]:
            raise RuntimeError("Soda logged errors: " + "; ".join(reply["errors"]))
        checks = reply["checks"]
        passed: list[bool | None] = []
        values: list[Any] = []
        for i in range(1, RULE_COUNT + 1):
            check = checks.get(f"rule {i:02d}", {})
            outcome = check.get("outcome")
            passed.append(None if outcome not in ("pass", "fail") else outcome == "pass")
            values.append(check.get("value"))
        return Run(float(reply["seconds"]), passed, values, cpu_s=float(reply["cpu_s"]))

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
        self.log.close()


def python_versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for package in ("oaklake", "duckdb", "pyarrow", "pandas", "numpy", "great-expectations"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out
