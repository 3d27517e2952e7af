"""`oaklake dq …` end to end: exit codes 0/1/2, the JSON contract, attach, history, annotate."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

import oaklake
from oaklake.app import Lake
from oaklake.quality.parse import parse_ruleset
from oaklake.quality.store import SCHEMA

RULES = 'Rules = [ RowCount > 3, IsComplete "email" ]'
PASSING = 'Rules = [ RowCount > 3, IsComplete "id" ]'

# The `dq run --format json` contract (docs/dqdl.md): keys may be added, never removed.
RESULT_KEYS = {
    "score",
    "rules",
    "analyzers",
    "observations",
    "rows_processed",
    "dataset",
    "context",
    "run_id",
    "started_at",
    "finished_at",
}
RULE_KEYS = {"rule", "outcome", "failure_reason", "metrics", "labels", "evaluated_rule"}
ANALYZER_KEYS = {"analyzer", "metrics"}
OBSERVATION_KEYS = {"description", "metric", "actual", "expected", "lower", "upper"}


def make_orders(lake: Lake) -> None:
    lake.sql("CREATE TABLE orders (id int, email string)")
    lake.sql("INSERT INTO orders VALUES (1, 'a@x'), (2, 'b@x'), (3, NULL), (4, 'd@x'), (5, 'e@x')")


@pytest.fixture
def orders(lake: Lake) -> str:
    make_orders(lake)
    return "default.orders"


@pytest.fixture
def rules_file(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "checks.dqdl") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


def runs_recorded(root: Path) -> int:
    with oaklake.connect(root) as lake:
        if not lake.catalog.schema_exists(SCHEMA):
            return 0
        return int(lake.sql(f"SELECT count(*) FROM {SCHEMA}.dq_runs").scalar())


# ---------------------------------------------------------------------------------------------
# Exit codes and output.


def test_all_rules_pass_exit_0(cli: Any, ws: Path, orders: str, rules_file: Any):
    res = cli("dq", "run", "--rules", rules_file(PASSING), "--table", "orders", "-w", ws)
    assert res.exit_code == 0, res.stderr
    assert "RowCount > 3" in res.stdout and "Passed" in res.stdout
    assert re.search(r"score 1\.00 \(2 of 2 rules passed\) · default\.orders · 5 rows", res.stdout)


def test_a_failed_rule_exit_1_with_a_readable_table(
    cli: Any, ws: Path, orders: str, rules_file: Any
):
    res = cli("dq", "run", "--rules", rules_file(RULES), "--table", "orders", "-w", ws)
    assert res.exit_code == 1, res.stderr
    assert res.stderr == ""
    header = next(line for line in res.stdout.splitlines() if "outcome" in line)
    assert "rule" in header and "reason" in header
    failed = next(line for line in res.stdout.splitlines() if "IsComplete" in line)
    assert "Failed" in failed
    assert "score 0.50 (1 of 2 rules passed)" in res.stdout


def test_json_output_is_exactly_the_result_contract(
    cli: Any, ws: Path, orders: str, rules_file: Any
):
    text = RULES + '\nAnalyzers = [ RowCount, Completeness "email" ]'
    res = cli("dq", "run", "-r", rules_file(text), "-t", "orders", "--format", "json", "-w", ws)
    assert res.exit_code == 1
    lines = res.stdout.splitlines()
    assert len(lines) == 1  # one JSON object, nothing else on stdout
    out = json.loads(lines[0])
    assert set(out) >= RESULT_KEYS, RESULT_KEYS - set(out)
    assert out["score"] == 0.5 and isinstance(out["score"], float)
    assert out["rows_processed"] == 5 and out["dataset"] == "default.orders"
    assert out["context"] == "default"
    for rule in out["rules"]:
        assert set(rule) >= RULE_KEYS, RULE_KEYS - set(rule)
        assert rule["outcome"] in ("Passed", "Failed", "Error")
        assert all(isinstance(v, float) for v in rule["metrics"].values())
    assert [(r["rule"], r["outcome"]) for r in out["rules"]] == [
        ("RowCount > 3", "Passed"),
        ('IsComplete "email"', "Failed"),
    ]
    assert out["rules"][0]["metrics"] == {"Dataset.*.RowCount": 5.0}
    assert out["rules"][1]["failure_reason"]
    for analyzer in out["analyzers"]:
        assert set(analyzer) >= ANALYZER_KEYS
    assert [a["analyzer"] for a in out["analyzers"]] == ["RowCount", 'Completeness "email"']
    assert out["analyzers"][1]["metrics"] == {"Column.email.Completeness": 0.8}
    assert out["observations"] == []
    # The run id printed is the one recorded.
    with oaklake.connect(ws) as lake:
        assert lake.sql(f"SELECT run_id FROM {SCHEMA}.dq_runs").scalar() == out["run_id"]


def test_json_observations_carry_their_keys(
    cli: Any, ws: Path, lake: Lake, orders: str, rules_file: Any
):
    path = rules_file('Rules = [ DetectAnomalies "RowCount" ]')
    for _ in range(3):
        assert cli("dq", "run", "-r", path, "-t", "orders", "-w", ws).exit_code == 0
    res = cli("dq", "run", "-r", path, "-t", "orders", "--format", "json", "-w", ws)
    observations = json.loads(res.stdout)["observations"]
    assert len(observations) == 1
    assert set(observations[0]) >= OBSERVATION_KEYS
    assert observations[0]["actual"] == 5.0


def test_file_and_sql_datasets(cli: Any, ws: Path, orders: str, rules_file: Any, tmp_path: Path):
    data = tmp_path / "data.csv"
    data.write_text("id,email\n1,a\n2,b\n3,c\n4,d\n", encoding="utf-8")
    rules = rules_file(PASSING)
    assert cli("dq", "run", "-r", rules, "--file", data, "-w", ws).exit_code == 0
    res = cli(
        "dq",
        "run",
        "-r",
        rules,
        "--sql",
        "SELECT * FROM orders WHERE id < 3",
        "-w",
        ws,
        "--format",
        "json",
    )
    assert res.exit_code == 1 and json.loads(res.stdout)["rows_processed"] == 2


def test_row_level_output(cli: Any, ws: Path, orders: str, rules_file: Any, tmp_path: Path):
    out = tmp_path / "rows.jsonl"
    res = cli("dq", "run", "-r", rules_file(RULES), "-t", "orders", "--row-level", out, "-w", ws)
    assert res.exit_code == 1
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["DataQualityEvaluationResult"] for r in rows) == ["Failed"] + ["Passed"] * 4


def test_exit_codes_from_a_real_process(run: Any, ws: Path, orders: str, rules_file: Any):
    bad = run("dq", "run", "-r", rules_file(RULES), "-t", "orders", "-w", ws)
    good = run("dq", "run", "-r", rules_file(PASSING, "ok.dqdl"), "-t", "orders", "-w", ws)
    wrong = run("dq", "run", "-r", rules_file("Rules = [", "x.dqdl"), "-t", "orders", "-w", ws)
    assert (bad.returncode, good.returncode, wrong.returncode) == (1, 0, 2)


# ---------------------------------------------------------------------------------------------
# Bad input: a clear error, exit 2, nothing recorded.


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One workspace for the failing commands below (none of them may change it)."""
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("OAKLAKE_"):
                mp.delenv(key)
        root = tmp_path_factory.mktemp("dq") / "ws"
        with oaklake.init(root) as lake:
            make_orders(lake)
        (root / "ok.dqdl").write_text(RULES, encoding="utf-8")
        (root / "broken.dqdl").write_text("Rules = [ RowCount > ]", encoding="utf-8")
        (root / "data.csv").write_text("id\n1\n", encoding="utf-8")
    yield root


BAD = [
    (["--rules", "{ws}/missing.dqdl", "-t", "orders"], "FILE_NOT_FOUND", "missing.dqdl"),
    (["--rules", "{ws}/broken.dqdl", "-t", "orders"], "DQDL_SYNTAX_ERROR", "line 1"),
    (["--rules", "{ws}/ok.dqdl", "-t", "nope"], "TABLE_NOT_FOUND", "nope"),
    (
        ["--rules", "{ws}/ok.dqdl", "-t", "orders", "--file", "{ws}/data.csv"],
        "INVALID_INPUT",
        "table and file",
    ),
    (["--rules", "{ws}/ok.dqdl"], "INVALID_INPUT", "exactly one dataset"),
    (
        ["--rules", "{ws}/ok.dqdl", "-t", "orders", "--ref", "customers"],
        "INVALID_INPUT",
        "NAME=DB.TABLE",
    ),
    (
        ["--rules", "{ws}/ok.dqdl", "-t", "orders", "--ref", "c=default.nope"],
        "TABLE_NOT_FOUND",
        "nope",
    ),
    (["--rules", "{ws}/ok.dqdl", "-t", "orders", "--format", "yaml"], "INVALID_INPUT", "yaml"),
    (["--rules", "{ws}/ok.dqdl", "-t", "orders", "--composite", "rows"], "INVALID_INPUT", "rows"),
    (["--rules", "{ws}/ok.dqdl", "-t", "orders", "--version", "x"], "INVALID_INPUT", "snapshot id"),
    (
        ["--rules", "{ws}/ok.dqdl", "-t", "orders", "--row-level", "{ws}/no/dir/r.csv"],
        "FILE_NOT_FOUND",
        "no folder",
    ),
    (["-t", "orders"], "INVALID_INPUT", "no attached ruleset"),
    (["--rules", "{ws}/ok.dqdl", "-t", "orders", "--bogus"], "INVALID_USAGE", "--bogus"),
]


@pytest.mark.parametrize(("args", "code", "fragment"), BAD)
def test_bad_input_exit_2_and_nothing_recorded(
    cli: Any, shared: Path, args: list[str], code: str, fragment: str
):
    res = cli("dq", "run", *[a.format(ws=shared) for a in args], "-w", shared)
    assert res.exit_code == 2, (res.exit_code, res.stdout, res.stderr)
    assert res.stdout == ""
    first = res.stderr.splitlines()[0]
    assert first.startswith(f"{code}: "), res.stderr
    assert fragment in res.stderr
    assert "Traceback" not in res.stderr
    assert runs_recorded(shared) == 0


def assert_exit_2(res: Result, code: str) -> None:
    assert res.exit_code == 2, (res.stdout, res.stderr)
    assert res.stderr.startswith(f"{code}: "), res.stderr


def test_other_commands_refuse_bad_input(cli: Any, shared: Path):
    assert_exit_2(
        cli("dq", "attach", "orders", shared / "broken.dqdl", "-w", shared), "DQDL_SYNTAX_ERROR"
    )
    assert_exit_2(cli("dq", "attach", "nope", shared / "ok.dqdl", "-w", shared), "TABLE_NOT_FOUND")
    assert_exit_2(
        cli("dq", "attach", "orders", shared / "missing.dqdl", "-w", shared), "FILE_NOT_FOUND"
    )
    assert_exit_2(cli("dq", "history", "nope", "-w", shared), "TABLE_NOT_FOUND")
    assert_exit_2(cli("dq", "ruleset", "orders", "-w", shared), "NOT_FOUND")
    assert_exit_2(cli("dq", "recommend", "-w", shared), "INVALID_INPUT")
    assert_exit_2(
        cli("dq", "annotate", "orders", "Dataset.*.RowCount", "--run-id", "x", "-w", shared),
        "INVALID_INPUT",
    )  # neither --include nor --exclude
    assert_exit_2(
        cli(
            "dq",
            "annotate",
            "orders",
            "Dataset.*.RowCount",
            "--at",
            "yesterday",
            "--exclude",
            "-w",
            shared,
        ),
        "INVALID_INPUT",
    )
    assert runs_recorded(shared) == 0


# ---------------------------------------------------------------------------------------------
# attach, ruleset, history, annotate, recommend.


def test_attach_then_run_with_the_attached_ruleset(
    cli: Any, ws: Path, orders: str, rules_file: Any
):
    res = cli("dq", "attach", "orders", rules_file(PASSING), "-w", ws)
    assert res.exit_code == 0, res.stderr
    assert res.stdout.strip() == "ruleset attached to default.orders: 2 rules, 0 analyzers"
    assert cli("dq", "ruleset", "default.orders", "-w", ws).stdout.strip() == PASSING
    res = cli("dq", "run", "-t", "orders", "--format", "json", "-w", ws)
    assert res.exit_code == 0
    assert [r["rule"] for r in json.loads(res.stdout)["rules"]] == [
        "RowCount > 3",
        'IsComplete "id"',
    ]


def test_history_lists_runs_newest_first(cli: Any, ws: Path, orders: str, rules_file: Any):
    assert cli("dq", "history", "orders", "-w", ws).stdout.strip() == (
        "no quality runs of default.orders yet"
    )
    assert cli("dq", "history", "orders", "--format", "json", "-w", ws).stdout.strip() == "[]"
    ids = []
    for text in (PASSING, RULES):
        res = cli("dq", "run", "-r", rules_file(text), "-t", "orders", "--format", "json", "-w", ws)
        ids.append(json.loads(res.stdout)["run_id"])
    res = cli("dq", "history", "orders", "--format", "json", "-w", ws)
    assert res.exit_code == 0
    rows = json.loads(res.stdout)
    assert [r["run_id"] for r in rows] == ids[::-1]
    assert [(r["score"], r["rules_failed"]) for r in rows] == [(0.5, 1), (1.0, 0)]
    table = cli("dq", "history", "default.orders", "--limit", "1", "-w", ws)
    assert ids[1] in table.stdout and ids[0] not in table.stdout
    assert "0.50" in table.stdout and "1/2" in table.stdout
    csv = cli("dq", "history", "orders", "--format", "csv", "-w", ws).stdout.splitlines()
    assert csv[0].startswith("run_id,context,started_at,finished_at,score,") and len(csv) == 3


def test_annotate_excludes_a_value(cli: Any, ws: Path, orders: str, rules_file: Any):
    res = cli("dq", "run", "-r", rules_file(RULES), "-t", "orders", "--format", "json", "-w", ws)
    run_id = json.loads(res.stdout)["run_id"]
    res = cli(
        "dq", "annotate", "orders", "Dataset.*.RowCount", "--run-id", run_id, "--exclude", "-w", ws
    )
    assert res.exit_code == 0, res.stderr
    assert res.stdout.strip() == "1 value of Dataset.*.RowCount annotated EXCLUDE"
    with oaklake.connect(ws) as lake:
        assert lake.sql(f"SELECT run_id, inclusion FROM {SCHEMA}.dq_annotations").rows == [
            (run_id, "EXCLUDE")
        ]
    res = cli(
        "dq", "annotate", "orders", "Dataset.*.RowCont", "--run-id", run_id, "--exclude", "-w", ws
    )
    assert_exit_2(res, "NOT_FOUND")
    assert "did you mean 'Dataset.*.RowCount'" in res.stderr


def test_recommend_prints_a_ruleset_that_passes_on_its_own_data(
    cli: Any, ws: Path, orders: str, tmp_path: Path
):
    res = cli("dq", "recommend", "--table", "orders", "-w", ws)
    assert res.exit_code == 0, res.stderr
    parse_ruleset(res.stdout)
    out = tmp_path / "recommended.dqdl"
    res = cli("dq", "recommend", "-t", "orders", "-o", out, "-w", ws)
    assert res.exit_code == 0 and res.stdout == ""
    assert f"ruleset written to {out}" in res.stderr
    assert cli("dq", "run", "-r", out, "-t", "orders", "-w", ws).exit_code == 0


# ---------------------------------------------------------------------------------------------
# Notifications from the command line.


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.events.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.events = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_failures_are_announced_unless_no_notify(
    cli: Any, ws: Path, orders: str, rules_file: Any, hook: Any
):
    with (ws / "oaklake.toml").open("a", encoding="utf-8") as f:
        f.write(
            f'\n[notify]\nretries = 0\n\n[[notify.sinks]]\ntype = "webhook"\n'
            f'url = "http://127.0.0.1:{hook.server_port}/hook"\n'
        )
    rules = rules_file(RULES)
    assert cli("dq", "run", "-r", rules, "-t", "orders", "--no-notify", "-w", ws).exit_code == 1
    assert hook.events == []
    assert (
        cli("dq", "run", "-r", rules_file(PASSING, "ok.dqdl"), "-t", "orders", "-w", ws).exit_code
        == 0
    )
    assert hook.events == []
    assert cli("dq", "run", "-r", rules, "-t", "orders", "-w", ws).exit_code == 1
    assert [e["kind"] for e in hook.events] == ["quality.failed"]
    assert hook.events[0]["title"] == "default.orders: 1 of 2 rules failed"


def test_every_dq_command_and_json_key_is_documented():
    from oaklake.cli.dq import dq

    page = (Path(__file__).resolve().parents[2] / "docs" / "dqdl.md").read_text("utf-8")
    for name in dq.commands:
        assert f"oaklake dq {name}" in page, name
    for key in RESULT_KEYS | RULE_KEYS | ANALYZER_KEYS | OBSERVATION_KEYS:
        assert f'"{key}"' in page, key
