"""The load test: ``oaklake serve`` on a workspace with EASE trained on MovieLens-100k, under a
constant request rate from a real load generator (npm's loadtest, see ``setup.py``), plus a
measured account of where a request's time goes.

Workspace: ``bench/work/rec/ws``, made fresh: ``ml.interactions`` (100,000 ratings) and
``ml.items`` (title, genres) created with ``lake.sql`` and filled with ``table(...).append``; a
user-personalization recommender ``movies`` with algorithm ease, trained by ``lake.rec_train``.
The server is ``oaklake serve --port 0`` in a child process with a random API key in
OAKLAKE_API_KEY; its address is read from what it prints.

Requests: GET /recommendations?recommender=movies&userId=<a random one of the 943 users>
&numResults=25 with X-API-Key, keep-alive connections. Before the measured run: every user once,
one request at a time (the idle latency), then ``warmup`` seconds at the target rate (discarded).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

RECOMMENDER = "movies"
NUM_RESULTS = 25
PATH = "/recommendations?recommender={name}&userId={user}&numResults={n}"
GOAL_P99_MS = 10.0
_LISTENING = re.compile(r"listening on (http://\S+)")
_TICK = os.sysconf("SC_CLK_TCK")


def percentiles(values_ms: Any) -> dict[str, float | None]:
    """p50/p95/p99 (nearest rank: the smallest value with at least that share at or below it),
    max and mean, in milliseconds."""
    v = np.asarray(values_ms, dtype=np.float64)
    if v.size == 0:
        return {"p50": None, "p95": None, "p99": None, "max": None, "mean": None, "n": 0}
    p = np.percentile(v, [50, 95, 99], method="inverted_cdf")
    return {
        "p50": round(float(p[0]), 3),
        "p95": round(float(p[1]), 3),
        "p99": round(float(p[2]), 3),
        "max": round(float(v.max()), 3),
        "mean": round(float(v.mean()), 3),
        "n": int(v.size),
    }


# -- the workspace ------------------------------------------------------------------------------
def build_workspace(root: Path) -> dict[str, Any]:
    import oaklake
    from oaklake.recommend import sample

    if root.exists():
        shutil.rmtree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tables = sample.movielens_100k()
    lake = oaklake.init(root)
    try:
        lake.catalog.create_schema("ml", if_not_exists=True)
        inter = tables["interactions"]
        lake.sql(
            "CREATE TABLE ml.interactions (user_id string, item_id string, timestamp bigint, "
            "event_type string, event_value float)"
        )
        lake.table("ml.interactions").append(
            inter.rename_columns([c.lower() for c in inter.column_names])
        )
        items = tables["items"].select(["ITEM_ID", "TITLE", "GENRES"])
        lake.sql("CREATE TABLE ml.items (item_id string, title string, genres string)")
        lake.table("ml.items").append(items.rename_columns(["item_id", "title", "genres"]))
        ingest_s = time.perf_counter() - started
        lake.rec_create(
            RECOMMENDER,
            recipe="user-personalization",
            interactions="ml.interactions",
            items="ml.items",
            params={"algorithm": "ease"},
        )
        t0 = time.perf_counter()
        version = lake.rec_train(RECOMMENDER)
        train_s = time.perf_counter() - t0
        users = sorted(set(inter["USER_ID"].to_pylist()), key=int)
    finally:
        lake.close()
    return {
        "root": str(root),
        "users": users,
        "ingest_s": round(ingest_s, 3),
        "train_s": round(train_s, 3),
        "fit_s": round(version.seconds, 3),
        "version": version.version,
        "metrics": version.metrics,
        "baseline": version.baseline,
    }


# -- the server ---------------------------------------------------------------------------------
@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base_url: str
    key: str
    log: Path
    start_s: float
    extra_path: str | None = None

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process so far (all its threads)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK

    def threads(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
        return 0

    def wait_idle(self, timeout: float = 120.0) -> float:
        """Wait until the server has worked off what earlier runs queued (its CPU stops
        rising); returns the seconds waited."""
        start = time.monotonic()
        last = self.cpu_seconds()
        while time.monotonic() - start < timeout:
            time.sleep(0.5)
            now = self.cpu_seconds()
            if now - last < 0.02:
                break
            last = now
        return time.monotonic() - start

    def loaded(self) -> dict[str, bool]:
        """Whether uvicorn's optional C parser and event loop are loaded in the server."""
        maps = Path(f"/proc/{self.proc.pid}/maps").read_text()
        return {"httptools": "/httptools/" in maps, "uvloop": "/uvloop/" in maps}

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode


def start_server(workspace: Path, log: Path, extra_path: str | None = None) -> Server:
    """``oaklake serve`` on a free port with a fresh random key; waits until it listens."""
    exe = Path(sys.executable).with_name("oaklake")
    cmd = [str(exe), "serve", "--workspace", str(workspace), "--host", "127.0.0.1", "--port", "0"]
    key = secrets.token_urlsafe(24)
    env = {**os.environ, "OAKLAKE_API_KEY": key}
    if extra_path:
        env["PYTHONPATH"] = extra_path + os.pathsep + env.get("PYTHONPATH", "")
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        m = _LISTENING.search(text)
        if m:
            return Server(proc, m.group(1), key, log, time.perf_counter() - started, extra_path)
        if proc.poll() is not None:
            raise RuntimeError(f"oaklake serve exited with {proc.returncode}:\n{text}")
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"oaklake serve did not start listening within 180 s:\n{log.read_text()}")


def sequential(server: Server, paths: list[str]) -> list[float]:
    """One request at a time over one keep-alive connection; latencies in ms. Raises on any
    answer that is not 200."""
    import httpx

    out = []
    with httpx.Client(base_url=server.base_url, headers={"X-API-Key": server.key}) as client:
        for path in paths:
            t0 = time.perf_counter()
            r = client.get(path)
            out.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 200:
                raise RuntimeError(f"GET {path} answered {r.status_code}: {r.text[:300]}")
    return out


def user_paths(users: list[str], n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    chosen = [users[i] for i in rng.integers(0, len(users), size=n)]
    return [PATH.format(name=RECOMMENDER, user=u, n=NUM_RESULTS) for u in chosen]


# -- the load generator -------------------------------------------------------------------------
@dataclass
class LoadRun:
    rate: int
    seconds: float
    raw: dict[str, Any]
    server_cpu_s: float
    window_s: float  # the generator process's lifetime, over which server_cpu_s was measured
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    server_threads: int
    latencies: dict[str, float | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.latencies = percentiles(self.raw["latenciesMs"])

    def timeline(self) -> list[dict[str, Any]]:
        """Per second of sending: requests answered 200, failed, p50, p99 and max latency (ms) of
        the 200s. A second whose requests all failed has no latencies."""
        lat = np.asarray(self.raw["latenciesMs"], dtype=np.float64)
        second = (np.asarray(self.raw["sentAtMs"], dtype=np.float64) // 1000).astype(np.int64)
        failed = [int(t // 1000) for t in self.raw.get("failedAtMs", []) if t is not None]
        out = []
        for s in range(int(np.ceil(self.seconds))):
            p = percentiles(lat[second == s])
            out.append({"second": s, "ok": p["n"], "failed": failed.count(s), "p50": p["p50"],
                        "p99": p["p99"], "max": p["max"]})  # fmt: skip
        return out

    @property
    def server_core_share(self) -> float:
        """Server CPU seconds per wall second (over the generator's lifetime, which includes
        Node's start): 1.0 is one core fully busy."""
        return self.server_cpu_s / self.window_s

    @property
    def answered(self) -> int:
        return int(self.raw["callbacks"])

    @property
    def sent(self) -> int:
        return int(self.raw["sent"])

    @property
    def ok(self) -> int:
        return int(self.raw["statuses"].get("200", 0))

    @property
    def errors(self) -> int:
        """Answers that are not 200, connection errors and timeouts."""
        return self.answered - self.ok

    @property
    def in_flight_at_end(self) -> int:
        return self.sent - self.answered

    @property
    def server_cpu_ms(self) -> float:
        """Server CPU milliseconds per answered request."""
        return 1000 * self.server_cpu_s / max(self.answered, 1)

    @property
    def achieved_rate(self) -> float:
        return self.answered / float(self.raw["wallSeconds"])

    def as_dict(self) -> dict[str, Any]:
        lists = ("latenciesMs", "sentAtMs", "failedAtMs")
        raw = {k: v for k, v in self.raw.items() if k not in lists}
        return {
            "target_rate": self.rate,
            "seconds": self.seconds,
            "sent": self.sent,
            "answered": self.answered,
            "ok": self.ok,
            "errors": self.errors,
            "in_flight_at_end": self.in_flight_at_end,
            "achieved_rate": round(self.achieved_rate, 1),
            "latency_ms": self.latencies,
            "server_cpu_s": round(self.server_cpu_s, 3),
            "server_cpu_window_s": round(self.window_s, 3),
            "server_cpu_ms_per_request": round(1000 * self.server_cpu_s / max(self.answered, 1), 3),
            "server_core_share": round(self.server_core_share, 3),
            "server_threads": self.server_threads,
            "timeline_per_second": self.timeline(),
            "generator_cpu_s": round(float(self.raw["cpuSeconds"]), 3),
            "load_average_before": [round(x, 2) for x in self.load_before],
            "load_average_after": [round(x, 2) for x in self.load_after],
            "generator": raw,
        }


def run_load(
    driver: Path, server: Server, users: list[str], rate: int, seconds: float, seed: int = 1
) -> LoadRun:
    url = server.base_url + PATH.format(name=RECOMMENDER, user="USERID", n=NUM_RESULTS)
    config = {
        "url": url,
        "users": users,
        "rate": rate,
        "seconds": seconds,
        "headers": {"X-API-Key": server.key},
        "timeoutMs": 10_000,
        "seed": seed,
    }
    server.wait_idle()
    with tempfile.TemporaryDirectory(prefix="bench-rec-") as tmp:
        cfg, out = Path(tmp) / "config.json", Path(tmp) / "out.json"
        cfg.write_text(json.dumps(config))
        load_before = os.getloadavg()
        cpu_before = server.cpu_seconds()
        t0 = time.perf_counter()
        done = subprocess.run(
            ["node", str(driver), str(cfg), str(out)],
            cwd=driver.parent,
            capture_output=True,
            text=True,
            timeout=seconds + 120,
            check=False,
        )
        cpu_after = server.cpu_seconds()
        window = time.perf_counter() - t0
        load_after = os.getloadavg()
        if done.returncode != 0 or not out.is_file():
            raise RuntimeError(f"the load generator failed ({done.returncode}):\n{done.stderr}")
        raw = json.loads(out.read_text())
    return LoadRun(
        rate,
        seconds,
        raw,
        cpu_after - cpu_before,
        window,
        load_before,
        load_after,
        server.threads(),
    )


# -- where the time goes ------------------------------------------------------------------------
def breakdown(workspace: Path, key: str, users: list[str], n: int = 2000) -> dict[str, Any]:
    """In this process, with the server stopped (nothing else of ours running): one request's
    parts, each timed over ``n`` random known users, BLAS pinned to one thread as in the server.

    - ``recommend``: ``Runtime.recommend`` (history, EASE scores, top 25, reasons, back-fill);
      ``recommend_blas_default``: the same with BLAS left at its default threads.
    - ``ease_score_one_user``: ``model.score_one`` for one history.
    - ``json``: encoding the answer as Starlette's JSONResponse does.
    - ``asgi``: the whole FastAPI app called as uvicorn calls it: everything but uvicorn, HTTP
      parsing and sockets.
    - ``profile``: where ``recommend``'s time goes (cProfile over ``n`` calls; the profiler's
      own overhead inflates the absolute numbers, not the shares).
    CPU per call is process CPU seconds / calls.
    """
    import cProfile
    import pstats

    from threadpoolctl import threadpool_limits

    import oaklake

    lake = oaklake.connect(workspace)
    out: dict[str, Any] = {"calls": n}
    try:
        rt = lake.rec_service().runtime(RECOMMENDER)
        rng = np.random.default_rng(7)
        picks = [users[i] for i in rng.integers(0, len(users), size=n)]
        for u in users:  # warm: every user once
            rt.recommend(u, NUM_RESULTS)

        def timed(fn: Any) -> dict[str, Any]:
            ts = []
            c0 = time.process_time()
            for u in picks:
                t0 = time.perf_counter()
                fn(u)
                ts.append((time.perf_counter() - t0) * 1000)
            cpu = (time.process_time() - c0) * 1000 / n
            return {**percentiles(ts), "cpu_ms_per_call": round(cpu, 4)}

        out["recommend_blas_default"] = timed(lambda u: rt.recommend(u, NUM_RESULTS))
        with threadpool_limits(limits=1):
            out["recommend"] = timed(lambda u: rt.recommend(u, NUM_RESULTS))
            rows = {u: [i for i, _ in rt.history_of(u)] for u in set(picks)}
            out["ease_score_one_user"] = timed(lambda u: rt.model.score_one(rows[u]))
            answers = {u: rt.recommend(u, NUM_RESULTS) for u in set(picks)}
            out["json"] = timed(
                lambda u: json.dumps(
                    answers[u],
                    ensure_ascii=False,
                    allow_nan=False,
                    indent=None,
                    separators=(",", ":"),
                ).encode("utf-8")
            )
            out["response_bytes_mean"] = round(
                float(
                    np.mean([len(json.dumps(a, separators=(",", ":"))) for a in answers.values()])
                )
            )
            out["asgi"] = asyncio.run(_asgi(lake, key, picks))
            profiler = cProfile.Profile()
            profiler.enable()
            for u in picks:
                rt.recommend(u, NUM_RESULTS)
            profiler.disable()
        out["profile"] = _top_functions(pstats.Stats(profiler), n)
    finally:
        lake.close()
    return out


def _top_functions(stats: Any, calls: int, top: int = 12) -> list[dict[str, Any]]:
    """The functions with the most own time, in microseconds per recommend() call."""
    rows = []
    total = sum(v[2] for v in stats.stats.values())
    for (path, line, name), (_, ncalls, tottime, cumtime, _) in stats.stats.items():
        where = path.split("site-packages/")[-1].split("/src/")[-1] if path != "~" else ""
        rows.append({
            "function": f"{where}:{line}({name})" if where else name,
            "calls_per_request": round(ncalls / calls, 2),
            "own_us_per_request": round(1e6 * tottime / calls, 1),
            "cumulative_us_per_request": round(1e6 * cumtime / calls, 1),
            "own_share": round(tottime / total, 4) if total else None,
        })  # fmt: skip
    rows.sort(key=lambda r: -r["own_us_per_request"])
    return rows[:top]


async def _asgi(lake: Any, key: str, picks: list[str]) -> dict[str, Any]:
    """The FastAPI app called as uvicorn calls it (scope, receive, send), with no client and no
    socket: routing, middleware, the key check, query validation, the handler and JSON."""
    from oaklake.server.app import create_app

    app = create_app(lake, api_key=key)
    headers = [(b"host", b"bench"), (b"x-api-key", key.encode())]

    async def call(path: str, query: str) -> int:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": query.encode(), "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 80),
        }  # fmt: skip
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return int(sent[0]["status"])

    def query(u: str) -> str:
        return f"recommender={RECOMMENDER}&userId={u}&numResults={NUM_RESULTS}"

    for u in picks[:200]:  # warm
        await call("/recommendations", query(u))
    out: dict[str, Any] = {}
    for name, path, q in (
        ("recommendations", "/recommendations", query),
        ("health", "/health", lambda u: ""),
    ):
        ts = []
        c0 = time.process_time()
        for u in picks:
            t0 = time.perf_counter()
            status = await call(path, q(u))
            ts.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                raise RuntimeError(f"ASGI call of {path} answered {status}")
        cpu = (time.process_time() - c0) * 1000 / len(picks)
        out[name] = {**percentiles(ts), "cpu_ms_per_call": round(cpu, 4)}
    return out
