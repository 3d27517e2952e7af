"""The end-to-end demo: its figures must agree with the data it generated and with the tables."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import Any

import pytest

import oaklake
from oaklake.demo import run_demo


def _csv_rows(path: Path) -> int:
    with path.open(newline="") as f:
        return sum(1 for _ in csv.reader(f)) - 1  # minus the header


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("demo") / "ws"
    with pytest.MonkeyPatch.context() as mp:  # module-scoped: clear OAKLAKE_* here too
        for key in [k for k in os.environ if k.startswith("OAKLAKE_")]:
            mp.delenv(key)
        return folder, run_demo(folder, quiet=True)


def test_row_counts_match_the_generated_files(demo):
    folder, facts = demo
    first = _csv_rows(folder / "samples" / "orders_1.csv")
    second = _csv_rows(folder / "samples" / "orders_2.csv")
    assert facts["rows_now"] > facts["rows_first_snapshot"] > 0
    assert facts["rows_first_snapshot"] == first  # time travel sees the first load only
    assert facts["rows_now"] == first + second


def test_explain_shows_partition_pruning(demo):
    _, facts = demo
    line = facts["explain_first_line"]
    assert line.startswith("Iceberg scan shop.orders snapshot=")
    m = re.search(r"(\d+) of (\d+) files planned", line)
    assert m, line
    planned, total = int(m[1]), int(m[2])
    assert 0 < planned < total  # month() and bucket() partitions let it skip files


def test_schema_evolution_and_the_other_figures(demo):
    folder, facts = demo
    assert facts["evolved_columns"] == ["order_id", "qty", "channel"]
    assert facts["top_rows"] == 5
    assert facts["workspace"] == str(folder)
    assert isinstance(facts["first_snapshot"], int)
    assert facts["seconds"] > 0


def test_changes_add_up(demo):
    _, facts = demo
    merge = facts["merge"]
    assert facts["updated_rows"] > 0
    assert merge["updated"] > 0 and merge["inserted"] > 0 and merge["deleted"] > 0
    assert facts["deleted_rows"] > 0
    expected = facts["rows_now"] - merge["deleted"] + merge["inserted"] - facts["deleted_rows"]
    assert facts["rows_final"] == expected
    assert facts["optimize"]["rewritten_data_files"] > facts["optimize"]["added_data_files"] > 0


def test_the_workspace_is_left_usable(demo):
    folder, facts = demo
    with oaklake.connect(folder) as lake:
        assert lake.sql("SELECT count(*) FROM shop.orders").scalar() == facts["rows_final"]
        assert lake.sql("SELECT count(channel) FROM shop.orders").scalar() == 0  # added later
        assert lake.sql("SELECT count(*) FROM shop.customers").scalar() == _csv_rows(
            folder / "samples" / "customers.csv"
        )
        snapshots = lake.sql('SELECT snapshot_id FROM shop."orders$snapshots"').rows
        assert (facts["first_snapshot"],) in snapshots
        assert len(snapshots) == facts["snapshots"]
        then = lake.sql(
            f"SELECT count(*) FROM shop.orders FOR VERSION AS OF {facts['first_snapshot']}"
        ).scalar()
        assert then == facts["rows_first_snapshot"]  # still there after the changes and OPTIMIZE


def test_quiet_demo_prints_nothing(capsys, tmp_path):
    # The module's demo ran in a fixture; here only the printing is checked, on a tiny failure:
    # a folder that is already a workspace stops the demo at its first step.
    oaklake.init(tmp_path).close()
    with pytest.raises(oaklake.errors.AlreadyExists):
        run_demo(tmp_path, quiet=True)
    assert capsys.readouterr() == ("", "")


def test_cli_demo_into_an_existing_workspace_is_a_clean_error(tmp_path):
    from click.testing import CliRunner

    from oaklake.cli import app

    oaklake.init(tmp_path).close()
    res = CliRunner().invoke(app, ["demo", str(tmp_path)])
    assert res.exit_code == 2
    assert res.stderr.startswith("ALREADY_EXISTS: ")


def test_the_quality_gate_keeps_the_bad_file_out(demo):
    folder, facts = demo
    assert facts["gate_scores"]["orders_1"] == 1.0
    assert facts["gate_scores"]["orders_2"] == 1.0
    assert facts["gate_scores"]["orders_bad"] < 1.0
    assert facts["recommended_rules"] > 5
    with oaklake.connect(folder) as lake:
        # nothing of the bad batch (ids 9_000_000+) reached the table
        assert lake.sql("SELECT count(*) FROM shop.orders WHERE order_id >= 9000000").scalar() == 0
        assert lake.dq_ruleset("shop.orders") is not None


def test_the_bad_file_is_quarantined_and_a_resent_file_skipped(demo):
    import json

    folder, facts = demo
    quarantine = Path(facts["quarantine"])
    assert quarantine.is_relative_to(folder / "quarantine" / "shop.orders")
    assert (quarantine / "files" / "orders_bad.csv").is_file()
    report = json.loads((quarantine / "report.json").read_text())
    assert report["ingest"]["status"] == "quarantined" and report["ingest"]["rows_read"] == 100
    assert facts["reingest_status"] == "skipped"
    with oaklake.connect(folder) as lake:
        files = lake.sql(
            "SELECT file_name FROM oaklake_system.ingest_ledger WHERE table_name = 'shop.orders'"
        ).rows
        assert sorted(files) == [("orders_1.csv",), ("orders_2.csv",)]


def test_recommenders_are_trained_served_and_react_to_an_event(demo):
    folder, facts = demo
    rec = facts["rec"]
    assert rec["ndcg_25"] > rec["ndcg_25_popularity"]  # beats the popularity baseline
    assert rec["changed"] and rec["related"] == 3 and rec["server_exit"] == 0
    assert len(rec["promoted"]) == 2  # 40% of 5
    assert sorted(rec["audiences"].values()) == [100, 100]
    assert rec["event_item"] in rec["audiences"]
    assert any(r.startswith("because you viewed") for r in rec["reasons_after"])
    with oaklake.connect(folder) as lake:
        assert [r.name for r in lake.rec_list()] == ["foryou", "similar"]
        persisted = lake.sql(
            "SELECT count(*) FROM store.interactions "
            f"WHERE user_id = '{rec['shopper']}' AND item_id = '{rec['event_item']}'"
        ).scalar()
        assert persisted == 1  # the server wrote the event before it stopped
