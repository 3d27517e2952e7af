"""``oaklake rec …``: recommenders (Amazon Personalize's solutions and campaigns), over
``Lake.rec_*``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from oaklake.cli import fail, workspace_option
from oaklake.errors import InvalidInput


def _lake(workspace: Path | None) -> Any:
    from oaklake.app import connect

    return connect(workspace)


def _params(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``--param lambda=200 --param algorithm=ease``: numbers become numbers."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(
                f"a parameter is NAME=VALUE, got {pair!r}",
                code="REC_INVALID_PARAMS",
                hint="--param lambda=200",
            )
        text = value.strip()
        parsed: Any = text
        for cast in (int, float):
            try:
                parsed = cast(text)
                break
            except ValueError:
                continue
        if text.lower() in ("true", "false"):
            parsed = text.lower() == "true"
        out[key.strip()] = parsed
    return out


@click.group("rec")
def rec() -> None:
    """Recommendations: create, train, evaluate and query recommenders."""


@rec.command("create")
@click.argument("name")
@click.option(
    "--recipe",
    required=True,
    help="popularity-count, trending-now, sims, similar-items, user-personalization or "
    "personalized-ranking.",
)
@click.option(
    "--interactions", required=True, help="Table DB.T or a SELECT: USER_ID, ITEM_ID, TIMESTAMP."
)
@click.option("--users", default=None, help="Users dataset: USER_ID + attributes.")
@click.option("--items", default=None, help="Items dataset: ITEM_ID + attributes.")
@click.option("--event-types", default=None, help="Train on these EVENT_TYPEs (comma-separated).")
@click.option("--param", "params", multiple=True, help="Hyper-parameter NAME=VALUE (repeatable).")
@workspace_option
def create(
    name: str,
    recipe: str,
    interactions: str,
    users: str | None,
    items: str | None,
    event_types: str | None,
    params: tuple[str, ...],
    workspace: Path | None,
) -> None:
    """Create a recommender over datasets (validated now)."""
    try:
        types = [t.strip() for t in (event_types or "").split(",") if t.strip()] or None
        made = _lake(workspace).rec_create(
            name, recipe=recipe, interactions=interactions, users=users, items=items,
            event_types=types, params=_params(params),
        )  # fmt: skip
    except Exception as e:
        raise fail(e) from None
    click.echo(f"recommender {made.name} created (recipe {made.recipe}); train it: "
               f"oaklake rec train {made.name}")  # fmt: skip


@rec.command("train")
@click.argument("name")
@click.option("--param", "params", multiple=True, help="Override a hyper-parameter NAME=VALUE.")
@click.option("--no-evaluate", is_flag=True, help="Skip the offline metrics.")
@click.option(
    "--search", is_flag=True, help="First pick hyper-parameters on validation users (small grid)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the version as JSON.")
@workspace_option
def train(
    name: str,
    params: tuple[str, ...],
    no_evaluate: bool,
    search: bool,
    as_json: bool,
    workspace: Path | None,
) -> None:
    """Train a new version: model, metrics (with the popularity baseline) and metadata."""
    try:
        version = _lake(workspace).rec_train(
            name, params=_params(params), evaluate=not no_evaluate, search=search
        )
    except Exception as e:
        raise fail(e) from None
    if as_json:
        click.echo(json.dumps(version.to_dict(), sort_keys=True, default=str))
        return
    click.echo(
        f"{name} v{version.version} trained ({version.recipe}) in {version.seconds:.2f} s on "
        f"{version.stats.get('interactions')} interactions, {version.stats.get('users')} users, "
        f"{version.stats.get('items')} items"
    )
    found = version.stats.get("search")
    if found:
        click.echo(
            f"  search: {json.dumps(found['best'], sort_keys=True)} "
            f"(validation NDCG@100 {found['best_ndcg_at_100']:.4f} over "
            f"{len(found['candidates'])} candidates)"
        )
    write_metrics(version.metrics, version.baseline)


def write_metrics(metrics: dict[str, Any], baseline: dict[str, Any]) -> None:
    if not metrics:
        return
    from oaklake.recommend.evaluate import PZ_METRICS as PERSONALIZE_METRICS  # numpy: lazily

    click.echo(f"  {'metric':<46} {'model':>8} {'popularity':>11}")
    for key in [k for k in PERSONALIZE_METRICS if k in metrics] + sorted(
        k for k in metrics if k not in PERSONALIZE_METRICS
    ):
        value, base = metrics.get(key), baseline.get(key)
        click.echo(f"  {key:<46} {_num(value):>8} {_num(base):>11}")


def _num(value: Any) -> str:
    if isinstance(value, int | float):
        return f"{value:.4f}"
    if isinstance(value, list | tuple) and len(value) == 2:
        return f"{value[0]:.3f}±{value[1]:.3f}"
    return "-" if value is None else str(value)


@rec.command("list")
@click.option("--json", "as_json", is_flag=True)
@workspace_option
def list_(as_json: bool, workspace: Path | None) -> None:
    """The workspace's recommenders."""
    try:
        lake = _lake(workspace)
        recs = lake.rec_list()
        rows = []
        for r in recs:
            d = lake.rec_describe(r.name)
            latest = d["versions"][-1] if d["versions"] else None
            rows.append({"name": r.name, "recipe": r.recipe, "interactions": r.interactions,
                         "versions": len(d["versions"]),
                         "trained_at": latest["trained_at"] if latest else None})  # fmt: skip
    except Exception as e:
        raise fail(e) from None
    if as_json:
        click.echo(json.dumps(rows, sort_keys=True))
        return
    if not rows:
        click.echo("no recommenders yet: oaklake rec create NAME --recipe … --interactions DB.T")
        return
    for r in rows:
        click.echo(
            f"{r['name']:<24} {r['recipe']:<22} {r['interactions']:<28} "
            f"versions: {r['versions']}  last trained: {r['trained_at'] or '-'}"
        )


@rec.command("describe")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@workspace_option
def describe(name: str, as_json: bool, workspace: Path | None) -> None:
    """A recommender, its datasets and every version with its metrics."""
    try:
        d = _lake(workspace).rec_describe(name)
    except Exception as e:
        raise fail(e) from None
    if as_json:
        click.echo(json.dumps(d, sort_keys=True, default=str))
        return
    click.echo(f"{d['name']}: recipe {d['recipe']}")
    for k in ("interactions", "users", "items"):
        if d[k]:
            click.echo(f"  {k}: {d[k]}")
    if d["event_types"]:
        click.echo(f"  event types: {', '.join(d['event_types'])}")
    if d["params"]:
        click.echo(f"  params: {json.dumps(d['params'], sort_keys=True)}")
    for v in d["versions"]:
        click.echo(f"  v{v['version']} trained {v['trained_at']} in {v['seconds']} s, "
                   f"params {json.dumps(v['params'], sort_keys=True)}")  # fmt: skip
        write_metrics(v["metrics"], v["baseline"])


@rec.command("delete")
@click.argument("name")
@workspace_option
def delete(name: str, workspace: Path | None) -> None:
    """Delete a recommender, its versions and model files."""
    try:
        _lake(workspace).rec_delete(name)
    except Exception as e:
        raise fail(e) from None
    click.echo(f"recommender {name} deleted")


@rec.command("evaluate")
@click.argument("name")
@click.option("--protocol", default="personalize", show_default=True,
              type=click.Choice(["personalize", "strong-generalization"]))  # fmt: skip
@click.option("--folds", type=int, default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@workspace_option
def evaluate(name: str, protocol: str, folds: int, as_json: bool, workspace: Path | None) -> None:
    """Offline evaluation of the recommender's recipe on its current data."""
    try:
        out = _lake(workspace).rec_evaluate(name, protocol=protocol, folds=folds)
    except Exception as e:
        raise fail(e) from None
    if as_json:
        click.echo(json.dumps(out, sort_keys=True, default=str))
        return
    click.echo(f"{name} ({out['recipe']}), protocol {protocol}, {out['seconds']} s")
    write_metrics(out.get("metrics", {}), out.get("baseline", {}))


@rec.command("recommend")
@click.argument("name")
@click.option("--user", "user_id", default=None, help="Recommendations for this USER_ID.")
@click.option("--item", "item_id", default=None, help="Related items for this ITEM_ID.")
@click.option("--num-results", "-n", type=int, default=10, show_default=True)
@click.option("--filter", "filter_", default=None, help="A filter expression.")
@click.option("--filter-values", default=None, help='JSON: {"CATEGORY": "\\"toys\\""}')
@click.option(
    "--promotion",
    default=None,
    help='JSON: {"name": "p", "percentPromotedItems": 20, "filter": "INCLUDE ItemID WHERE …"}',
)
@click.option("--json", "as_json", is_flag=True)
@workspace_option
def recommend(
    name: str,
    user_id: str | None,
    item_id: str | None,
    num_results: int,
    filter_: str | None,
    filter_values: str | None,
    promotion: str | None,
    as_json: bool,
    workspace: Path | None,
) -> None:
    """Ask a recommender once (what GET /recommendations answers)."""
    try:
        out = _lake(workspace).rec_recommend(
            name, user_id=user_id, item_id=item_id, num_results=num_results, filter=filter_,
            filter_values=filter_values, promotions=promotion,
        )  # fmt: skip
    except Exception as e:
        raise fail(e) from None
    if as_json:
        click.echo(json.dumps(out, sort_keys=True))
        return
    for rank, item in enumerate(out["itemList"], start=1):
        score = "-" if item["score"] is None else f"{item['score']:.4f}"
        why = "; ".join(item["reasons"])
        if "promotionName" in item:
            why += f" [{item['promotionName']}]"
        click.echo(f"{rank:>3}. {item['itemId']:<20} {score:>10}  {why}")


@rec.command("batch")
@click.argument("name")
@click.option("--input", "input_", default=None, help="JSON Lines input (userId / itemId lines).")
@click.option("--all-users", is_flag=True, help="Every user of the training data.")
@click.option("--output", required=True, help="FILE.jsonl, or a table DB.T (overwritten).")
@click.option("--num-results", "-n", type=int, default=25, show_default=True)
@click.option("--filter", "filter_", default=None, help="A filter expression.")
@workspace_option
def batch(
    name: str,
    input_: str | None,
    all_users: bool,
    output: str,
    num_results: int,
    filter_: str | None,
    workspace: Path | None,
) -> None:
    """A batch inference job in Personalize's JSON Lines shapes."""
    try:
        out = _lake(workspace).rec_batch(
            name, input=input_, all_users=all_users, output=output, num_results=num_results,
            filter=filter_,
        )  # fmt: skip
    except Exception as e:
        raise fail(e) from None
    _job_done(out)


@rec.command("segment")
@click.argument("name")
@click.option(
    "--input",
    "input_",
    required=True,
    help='JSON Lines: {"itemId": "…"} or {"itemAttributes": "ITEMS.X = \\"v\\""} per line.',
)
@click.option("--output", required=True, help="FILE.jsonl, or a table DB.T (overwritten).")
@click.option("--num-users", "-n", type=int, default=25, show_default=True)
@workspace_option
def segment(name: str, input_: str, output: str, num_users: int, workspace: Path | None) -> None:
    """A batch segment job: the users most likely to interact with each item or attribute."""
    try:
        out = _lake(workspace).rec_segment(name, input=input_, output=output, num_users=num_users)
    except Exception as e:
        raise fail(e) from None
    _job_done(out)


def _job_done(out: Any) -> None:
    """A batch job's summary line; exit 1 when some input lines failed."""
    click.echo(
        f"{out.lines} input line(s), {out.errors} error(s), {out.rows} row(s) -> {out.output}"
    )
    if out.errors:
        sys.exit(1)
