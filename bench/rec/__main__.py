"""``uv run python -m bench.rec``: recommendations on MovieLens-100k — quality, training time and
``oaklake serve`` under load.

1. Quality: every recipe that scores users, with the strong-generalisation protocol of
   specs/recommend.md §2 (5 user folds; R@20, R@50, NDCG@100 mean±sd) and with Personalize's own
   split and eight metrics, each next to Popularity-Count measured on the same folds. Goal: the
   best NDCG@100 >= 0.444 (EASE in the spec).
2. Training time: user-personalization's fit (EASE, iALS) vs implicit's AlternatingLeastSquares
   on the same matrix, best of ``--repeat``.
3. Load: ``oaklake serve`` with EASE, ``--rate`` requests/s of GET /recommendations for
   ``--duration`` s from npm's loadtest (open loop, installed by ``python -m bench.rec.setup``,
   which this runs first when needed). Goal: p99 <= 10 ms with 0 errors. Then, with the server
   stopped, the parts of one request measured in-process, to say where the time goes.

The machine has 2 cores; the load generator and the server share them with whatever else runs:
load averages are printed and kept in bench/results/rec.json.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.rec import load, quality, report, setup, training
from bench.rec.report import fmt, table

BENCH = Path(__file__).resolve().parents[1]
RESULTS = BENCH / "results" / "rec.json"
WORK = BENCH / "work" / "rec"


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.rec", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--rate", type=int, default=500, help="requests per second (default 500)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    warmup = "seconds at the rate before the measured run, discarded (default 5)"
    p.add_argument("--warmup", type=float, default=5.0, help=warmup)
    probes = "comma-separated lower rates probed first (default 100,250; '' = none)"
    p.add_argument("--probe-rates", default="100,250", help=probes)
    p.add_argument("--probe-seconds", type=float, default=10.0, help="seconds per probe rate")
    p.add_argument("--compare-uvicorn-standard", action="store_true",
                   help="repeat the load on a second server with httptools + uvloop on its path "
                   "(installed into bench/work/rec/extras, not into .venv)")  # fmt: skip
    p.add_argument("--repeat", type=int, default=3, help="training runs per fit; best counts")
    p.add_argument("--skip-quality", action="store_true", help="no offline evaluation")
    p.add_argument("--skip-training", action="store_true", help="no training-time comparison")
    p.add_argument("--skip-load", action="store_true", help="no load test")
    p.add_argument("--output", type=Path, default=RESULTS, help=f"JSON result (default {RESULTS})")
    args = p.parse_args(argv)
    args.probe_rates = [int(x) for x in args.probe_rates.split(",") if x.strip()]
    if args.rate < 1 or args.duration <= 0 or args.warmup < 0 or args.repeat < 1:
        p.error("--rate and --repeat must be at least 1, --duration above 0, --warmup 0 or more")
    return args


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def _ms(sd: tuple[float, float]) -> str:
    return f"{sd[0]:.3f}±{sd[1]:.3f}"


# -- 1. quality ------------------------------------------------------------------------------------
def _quality(payload: dict[str, Any]) -> None:
    print("1. quality: MovieLens-100k …", flush=True)
    ml = quality.load()
    outcomes = quality.run(ml)
    sg0 = outcomes[0].sg
    base = sg0["baseline"]
    sizes = {k: sg0[k] for k in ("n_users", "n_items", "n_interactions")}
    print()
    print(
        f"Strong generalisation (Liang et al. 2018; specs/recommend.md §2): ratings > 3.5, users "
        f"with 5+, {sizes['n_users']} users x {sizes['n_items']} items, "
        f"{sizes['n_interactions']:,} interactions (spec: 938 x 1,447, 55,361); 5 user folds "
        f"(seed {quality.SG_SEED}), 80% folded in; mean±sd over folds"
    )
    rows = [
        (
            "Popularity (evaluate's baseline)",
            _ms(base["recall_at_20"]),
            _ms(base["recall_at_50"]),
            _ms(base["ndcg_at_100"]),
            "1.00x",
            "0.199 / 0.316 / 0.256",
        )
    ]
    for o in outcomes:
        sg, spec = o.sg, quality.SPEC_SG.get(o.case.spec or "")
        label = o.case.label + (f"  (= {o.same_as})" if o.same_as else "")
        rows.append((
            label, _ms(sg["recall_at_20"]), _ms(sg["recall_at_50"]), _ms(sg["ndcg_at_100"]),
            _ratio(sg["ndcg_at_100"][0], sg["baseline"]["ndcg_at_100"][0]),
            " / ".join(f"{x:.3f}" for x in spec) if spec else "-",
        ))  # fmt: skip
    table(("recipe", "R@20", "R@50", "NDCG@100", "NDCG vs pop", "spec R@20 / R@50 / NDCG"),
          rows, {1, 2, 3, 4})  # fmt: skip
    for o in outcomes:
        if o.case.note:
            print(f"  {o.case.label}: {o.case.note}")
    top = quality.best(outcomes)
    ndcg, sd = top.sg["ndcg_at_100"]
    met = ndcg >= quality.SPEC_EASE_NDCG
    ease = next(o for o in outcomes if o.case.spec == "ease")
    e_mean = ease.sg["ndcg_at_100"][0]
    diff_sd = (e_mean - quality.SPEC_EASE_NDCG) / quality.SPEC_EASE_SD
    print(
        f"goal: best NDCG@100 >= {quality.SPEC_EASE_NDCG} -> {'met' if met else 'MISSED'} "
        f"({top.case.label}: {ndcg:.3f}±{sd:.3f})"
    )
    print(
        f"EASE here {e_mean:.3f} vs the spec's {quality.SPEC_EASE_NDCG}±{quality.SPEC_EASE_SD} "
        f"({diff_sd:+.1f} spec sd); popularity {base['ndcg_at_100'][0]:.3f} vs the spec's 0.256"
    )

    print()
    pz0 = outcomes[0].pz
    print(
        f"Personalize's metrics (its split, seed {quality.PZ_SEED}: {pz0['n_users_held_out']} "
        f"users held out, {pz0['n_users_scored']} scored; oldest 90% folded in, newest 10% "
        f"predicted; all 100,000 ratings as interactions)"
    )
    names = (
        "precision_at_5", "precision_at_10", "precision_at_25",
        "normalized_discounted_cumulative_gain_at_5",
        "normalized_discounted_cumulative_gain_at_10",
        "normalized_discounted_cumulative_gain_at_25",
        "mean_reciprocal_rank_at_25", "coverage",
    )  # fmt: skip
    short = ("P@5", "P@10", "P@25", "NDCG@5", "NDCG@10", "NDCG@25", "MRR@25", "coverage")
    pop = pz0["baseline"]
    pz_rows: list[tuple[str, ...]] = [
        ("Popularity-Count (baseline)", *(f"{pop[n]:.3f}" for n in names), "1.00x")
    ]
    for o in outcomes:
        m = o.pz["metrics"]
        label = o.case.label + (f"  (= {o.same_as})" if o.same_as else "")
        ratio = _ratio(m[names[5]], o.pz["baseline"][names[5]])
        pz_rows.append((label, *(f"{m[n]:.3f}" for n in names), ratio))
    for key, label in (("popularity", "spec §4: Popularity"), ("ease", "spec §4: EASE"),
                       ("ials", "spec §4: ALS (fold-in)")):  # fmt: skip
        pz_rows.append((label, *(f"{x:.3f}" for x in quality.SPEC_PZ[key]), "-"))
    table(("recipe", *short, "NDCG@25 vs pop"), pz_rows, set(range(1, 10)))
    print("  (the spec's rows are from its own run on 94 users: ±~0.02)")

    payload["quality"] = {
        "data": {"load_s": round(ml.load_s, 3), **ml.dataset.stats},
        "strong_generalization": {
            "protocol": "ratings > 3.5, users with 5+, 5 disjoint user folds, seed 98765, "
            "random 80% folded in, 20% target; Recall@20/50 = hits / min(R, targets); binary "
            "NDCG@100",
            **sizes,
            "baseline": base,
            "goal": f"best ndcg_at_100 >= {quality.SPEC_EASE_NDCG}",
            "goal_met": met,
            "best": top.case.label,
        },
        "personalize": {
            "protocol": "Personalize's split: 10% of users held out (seed 42), oldest 90% of "
            "each folded in, newest 10% predicted; all interactions",
            "n_users_held_out": pz0["n_users_held_out"],
            "n_users_scored": pz0["n_users_scored"],
            "baseline": pop,
        },
        "cases": {
            o.case.label: {
                "recipe": o.case.recipe,
                "params": o.case.params,
                "note": o.case.note,
                "same_as": o.same_as,
                "strong_generalization": {
                    k: o.sg[k] for k in ("recall_at_20", "recall_at_50", "ndcg_at_100", "folds")
                },
                "ndcg_at_100_vs_popularity": o.sg["ndcg_at_100"][0]
                / o.sg["baseline"]["ndcg_at_100"][0],
                "personalize": o.pz["metrics"],
                "seconds": {
                    "strong_generalization": round(o.sg_s, 2),
                    "personalize": round(o.pz_s, 2),
                },
            }
            for o in outcomes
        },
    }


_SG = ("recall_at_20", "recall_at_50", "ndcg_at_100")


def _user_attributes(payload: dict[str, Any]) -> None:
    print("\n1b. user attributes: ML-100k and the generated shop …", flush=True)
    loaded = quality.load_attribute_data()
    outcomes = quality.run_attributes(loaded)
    default = quality.default_attribute_weight()
    sizes = {}
    for name, d in loaded.items():
        st = d.dataset.stats
        skipped = st["user_attributes_skipped"]
        sizes[name] = {"users": st["users"], "items": st["items"],
                       "interactions": st["interactions"],
                       "user_features": d.dataset.train.user_feature_names,
                       "skipped": skipped}  # fmt: skip
    print()
    ml, shop = sizes["ML-100k"], sizes["shop"]
    print(
        f"User attributes: user-personalization, exploration 0, the strong-generalisation folds "
        f"(seed {quality.SG_SEED}; ML-100k ratings > 3.5, the shop every event; users with 5+). "
        f"Features: ML-100k {len(ml['user_features'])} (AGE in 5 bins, GENDER, OCCUPATION; "
        + ", ".join(f"{k} skipped: {v}" for k, v in ml["skipped"].items())
        + f"), shop {len(shop['user_features'])} (AGE in 5 bins, GENDER, SEGMENT). off = "
        f"user_attribute_weight 0 (a user without history gets global popularity), on = the "
        f"default {default:g}; popularity prior = the same blend with global popularity in place "
        f"of the attributes (what the attributes add beyond a popularity prior); mean over 5 folds"
    )
    rows = []
    for o in outcomes:
        off, on = o.by_weight[0.0], o.by_weight[default]
        rows.append((
            o.case.data, o.case.algorithm, o.case.protocol,
            f"{off['recall_at_20'][0]:.4f}", f"{on['recall_at_20'][0]:.4f}",
            f"{off['recall_at_50'][0]:.4f}", f"{on['recall_at_50'][0]:.4f}",
            f"{off['ndcg_at_100'][0]:.4f}", f"{on['ndcg_at_100'][0]:.4f}",
            _ratio(on["ndcg_at_100"][0], off["ndcg_at_100"][0]),
            f"{o.folds_better(default)}/5", f"{o.prior['ndcg_at_100'][0]:.4f}",
        ))  # fmt: skip
    table(("data", "model", "held-out users", "R@20 off", "R@20 on", "R@50 off", "R@50 on",
           "NDCG@100 off", "NDCG@100 on", "on/off", "folds up", "NDCG pop. prior"), rows,
          set(range(3, 12)))  # fmt: skip
    print()
    print("NDCG@100 by user_attribute_weight (folds where it beats off):")
    weights = quality.ATTR_WEIGHTS
    sweep = []
    for o in outcomes:
        cells = [f"{o.by_weight[0.0]['ndcg_at_100'][0]:.4f}"]
        for w in weights:
            cells.append(f"{o.by_weight[w]['ndcg_at_100'][0]:.4f} ({o.folds_better(w)}/5)")
        sweep.append((o.case.data, o.case.algorithm, o.case.protocol, *cells))
    table(("data", "model", "held-out users", "off", *(f"{w:g}" for w in weights)), sweep,
          set(range(3, 4 + len(weights))))  # fmt: skip
    hurt: dict[float, list[str]] = {}
    for o in outcomes:
        if o.case.fold_in is not None:
            continue
        for w in weights:
            change = o.by_weight[w]["ndcg_at_100"][0] - o.by_weight[0.0]["ndcg_at_100"][0]
            if change < 0:
                hurt.setdefault(w, []).append(f"{o.case.data} {o.case.algorithm} {change:+.4f}")
    for w in weights:
        verdict = "; ".join(hurt[w]) if w in hurt else "none lower"
        print(f"  weight {w:g}, NDCG@100 of users with 80% folded in: {verdict}")
    safe = [f"{w:g}" for w in weights if w not in hurt]
    print(f"default {default:g}; weights that lower no 80% case: {', '.join(safe) or 'none'}")

    payload.setdefault("quality", {})["user_attributes"] = {
        "protocol": "strong-generalisation folds (5, seed 98765; ML-100k ratings > 3.5, shop "
        "every event; users with 5+); cold start = nothing folded in, every item a target; "
        "'N items folded in' = N random items of the 80%, same 20% targets",
        "default_weight": default,
        "weights": [0.0, *weights],
        "data": sizes,
        "cases": [
            {
                "data": o.case.data,
                "algorithm": o.case.algorithm,
                "protocol": o.case.protocol,
                "fold_in": o.case.fold_in,
                "seconds": round(o.seconds, 2),
                "by_weight": {
                    f"{w:g}": {
                        **{m: o.by_weight[w][m] for m in (*_SG, "folds")},
                        "folds_better_than_off": o.folds_better(w) if w else None,
                    }
                    for w in (0.0, *weights)
                },
                "popularity_prior": {m: o.prior[m] for m in (*_SG, "folds")},
            }
            for o in outcomes
        ],
    }


# -- 2. training time ----------------------------------------------------------------------------
def _training(payload: dict[str, Any], repeat: int) -> None:
    from oaklake.recommend import data, sample

    print(f"\n2. training time: best of {repeat} …", flush=True)
    tables = sample.movielens_100k()
    train = data.build(tables["interactions"]).train
    results = training.run(train, repeat)
    peer = results["implicit"]
    print()
    print(
        f"Training on all of MovieLens-100k ({train.n_users} users x {train.n_items} items, "
        f"{train.matrix.nnz:,} interactions), best of {repeat}; load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    rows = [
        (t.label, fmt(t.best_s), fmt(t.best_cpu_s), _ratio(t.best_s, peer.best_s))
        for t in results.values()
    ]
    table(("fit", "wall s", "cpu s", "vs implicit ALS (wall)"), rows, {1, 2, 3})
    print("  ours = the whole recipe (popularity, exploration boost, model); implicit = the")
    print("  factorisation alone, same factors/regularisation/alpha/iterations/seed")
    payload["training"] = {
        "data": f"{train.n_users} x {train.n_items}, {train.matrix.nnz} interactions",
        "timing": f"best of {repeat} after one warm-up; wall and process CPU seconds",
        "results": {k: t.as_dict() for k, t in results.items()},
        "ratios_vs_implicit": {k: t.best_s / peer.best_s for k, t in results.items()},
    }


# -- 3. load ---------------------------------------------------------------------------------------
@dataclass
class Served:
    """One server's runs: idle probe, warm-up, lower-rate probes and the measured run."""

    label: str
    server: load.Server
    idle: dict[str, Any]
    health: dict[str, Any]
    warm: load.LoadRun | None
    probes: list[load.LoadRun]
    run: load.LoadRun
    loaded: dict[str, bool]
    exit_code: int | None


def _serve(
    label: str, ws_root: Path, users: list[str], args: argparse.Namespace, driver: Path,
    extra: Path | None,
) -> Served:  # fmt: skip
    server = load.start_server(ws_root, WORK / f"serve-{label}.log", str(extra) if extra else None)
    loaded = server.loaded()
    mods = ", ".join(k for k, v in loaded.items() if v) or "neither httptools nor uvloop"
    print(f"  [{label}] oaklake serve on {server.base_url} after {server.start_s:.1f} s ({mods})")
    try:
        health = load.percentiles(load.sequential(server, ["/health"] * 300))
        every = [load.PATH.format(name=load.RECOMMENDER, user=u, n=load.NUM_RESULTS) for u in users]
        load.sequential(server, every)  # every user once: warm
        idle = load.percentiles(load.sequential(server, load.user_paths(users, 1000, seed=3)))
        print(f"  [{label}] idle, one request at a time: /recommendations p50 "
              f"{idle['p50']:.2f} ms, p99 {idle['p99']:.2f} ms; /health p50 "
              f"{health['p50']:.2f} ms", flush=True)  # fmt: skip
        warm = None
        if args.warmup > 0:
            warm = load.run_load(driver, server, users, args.rate, args.warmup, seed=2)
        probes = []
        for rate in args.probe_rates:
            probes.append(load.run_load(driver, server, users, rate, args.probe_seconds, seed=rate))
            p = probes[-1]
            print(f"  [{label}] probe {rate}/s for {args.probe_seconds:g} s: p99 "
                  f"{fmt(p.latencies['p99'], 2)} ms, {p.achieved_rate:.0f}/s answered, server "
                  f"{p.server_cpu_ms:.2f} ms CPU per request", flush=True)  # fmt: skip
        print(f"  [{label}] measured run: {args.rate}/s for {args.duration:g} s (load average "
              f"{os.getloadavg()[0]:.1f}) …", flush=True)  # fmt: skip
        run = load.run_load(driver, server, users, args.rate, args.duration, seed=1)
    finally:
        code = server.stop()
    return Served(label, server, idle, health, warm, probes, run, loaded, code)


def _row(label: str, r: load.LoadRun) -> tuple[Any, ...]:
    lat = r.latencies
    return (
        label, r.rate, f"{r.seconds:g}", r.sent, r.answered, r.errors, f"{r.achieved_rate:.1f}",
        fmt(lat["p50"], 2), fmt(lat["p95"], 2), fmt(lat["p99"], 2), fmt(lat["max"], 2),
        f"{r.server_cpu_ms:.2f}", f"{r.server_core_share:.0%}",
        f"{r.raw['cpuSeconds'] / r.raw['wallSeconds']:.0%}",
        r.raw["loadtest"]["clients"], f"{r.load_before[0]:.2f} -> {r.load_after[0]:.2f}",
    )  # fmt: skip


def _load(payload: dict[str, Any], args: argparse.Namespace, problems: list[str]) -> None:
    print(f"\n3. load: oaklake serve at {args.rate} requests/s for {args.duration:g} s …")
    driver = setup.ensure()
    extra = setup.ensure_extras() if args.compare_uvicorn_standard else None
    gen = setup.versions()
    ws_root = WORK / "ws"
    print("  building the workspace (ML-100k tables, EASE trained) …", flush=True)
    ws = load.build_workspace(ws_root)
    print(f"    ingest {ws['ingest_s']:.1f} s, rec_train {ws['train_s']:.1f} s "
          f"(fit {ws['fit_s']:.2f} s)", flush=True)  # fmt: skip
    users = ws["users"]
    served = [_serve("as-shipped", ws_root, users, args, driver, None)]
    if extra is not None:
        served.append(_serve("+httptools+uvloop", ws_root, users, args, driver, extra))
    for s in served:
        if s.exit_code not in (0, None):
            problems.append(f"oaklake serve ({s.label}) exited with {s.exit_code}: {s.server.log}")
    print("  where the time goes: one request's parts, in-process, server stopped …", flush=True)
    parts = load.breakdown(ws_root, served[0].server.key, users)

    main_run = served[0].run
    print()
    print(
        f"Load: GET /recommendations (user-personalization/EASE, numResults={load.NUM_RESULTS}, "
        f"a random one of {len(users)} users), X-API-Key, keep-alive; loadtest {gen['loadtest']} "
        f"on Node.js {gen['node']}, open loop at a constant rate; oaklake serve is one uvicorn "
        f"process; server and generator share {os.cpu_count()} cores"
    )
    header = ("server", "rate/s", "s", "sent", "answered", "errors", "achieved/s", "p50 ms",
              "p95 ms", "p99 ms", "max ms", "server CPU ms/req", "server core", "generator core",
              "clients",
              "load avg before -> after")  # fmt: skip
    rows = []
    for s in served:
        for p in s.probes:
            rows.append(_row(f"{s.label} (probe)", p))
        rows.append(_row(s.label, s.run))
    table(header, rows, set(range(1, 15)))
    r = main_run
    print(f"  as shipped: {r.in_flight_at_end} requests in flight at the end; idle, one request "
          f"at a time: p50 {served[0].idle['p50']:.2f} ms, p99 {served[0].idle['p99']:.2f} ms "
          f"(/health p50 {served[0].health['p50']:.2f} ms)")  # fmt: skip
    if r.errors:
        print(f"  errors: statuses {r.raw['statuses']}; {r.raw['errors']}")
    lat = r.latencies
    met = lat["p99"] is not None and lat["p99"] <= load.GOAL_P99_MS and r.errors == 0
    short = r.achieved_rate < 0.98 * args.rate
    print(f"goal: p99 <= {load.GOAL_P99_MS:g} ms with 0 errors -> {'met' if met else 'MISSED'} "
          f"(as shipped: p50 {fmt(lat['p50'], 2)} / p95 {fmt(lat['p95'], 2)} / p99 "
          f"{fmt(lat['p99'], 2)} ms, {r.errors} errors, {r.achieved_rate:.0f}/s answered of "
          f"{args.rate}/s{' — BELOW the target rate' if short else ''})")  # fmt: skip
    for s in served[1:]:
        x = s.run.latencies
        ok = x["p99"] is not None and x["p99"] <= load.GOAL_P99_MS and s.run.errors == 0
        verdict = "would meet" if ok else "would miss"
        print(f"      {s.label}: p99 {fmt(x['p99'], 2)} ms, {s.run.errors} errors, "
              f"{s.run.achieved_rate:.0f}/s -> {verdict} it")  # fmt: skip

    print()
    print("Where a request's time goes (in-process, server stopped, BLAS 1 thread, "
          f"{parts['calls']} random users; ms):")  # fmt: skip
    part_rows = [
        ("HTTP, idle server, one at a time: /recommendations", served[0].idle),
        ("HTTP, idle server, one at a time: /health", served[0].health),
        ("the app via ASGI (no uvicorn, no socket)", parts["asgi"]["recommendations"]),
        ("the app via ASGI: /health", parts["asgi"]["health"]),
        ("Runtime.recommend (the handler's work)", parts["recommend"]),
        ("Runtime.recommend, BLAS default threads", parts["recommend_blas_default"]),
        ("  EASE scores for one user (model.score_one)", parts["ease_score_one_user"]),
        ("JSON encoding of the answer", parts["json"]),
    ]
    table(("part", "p50", "p95", "p99", "mean", "CPU/call"), [
        (name, fmt(s["p50"]), fmt(s["p95"]), fmt(s["p99"]), fmt(s["mean"]),
         fmt(s.get("cpu_ms_per_call")))
        for name, s in part_rows
    ], {1, 2, 3, 4, 5})  # fmt: skip
    app_cpu = parts["asgi"]["recommendations"]["cpu_ms_per_call"]
    rec_cpu = parts["recommend"]["cpu_ms_per_call"]
    print(f"  per request: handler (Runtime.recommend) {rec_cpu:.2f} ms CPU + HTTP layer "
          f"{app_cpu - rec_cpu:.2f} ms = the app {app_cpu:.2f} ms; the rest of the server's CPU "
          f"per request is uvicorn, HTTP parsing, asyncio and sockets (one event loop: a server "
          f"process can use one core at most):")  # fmt: skip
    for s in served:
        for r in [*s.probes, s.run]:
            print(f"    {s.label} at {r.rate}/s: {r.server_cpu_ms:.2f} ms CPU per request, of "
                  f"which outside the app {r.server_cpu_ms - app_cpu:.2f} ms; server process at "
                  f"{r.server_core_share:.0%} of one core")  # fmt: skip
    for s in served:
        line = s.run.timeline()
        bad = [t for t in line if t["failed"] or t["p99"] is None or t["p99"] > load.GOAL_P99_MS]
        worst = sorted(line, key=lambda t: -(t["p99"] or 1e9))[:3]
        print(f"  {s.label}: {len(bad)} of {len(line)} one-second windows (by send time) had a "
              f"p99 > {load.GOAL_P99_MS:g} ms or a failure; worst: " + ", ".join(
                  f"t={t['second']}s " + (f"p99 {t['p99']:.0f} ms" if t["p99"] else "no answer")
                  for t in worst))  # fmt: skip
    print(f"  JSON encoding {parts['json']['cpu_ms_per_call']:.3f} ms "
          f"({parts['response_bytes_mean']} bytes); BLAS threads: recommend "
          f"{parts['recommend_blas_default']['p50']:.3f} ms p50 at default threads vs "
          f"{parts['recommend']['p50']:.3f} ms at 1 (EASE scoring is a sparse x dense product "
          f"in scipy, no BLAS call)")  # fmt: skip
    print("  Runtime.recommend's own time by function (cProfile, µs per call, profiler included):")
    for f in parts["profile"][:8]:
        print(f"    {f['own_us_per_request']:8.1f}  x{f['calls_per_request']:<6g} {f['function']}")

    payload["load"] = {
        "method": "oaklake serve (one uvicorn process, as shipped) on a fresh workspace with "
        "user-personalization (ease) trained on ML-100k; npm loadtest requestsPerSecond (open "
        "loop), keep-alive, X-API-Key, random known user per request; latency from the "
        "generator's timer tick to the end of the response; percentiles nearest-rank",
        "generator": gen,
        "workspace": {k: v for k, v in ws.items() if k != "users"},
        "goal": f"p99 <= {load.GOAL_P99_MS:g} ms with 0 errors",
        "goal_met": met,
        "below_target_rate": short,
        "servers": {
            s.label: {
                "loaded": s.loaded,
                "start_s": round(s.server.start_s, 2),
                "idle_sequential_ms": {"recommendations": s.idle, "health": s.health},
                "warmup": s.warm.as_dict() if s.warm else None,
                "probes": [p.as_dict() for p in s.probes],
                "run": s.run.as_dict(),
            }
            for s in served
        },
        "breakdown_ms": parts,
    }


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    load_start = os.getloadavg()
    started = time.perf_counter()
    print(f"Recommendations benchmark (MovieLens-100k); load average {load_start[0]:.1f} "
          f"{load_start[1]:.1f} {load_start[2]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    payload: dict[str, Any] = {"benchmark": "rec"}
    problems: list[str] = []
    if not args.skip_quality:
        _quality(payload)
        _user_attributes(payload)
    if not args.skip_training:
        _training(payload, args.repeat)
    if not args.skip_load:
        try:
            _load(payload, args, problems)
        except (RuntimeError, setup.SetupError, subprocess.SubprocessError) as e:
            problems.append(f"load test: {e}")
    load_end = os.getloadavg()
    print(f"\nload average at the end {load_end[0]:.1f} {load_end[1]:.1f} {load_end[2]:.1f}; "
          f"{time.perf_counter() - started:.0f} s in all")  # fmt: skip
    if problems:
        print("\n" + "!" * 78)
        for p in problems:
            print(f"!!! {p}")
    machine = report.machine()
    machine["load_average_start"] = [round(x, 2) for x in load_start]
    machine["load_average_end"] = [round(x, 2) for x in load_end]
    out = {
        "benchmark": "rec",
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "git": report.git_commit(),
        "versions": {**report.versions(), **setup.versions()},
        "machine": machine,
        **{k: v for k, v in payload.items() if k != "benchmark"},
        "problems": problems,
    }
    report.write_json(args.output, out)
    print(f"\nwrote {args.output}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
