"""A failed gate is announced to the workspace's [notify] sinks, and what it leaves behind.

The sinks are real servers on 127.0.0.1 (the HTTP receiver and the aiosmtpd server of
tests/notify), configured in the workspace's oaklake.toml exactly as a user writes them. Notifier
sends are synchronous, so once an ingest returns every delivery has been made (or given up).
The second half checks the quarantine folder itself: byte-identical copies of the batch,
report.json and the row-level outcomes, and ``--on-fail quarantine-rows``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import oaklake
from notify.test_notify import (  # noqa: F401 - fixtures, used by name
    HookServer,
    Inbox,
    _no_proxies,
    hook,
    refused_port,
    smtp,
)
from oaklake.app import Lake
from oaklake.cli import app
from oaklake.config import CONFIG_FILE

TABLE = "default.orders"
GOOD = "id,name,amount\n1,ann,10.5\n2,bob,20.0\n3,cy,30.25\n"
# Row 2 has no name, row 3 a negative amount: two row-level rules fail, on different rows.
BAD = "id,name,amount\n1,ann,10.5\n2,,20.0\n3,cy,-1.0\n4,dee,40.0\n"
RULES = 'Rules = [ IsComplete "name", ColumnValues "amount" >= 0, RowCount > 0 ]'


# -- workspace ---------------------------------------------------------------------------------
def sinks_toml(sinks: list[dict[str, Any]], retries: int = 1) -> str:
    """A [notify] section (TOML) for ``sinks``; short timeouts, a tiny back-off."""
    lines = ["[notify]", f"retries = {retries}", "backoff_seconds = 0.01", "timeout_seconds = 3"]
    for sink in sinks:
        lines.append("")
        lines.append("[[notify.sinks]]")
        for key, value in sink.items():
            lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def webhook_sink(server: HookServer, **extra: Any) -> dict[str, Any]:
    return {"type": "webhook", "name": "ops", "url": server.url(), **extra}


def email_sink(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "email",
        "name": "team",
        "host": "127.0.0.1",
        "port": port,
        "from": "oaklake@example.com",
        "to": ["data-team@example.com"],
        **extra,
    }


def configure(lake: Lake, sinks: list[dict[str, Any]], retries: int = 1) -> Lake:
    """Append a [notify] section to the workspace's oaklake.toml and open it afresh."""
    root = lake.settings.root
    with (root / CONFIG_FILE).open("a", encoding="utf-8") as handle:
        handle.write("\n" + sinks_toml(sinks, retries))
    return oaklake.connect(root)


@pytest.fixture
def both(lake: Lake, hook: HookServer, smtp: tuple[Inbox, int]) -> Iterator[Lake]:  # noqa: F811
    """The workspace with a JSON webhook and an e-mail sink configured."""
    _, port = smtp
    configured = configure(lake, [webhook_sink(hook), email_sink(port)])
    yield configured
    configured.close()


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    return write(tmp_path / "rules", "gate.dqdl", RULES)


def quarantine_folders(lake: Lake, table: str = TABLE) -> list[Path]:
    base = lake.settings.root / "quarantine" / table
    return sorted(p for p in base.iterdir() if p.is_dir()) if base.exists() else []


def count(lake: Lake, table: str = TABLE) -> int:
    return int(lake.sql(f"SELECT count(*) FROM {table}").scalar())


# -- the announcement --------------------------------------------------------------------------
def test_a_failed_gate_sends_one_ingest_quarantined_event_to_each_sink(
    both: Lake,
    hook: HookServer,  # noqa: F811
    smtp: tuple[Inbox, int],  # noqa: F811
    tmp_path: Path,
    rules: Path,
) -> None:
    inbox, _ = smtp
    path = write(tmp_path / "in", "orders.csv", BAD)
    result = both.ingest(path, TABLE, rules=rules)
    assert result.status == "quarantined"
    assert result.quarantine is not None
    failed = ['IsComplete "name"', 'ColumnValues "amount" >= 0']
    assert sorted(result.failed_rules()) == sorted(failed)

    # The webhook: exactly one POST, of kind ingest.quarantined, naming table, rules, folder.
    [request] = hook.requests
    body = request.json
    assert body["source"] == "oaklake"
    assert body["kind"] == "ingest.quarantined"
    assert body["dataset"] == TABLE
    assert TABLE in body["title"]
    assert body["details"]["table"] == TABLE
    assert body["details"]["status"] == "quarantined"
    assert body["details"]["quarantine"] == result.quarantine
    assert sorted(body["details"]["quality"]["failed_rules"]) == sorted(failed)
    assert body["details"]["files"] == [str(path)]
    for rule in failed:
        assert rule in body["summary"]
    assert result.quarantine in body["summary"]
    assert body["workspace"] == str(both.settings.root)

    # The e-mail: exactly one message, the same event.
    [mail] = inbox.messages
    assert mail.rcpt_tos == ["data-team@example.com"]
    message = mail.message
    assert message["X-Oaklake-Event"] == "ingest.quarantined"
    assert TABLE in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert result.quarantine in text
    assert 'IsComplete "name"' in text
    [attachment] = list(message.iter_attachments())
    details = json.loads(attachment.get_content())
    assert details["quarantine"] == result.quarantine
    assert sorted(details["quality"]["failed_rules"]) == sorted(failed)
    # Both sinks got the same event.
    assert body["id"] in text


def test_a_passing_ingest_sends_nothing(
    both: Lake,
    hook: HookServer,  # noqa: F811
    smtp: tuple[Inbox, int],  # noqa: F811
    tmp_path: Path,
    rules: Path,
) -> None:
    inbox, _ = smtp
    result = both.ingest(write(tmp_path / "in", "orders.csv", GOOD), TABLE, rules=rules)
    assert result.status == "loaded"
    assert result.rows_loaded == 3
    # Skipped (already in the ledger) is not news either.
    again = both.ingest(tmp_path / "in" / "orders.csv", TABLE, rules=rules)
    assert again.status == "skipped"
    assert hook.requests == []
    assert inbox.messages == []
    assert quarantine_folders(both) == []


def test_notify_false_quarantines_but_sends_nothing(
    both: Lake,
    hook: HookServer,  # noqa: F811
    smtp: tuple[Inbox, int],  # noqa: F811
    tmp_path: Path,
    rules: Path,
) -> None:
    inbox, _ = smtp
    result = both.ingest(
        write(tmp_path / "in", "orders.csv", BAD), TABLE, rules=rules, notify=False
    )
    assert result.status == "quarantined"
    assert [str(p) for p in quarantine_folders(both)] == [result.quarantine]
    assert hook.requests == []
    assert inbox.messages == []


def test_cli_no_notify_sends_nothing_and_without_it_the_sinks_hear(
    both: Lake,
    hook: HookServer,  # noqa: F811
    smtp: tuple[Inbox, int],  # noqa: F811
    tmp_path: Path,
    rules: Path,
) -> None:
    inbox, _ = smtp
    path = write(tmp_path / "in", "orders.csv", BAD)
    runner = CliRunner()
    args = ["ingest", str(path), "--table", TABLE, "--rules", str(rules)]
    args += ["-w", str(both.settings.root)]
    quiet = runner.invoke(app, [*args, "--no-notify"], prog_name="oaklake")
    assert quiet.exit_code == 1, quiet.output
    assert "QUARANTINED" in quiet.stdout
    assert hook.requests == []
    assert inbox.messages == []
    assert len(quarantine_folders(both)) == 1
    # The same command without --no-notify: now each sink hears once.
    loud = runner.invoke(app, args, prog_name="oaklake")
    assert loud.exit_code == 1, loud.output
    assert [r.json["kind"] for r in hook.requests] == ["ingest.quarantined"]
    assert len(inbox.messages) == 1
    assert len(quarantine_folders(both)) == 2


def test_sinks_filtered_to_other_kinds_do_not_hear_of_ingest(
    lake: Lake,
    hook: HookServer,  # noqa: F811
    tmp_path: Path,
    rules: Path,
) -> None:
    sinks = [
        {"type": "webhook", "name": "quality", "url": hook.url("/quality"),
         "events": ["quality.*"]},
        {"type": "webhook", "name": "ingest", "url": hook.url("/ingest"),
         "events": ["ingest.*"]},
    ]  # fmt: skip
    with configure(lake, sinks) as configured:
        result = configured.ingest(write(tmp_path / "in", "orders.csv", BAD), TABLE, rules=rules)
    assert result.status == "quarantined"
    assert [(r.path, r.json["kind"]) for r in hook.requests] == [("/ingest", "ingest.quarantined")]


def test_a_broken_sink_does_not_change_the_outcome(
    lake: Lake,
    hook: HookServer,  # noqa: F811
    refused_port: int,  # noqa: F811
    tmp_path: Path,
    rules: Path,
) -> None:
    # A webhook nobody listens to, an SMTP server that is not there, then a working webhook.
    sinks = [
        {"type": "webhook", "name": "down", "url": f"http://127.0.0.1:{refused_port}/hook"},
        email_sink(refused_port, name="mail-down"),
        webhook_sink(hook, name="up"),
    ]
    configure(lake, sinks).close()
    path = write(tmp_path / "in", "orders.csv", BAD)
    result = CliRunner().invoke(
        app,
        [
            "ingest",
            str(path),
            "--table",
            TABLE,
            "--rules",
            str(rules),
            "-w",
            str(lake.settings.root),
        ],
        prog_name="oaklake",
    )
    assert result.exit_code == 1, result.output
    assert "QUARANTINED" in result.stdout
    assert "Traceback" not in result.output
    [folder] = quarantine_folders(lake)
    assert (folder / "files" / "orders.csv").read_bytes() == path.read_bytes()
    assert (folder / "report.json").is_file()
    # The working sink after the broken ones still got the event.
    assert [r.json["kind"] for r in hook.requests] == ["ingest.quarantined"]
    assert not lake.catalog.table_exists("default", "orders")


def test_a_partial_load_is_announced_with_its_counts(
    both: Lake,
    hook: HookServer,  # noqa: F811
    smtp: tuple[Inbox, int],  # noqa: F811
    tmp_path: Path,
    rules: Path,
) -> None:
    inbox, _ = smtp
    path = write(tmp_path / "in", "orders.csv", BAD)
    result = both.ingest(path, TABLE, rules=rules, on_fail="quarantine-rows")
    assert result.status == "partial"
    [request] = hook.requests
    body = request.json
    assert body["kind"] == "ingest.quarantined"
    assert body["details"]["status"] == "partial"
    assert body["details"]["rows_loaded"] == 2
    assert body["details"]["rows_rejected"] == 2
    assert body["details"]["quarantine"] == result.quarantine
    assert len(inbox.messages) == 1


# -- the quarantine folder ---------------------------------------------------------------------
def test_the_quarantine_folder_holds_copies_report_and_row_outcomes(
    lake: Lake, tmp_path: Path, rules: Path
) -> None:
    lake.sql("CREATE TABLE orders (id bigint, name string, amount double)")
    before = lake.sql('SELECT count(*) FROM "orders$snapshots"').scalar()
    first = write(tmp_path / "in", "orders.csv", BAD)
    # A second file of the batch, gzip-compressed, with the same name in another folder.
    second = tmp_path / "in2" / "orders.csv.gz"
    second.parent.mkdir()
    second.write_bytes(gzip.compress(b"id,name,amount\n5,eve,50.0\n"))
    twin = write(tmp_path / "in3", "orders.csv", "id,name,amount\n6,fay,60.0\n")
    result = lake.ingest([first, second, twin], TABLE, rules=rules)

    assert result.status == "quarantined"
    assert result.exit_code == 1
    assert result.rows_read == 6
    assert result.rows_loaded == 0
    assert count(lake) == 0
    assert lake.sql('SELECT count(*) FROM "orders$snapshots"').scalar() == before
    folder = Path(result.quarantine or "")
    assert folder.parent == lake.settings.root / "quarantine" / TABLE
    assert [p.name for p in quarantine_folders(lake)] == [folder.name]
    assert not any(p.name.endswith(".partial") for p in folder.parent.iterdir())

    # files/: byte-identical copies of every file of the batch (the originals stay put).
    copies = sorted((folder / "files").iterdir())
    assert len(copies) == 3
    originals = sorted(p.read_bytes() for p in (first, second, twin))
    assert sorted(p.read_bytes() for p in copies) == originals
    assert first.is_file() and second.is_file() and twin.is_file()

    # report.json: what was read and which rules failed.
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["ingest"]["rows_read"] == 6
    assert report["ingest"]["table"] == TABLE
    assert sorted(report["ingest"]["files"]) == sorted(str(p) for p in (first, second, twin))
    outcomes = {r["rule"]: r["outcome"] for r in report["quality"]["rules"]}
    assert outcomes == {
        'IsComplete "name"': "Failed",
        'ColumnValues "amount" >= 0': "Failed",
        "RowCount > 0": "Passed",
    }
    assert report["quality"]["rows_processed"] == 6

    # rows.parquet: every row with Glue's row-level outcome columns.
    rows = pq.read_table(folder / "rows.parquet")
    for column in ("DataQualityRulesPass", "DataQualityRulesFail", "DataQualityRulesSkip",
                   "DataQualityEvaluationResult"):  # fmt: skip
        assert column in rows.column_names
    by_id = {r["id"]: r for r in rows.to_pylist()}
    assert sorted(by_id) == [1, 2, 3, 4, 5, 6]
    assert by_id[2]["DataQualityRulesFail"] == ['IsComplete "name"']
    assert by_id[3]["DataQualityRulesFail"] == ['ColumnValues "amount" >= 0']
    assert by_id[2]["DataQualityEvaluationResult"] == "Failed"
    for ok in (1, 4, 5, 6):
        assert by_id[ok]["DataQualityRulesFail"] == []
        assert by_id[ok]["DataQualityEvaluationResult"] == "Passed"

    # Nothing was recorded in the ledger: the same files can be ingested once fixed.
    fixed = write(tmp_path / "in", "orders.csv", GOOD)
    assert lake.ingest(fixed, TABLE, rules=rules).status == "loaded"
    assert count(lake) == 3


def test_report_json_carries_the_final_verdict(lake: Lake, tmp_path: Path, rules: Path) -> None:
    path = write(tmp_path / "in", "orders.csv", BAD)
    whole = lake.ingest(path, TABLE, rules=rules)
    report = json.loads((Path(whole.quarantine or "") / "report.json").read_text("utf-8"))
    assert report["ingest"]["status"] == "quarantined"
    assert report["ingest"]["rows_rejected"] == 4
    assert report["ingest"]["rows_loaded"] == 0
    part = lake.ingest(path, TABLE, rules=rules, on_fail="quarantine-rows")
    report = json.loads((Path(part.quarantine or "") / "report.json").read_text("utf-8"))
    assert report["ingest"]["status"] == "partial"
    assert report["ingest"]["rows_rejected"] == 2


def test_the_quarantine_folder_can_be_configured(lake: Lake, tmp_path: Path, rules: Path) -> None:
    elsewhere = tmp_path / "held-back"
    with (lake.settings.root / CONFIG_FILE).open("a", encoding="utf-8") as handle:
        handle.write(f"\n[ingest]\nquarantine = {json.dumps(str(elsewhere))}\n")
    with oaklake.connect(lake.settings.root) as configured:
        result = configured.ingest(write(tmp_path / "in", "orders.csv", BAD), TABLE, rules=rules)
    assert result.status == "quarantined"
    folder = Path(result.quarantine or "")
    assert folder.parent == elsewhere / TABLE
    assert (folder / "files" / "orders.csv").is_file()
    assert not (lake.settings.root / "quarantine").exists()


def test_quarantine_rows_commits_the_passing_rows_and_keeps_the_failing_ones(
    lake: Lake, tmp_path: Path, rules: Path
) -> None:
    path = write(tmp_path / "in", "orders.csv", BAD)
    result = lake.ingest(path, TABLE, rules=rules, on_fail="quarantine-rows")
    assert result.status == "partial"
    assert result.ok and result.exit_code == 0
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (4, 2, 2)
    assert result.snapshot_id is not None
    # The table has exactly the passing rows.
    assert sorted(lake.sql(f"SELECT id, name, amount FROM {TABLE}").rows) == [
        (1, "ann", 10.5),
        (4, "dee", 40.0),
    ]
    # The quarantine has exactly the failing rows, with their outcomes; no copies of the files.
    folder = Path(result.quarantine or "")
    assert folder.is_dir()
    assert not (folder / "files").exists()
    rows = pq.read_table(folder / "rows.parquet").to_pylist()
    assert sorted((r["id"], tuple(r["DataQualityRulesFail"])) for r in rows) == [
        (2, ('IsComplete "name"',)),
        (3, ('ColumnValues "amount" >= 0',)),
    ]
    assert {r["DataQualityEvaluationResult"] for r in rows} == {"Failed"}
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert "quarantine-rows" in report["reason"]
    # The file is in the ledger now (its passing rows were loaded): not loaded twice.
    again = lake.ingest(path, TABLE, rules=rules, on_fail="quarantine-rows")
    assert again.status == "skipped"
    assert count(lake) == 2


def test_quarantine_rows_with_a_failed_dataset_rule_quarantines_the_whole_batch(
    lake: Lake, tmp_path: Path
) -> None:
    text = 'Rules = [ IsComplete "name", RowCount > 100 ]'
    gate = write(tmp_path / "rules", "gate.dqdl", text)
    path = write(tmp_path / "in", "orders.csv", BAD)
    result = lake.ingest(path, TABLE, rules=gate, on_fail="quarantine-rows")
    assert result.status == "quarantined"
    assert result.exit_code == 1
    assert "RowCount > 100" in result.failed_rules()
    assert result.rows_loaded == 0
    assert not lake.catalog.table_exists("default", "orders")
    folder = Path(result.quarantine or "")
    assert (folder / "files" / "orders.csv").read_bytes() == path.read_bytes()
    rows = pq.read_table(folder / "rows.parquet")
    assert sorted(rows.column("id").to_pylist()) == [1, 2, 3, 4]


def test_cli_quarantine_rows_reports_partial(lake: Lake, tmp_path: Path, rules: Path) -> None:
    path = write(tmp_path / "in", "orders.csv", BAD)
    args = ["ingest", str(path), "--table", TABLE, "--rules", str(rules), "--json"]
    args += ["--on-fail", "quarantine-rows", "-w", str(lake.settings.root)]
    result = CliRunner().invoke(app, args, prog_name="oaklake")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "partial"
    assert (summary["rows_loaded"], summary["rows_rejected"]) == (2, 2)
    assert Path(summary["quarantine"]).is_dir()
    assert count(lake) == 2
