"""Ingest end to end: formats, table creation, modes, schema evolution, the gate, the ledger."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from oaklake.app import Lake
from oaklake.errors import OakError, QualityGateFailed


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def rows(lake: Lake, sql: str) -> list[tuple]:
    return lake.sql(sql).rows


def snapshots(lake: Lake, table: str) -> list[tuple]:
    schema, name = table.split(".")
    return rows(
        lake,
        f'SELECT snapshot_id, operation FROM "{schema}"."{name}$snapshots" ORDER BY committed_at',
    )


ORDERS = (
    "id,customer,amount,day,ts,paid\n"
    "1,ann,10.5,2024-01-01,2024-01-01 10:00:00,true\n"
    "2,bob,20,2024-01-02,2024-01-02 11:30:00,false\n"
    "3,cy,,2024-01-02,2024-01-02 12:00:00,true\n"
)


# -- formats and table creation --------------------------------------------------------------
def test_csv_creates_the_table_with_inferred_types(lake: Lake, tmp_path: Path) -> None:
    f = write(tmp_path / "orders.csv", ORDERS)
    result = lake.ingest(f, "default.orders")
    assert result.status == "loaded" and result.created_table
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 3, 0)
    described = {r[0]: r[1] for r in rows(lake, "DESCRIBE default.orders")}
    assert described == {
        "id": "bigint",
        "customer": "string",
        "amount": "double",
        "day": "date",
        "ts": "timestamp",
        "paid": "boolean",
    }
    assert rows(lake, "SELECT id, customer, amount, day, paid FROM default.orders ORDER BY id") == [
        (1, "ann", 10.5, dt.date(2024, 1, 1), True),
        (2, "bob", 20.0, dt.date(2024, 1, 2), False),
        (3, "cy", None, dt.date(2024, 1, 2), True),
    ]
    snaps = snapshots(lake, "default.orders")
    assert len(snaps) == 1 and snaps[0][0] == result.snapshot_id and snaps[0][1] == "append"


def test_the_table_is_standard_iceberg_read_back_by_pyiceberg(lake: Lake, tmp_path: Path) -> None:
    lake.ingest(write(tmp_path / "orders.csv", ORDERS), "default.orders")
    table = lake.table("default.orders").iceberg
    arrow = table.scan().to_arrow().sort_by("id")
    assert arrow.column("customer").to_pylist() == ["ann", "bob", "cy"]
    assert arrow.column("amount").to_pylist() == [10.5, 20.0, None]
    # the data file carries the table's field ids, so a rename keeps reading right
    lake.sql("ALTER TABLE default.orders CHANGE COLUMN customer buyer string")
    assert rows(lake, "SELECT buyer FROM default.orders ORDER BY id") == [
        ("ann",),
        ("bob",),
        ("cy",),
    ]
    data_file = next(iter(table.scan().plan_files())).file
    assert data_file.record_count == 3
    assert data_file.null_value_counts[table.schema().find_field("amount").field_id] == 1


def test_several_files_glob_and_folder_are_one_snapshot(lake: Lake, tmp_path: Path) -> None:
    for i in range(3):
        write(tmp_path / "in" / f"part-{i}.csv", f"id,name\n{i},n{i}\n{i + 10},m{i}\n")
    write(tmp_path / "in" / "_SUCCESS", "")
    write(tmp_path / "in" / ".hidden.csv", "id,name\n99,x\n")
    result = lake.ingest(str(tmp_path / "in" / "*.csv"), "default.parts")
    assert result.rows_loaded == 6 and len(result.files) == 3
    assert len(snapshots(lake, "default.parts")) == 1
    result = lake.ingest(tmp_path / "in", "default.parts2")
    assert result.rows_loaded == 6 and len(result.files) == 3


def test_tsv_gzip_and_zstd(lake: Lake, tmp_path: Path) -> None:
    import zstandard

    text = "id\tname\n1\ta\n2\tb\n"
    write(tmp_path / "a.tsv", text)
    (tmp_path / "b.tsv.gz").write_bytes(
        gzip.compress(text.replace("1\t", "3\t").replace("2\t", "4\t").encode())
    )
    result = lake.ingest([tmp_path / "a.tsv", tmp_path / "b.tsv.gz"], "default.t")
    assert result.rows_loaded == 4
    (tmp_path / "c.csv.zst").write_bytes(zstandard.ZstdCompressor().compress(b"id,name\n5,e\n"))
    lake.ingest(tmp_path / "c.csv.zst", "default.t")
    assert rows(lake, "SELECT id, name FROM default.t ORDER BY id") == [
        (1, "a"), (2, "b"), (3, "a"), (4, "b"), (5, "e"),
    ]  # fmt: skip


def test_csv_options(lake: Lake, tmp_path: Path) -> None:
    f = write(tmp_path / "x.txt", "1;'a;b';NA;01/02/2024\n2;c;7;31/12/2024\n")
    lake.sql("CREATE TABLE default.opts (id bigint, name string, n int, d date)")
    result = lake.ingest(
        f, "default.opts", delimiter=";", quote="'", header=False, null="NA",
        date_format="%d/%m/%Y",
    )  # fmt: skip
    assert result.rows_loaded == 2
    assert rows(lake, "SELECT * FROM default.opts ORDER BY id") == [
        (1, "a;b", None, dt.date(2024, 2, 1)),
        (2, "c", 7, dt.date(2024, 12, 31)),
    ]


def test_latin1_encoding(lake: Lake, tmp_path: Path) -> None:
    f = tmp_path / "l.csv"
    f.write_bytes("id,city\n1,Münster\n2,Besançon\n".encode("latin-1"))
    lake.ingest(f, "default.cities", encoding="latin-1")
    assert rows(lake, "SELECT city FROM default.cities ORDER BY id") == [
        ("Münster",),
        ("Besançon",),
    ]


def test_json_lines_json_array_and_nested_types(lake: Lake, tmp_path: Path) -> None:
    lines = [
        {"id": 1, "tags": ["a", "b"], "address": {"city": "Oslo", "zip": "0150"}},
        {"id": 2, "tags": [], "address": {"city": "Bergen", "zip": None}},
    ]
    write(tmp_path / "e.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    result = lake.ingest(tmp_path / "e.jsonl", "default.events")
    assert result.rows_loaded == 2
    assert rows(
        lake, "SELECT id, cardinality(tags), address.city FROM default.events ORDER BY id"
    ) == [
        (1, 2, "Oslo"),
        (2, 0, "Bergen"),
    ]
    write(
        tmp_path / "more.json",
        json.dumps([{"id": 3, "tags": ["c"], "address": {"city": "Tromsø", "zip": "9008"}}]),
    )
    lake.ingest(tmp_path / "more.json", "default.events")
    assert rows(lake, "SELECT count(*) FROM default.events") == [(3,)]
    # nested field ids were written too: pyiceberg reads the struct back
    arrow = lake.table("default.events").iceberg.scan().to_arrow().sort_by("id")
    assert arrow.column("address").to_pylist()[2] == {"city": "Tromsø", "zip": "9008"}


def test_parquet_with_wider_compatible_types(lake: Lake, tmp_path: Path) -> None:
    lake.sql("CREATE TABLE default.p (id bigint, score double, name string)")
    pq.write_table(
        pa.table({"id": pa.array([1, 2], pa.int32()), "score": pa.array([1.5, 2.5], pa.float32()),
                  "name": ["a", "b"]}),
        tmp_path / "p.parquet",
    )  # fmt: skip
    lake.ingest(tmp_path / "p.parquet", "default.p")
    assert rows(lake, "SELECT id, score, name FROM default.p ORDER BY id") == [
        (1, 1.5, "a"),
        (2, 2.5, "b"),
    ]


def test_missing_columns_are_null_and_case_is_ignored(lake: Lake, tmp_path: Path) -> None:
    lake.sql("CREATE TABLE default.c (id bigint, name string, note string)")
    lake.ingest(write(tmp_path / "c.csv", "ID,Name\n1,a\n"), "default.c")
    assert rows(lake, "SELECT id, name, note FROM default.c") == [(1, "a", None)]


def test_schema_file_and_partition_by(lake: Lake, tmp_path: Path) -> None:
    schema = write(
        tmp_path / "orders.sql",
        "id bigint, customer string, amount decimal(10,2), day date, ts timestamp, paid boolean",
    )
    result = lake.ingest(
        write(tmp_path / "orders.csv", ORDERS), "default.orders", schema=schema,
        partition_by="day(ts), bucket(4, id)",
    )  # fmt: skip
    assert result.created_table
    described = {r[0]: r[1] for r in rows(lake, "DESCRIBE default.orders")}
    assert described["amount"] == "decimal(10,2)"
    spec = lake.table("default.orders").iceberg.spec()
    assert [str(f.transform) for f in spec.fields] == ["day", "bucket[4]"]
    assert rows(lake, 'SELECT count(*) FROM "default"."orders$partitions"') == [(3,)]
    assert rows(lake, "SELECT sum(amount) FROM default.orders") == [(pytest.approx(30.5),)]


def test_schema_file_as_create_table_statement(lake: Lake, tmp_path: Path) -> None:
    ddl = write(
        tmp_path / "t.sql", "CREATE TABLE whatever (id bigint, name string) PARTITIONED BY (name);"
    )
    lake.ingest(write(tmp_path / "t.csv", "id,name\n1,a\n2,b\n"), "default.t", schema=ddl)
    spec = lake.table("default.t").iceberg.spec()
    assert [f.name for f in spec.fields] == ["name"]
    assert rows(lake, 'SELECT count(*) FROM "default"."t$files"') == [(2,)]


# -- modes -----------------------------------------------------------------------------------
def test_overwrite_replaces_the_whole_table_in_one_snapshot(lake: Lake, tmp_path: Path) -> None:
    lake.ingest(write(tmp_path / "a.csv", "id,v\n1,a\n2,b\n"), "default.t")
    result = lake.ingest(write(tmp_path / "b.csv", "id,v\n3,c\n"), "default.t", mode="overwrite")
    assert rows(lake, "SELECT id, v FROM default.t") == [(3, "c")]
    snaps = snapshots(lake, "default.t")
    assert [s[1] for s in snaps] == ["append", "overwrite"]
    assert result.snapshot_id == snaps[-1][0]


def test_overwrite_partitions_replaces_only_the_batchs_partitions(
    lake: Lake, tmp_path: Path
) -> None:
    lake.sql(
        "CREATE TABLE default.sales (id bigint, region string, amount double) "
        "PARTITIONED BY (region)"
    )
    lake.ingest(
        write(tmp_path / "all.csv", "id,region,amount\n1,eu,1\n2,eu,2\n3,us,3\n4,apac,4\n"),
        "default.sales",
    )
    result = lake.ingest(
        write(tmp_path / "eu.csv", "id,region,amount\n5,eu,50\n6,latam,6\n"),
        "default.sales",
        mode="overwrite",
        partitions=True,
    )
    assert rows(lake, "SELECT id, region FROM default.sales ORDER BY id") == [
        (3, "us"), (4, "apac"), (5, "eu"), (6, "latam"),
    ]  # fmt: skip
    assert result.changes["deleted_files"] == 1
    assert len(snapshots(lake, "default.sales")) == 2


def test_merge_updates_and_inserts_on_the_key(lake: Lake, tmp_path: Path) -> None:
    lake.ingest(write(tmp_path / "a.csv", "id,name,qty\n1,a,1\n2,b,2\n"), "default.m")
    result = lake.ingest(
        write(tmp_path / "b.csv", "id,name,qty\n2,B,20\n3,c,3\n"),
        "default.m",
        mode="merge",
        key="id",
    )
    assert result.status == "loaded" and result.rows_loaded == 2
    assert rows(lake, "SELECT * FROM default.m ORDER BY id") == [
        (1, "a", 1),
        (2, "B", 20),
        (3, "c", 3),
    ]
    assert len(snapshots(lake, "default.m")) == 2


def test_merge_with_delete_when_applies_a_cdc_file(lake: Lake, tmp_path: Path) -> None:
    lake.ingest(
        write(tmp_path / "a.csv", "region,id,name\neu,1,a\neu,2,b\nus,1,c\n"), "default.cdc"
    )
    cdc = write(tmp_path / "cdc.csv", "op,region,id,name\nU,eu,1,A\nD,eu,2,\nI,us,2,d\nD,us,9,\n")
    lake.sql("ALTER TABLE default.cdc ADD COLUMNS (op string)")
    result = lake.ingest(
        cdc, "default.cdc", mode="merge", key=["region", "id"], delete_when="s.op = 'D'"
    )
    assert rows(lake, "SELECT region, id, name FROM default.cdc ORDER BY region, id") == [
        ("eu", 1, "A"), ("us", 1, "c"), ("us", 2, "d"),
    ]  # fmt: skip
    assert result.snapshot_id == snapshots(lake, "default.cdc")[-1][0]


def test_merge_into_a_new_table_creates_it(lake: Lake, tmp_path: Path) -> None:
    result = lake.ingest(
        write(tmp_path / "a.csv", "id,x\n1,a\n"), "default.new", mode="merge", key="id"
    )
    assert result.created_table and rows(lake, "SELECT * FROM default.new") == [(1, "a")]


def test_evolve_adds_new_columns(lake: Lake, tmp_path: Path) -> None:
    lake.ingest(write(tmp_path / "a.csv", "id,name\n1,a\n"), "default.e")
    with pytest.raises(OakError) as info:
        lake.ingest(
            write(tmp_path / "b.csv", "id,name,email,score\n2,b,b@x.org,1.5\n"), "default.e"
        )
    assert info.value.code == "SCHEMA_DRIFT" and "email" in info.value.message
    result = lake.ingest(tmp_path / "b.csv", "default.e", evolve=True)
    assert result.evolved_columns == ["email", "score"]
    assert rows(lake, "SELECT id, name, email, score FROM default.e ORDER BY id") == [
        (1, "a", None, None),
        (2, "b", "b@x.org", 1.5),
    ]
    assert len(snapshots(lake, "default.e")) == 2


def test_evolve_then_merge(lake: Lake, tmp_path: Path) -> None:
    lake.ingest(write(tmp_path / "a.csv", "id,name\n1,a\n"), "default.em")
    lake.ingest(write(tmp_path / "b.csv", "id,name,tier\n1,a,gold\n2,b,silver\n"), "default.em",
                mode="merge", key="id", evolve=True)  # fmt: skip
    assert rows(lake, "SELECT * FROM default.em ORDER BY id") == [
        (1, "a", "gold"),
        (2, "b", "silver"),
    ]
    # One commit: the new column and the merged rows arrive together, in one metadata file.
    table = lake.table("default.em").iceberg
    assert len(snapshots(lake, "default.em")) == 2
    assert [u.schema_id for u in table.metadata.schemas] == [0, 1]
    assert table.metadata.snapshots[-1].schema_id == 1
    logged = [e.metadata_file for e in table.metadata.metadata_log]
    assert len(logged) == 1  # the create-with-data commit, then this one


def test_a_failed_merge_adds_no_column(lake: Lake, tmp_path: Path) -> None:
    """A MERGE with add_columns that fails adds nothing: the columns come with its commit."""
    from pyiceberg.types import StringType

    lake.ingest(write(tmp_path / "a.csv", "id,name\n1,a\n"), "default.fm")
    twice = pa.table({"id": [1, 1], "name": ["x", "y"], "tier": ["gold", "silver"]})
    with pytest.raises(OakError) as e:
        lake.table("default.fm").merge(twice, on="id", add_columns=[("tier", StringType())])
    assert e.value.code == "MERGE_TARGET_ROW_MULTIPLE_MATCHES"
    assert lake.table("default.fm").columns == ["id", "name"]
    assert len(snapshots(lake, "default.fm")) == 1
    once = pa.table({"id": [1, 3], "name": ["x", "z"], "tier": ["gold", None]})
    lake.table("default.fm").merge(once, on="id", add_columns=[("tier", StringType())])
    assert rows(lake, "SELECT * FROM default.fm ORDER BY id") == [(1, "x", "gold"), (3, "z", None)]


# -- ledger: exactly once ----------------------------------------------------------------------
def test_same_content_is_skipped_unless_forced(lake: Lake, tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", "id\n1\n2\n")
    first = lake.ingest(f, "default.l")
    again = lake.ingest(f, "default.l")
    assert again.status == "skipped" and again.skipped_files == [str(f.resolve())]
    assert again.snapshot_id is None
    copy = write(tmp_path / "renamed.csv", "id\n1\n2\n")  # same bytes, other name
    assert lake.ingest(copy, "default.l").status == "skipped"
    assert rows(lake, "SELECT count(*) FROM default.l") == [(2,)]
    forced = lake.ingest(f, "default.l", force=True)
    assert forced.status == "loaded" and rows(lake, "SELECT count(*) FROM default.l") == [(4,)]
    ledger = rows(
        lake,
        "SELECT file_name, snapshot_id, batch_rows, table_name FROM oaklake_system.ingest_ledger "
        "ORDER BY ingested_at",
    )
    assert ledger == [
        ("a.csv", first.snapshot_id, 2, "default.l"),
        ("a.csv", forced.snapshot_id, 2, "default.l"),
    ]


def test_a_batch_with_old_and_new_files_loads_only_the_new(lake: Lake, tmp_path: Path) -> None:
    a = write(tmp_path / "in" / "a.csv", "id\n1\n")
    lake.ingest(a, "default.l")
    write(tmp_path / "in" / "b.csv", "id\n2\n")
    result = lake.ingest(tmp_path / "in", "default.l")
    assert result.status == "loaded"
    assert [Path(p).name for p in result.files] == ["b.csv"]
    assert [Path(p).name for p in result.skipped_files] == ["a.csv"]
    assert rows(lake, "SELECT id FROM default.l ORDER BY id") == [(1,), (2,)]


def test_the_ledger_is_per_table(lake: Lake, tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", "id\n1\n")
    lake.ingest(f, "default.one")
    assert lake.ingest(f, "default.two").status == "loaded"
    lake.sql("DROP TABLE default.one")
    assert lake.ingest(f, "default.one").status == "loaded"  # a new table of the same name


def test_snapshot_summary_records_the_batch(lake: Lake, tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", "id\n1\n")
    result = lake.ingest(f, "default.s")
    snap = lake.table("default.s").iceberg.current_snapshot()
    props = snap.summary.additional_properties
    assert props["oaklake.ingest.batch-id"] == result.batch_id
    files = json.loads(props["oaklake.ingest.files"])
    assert files[0][0] == str(f.resolve()) and len(files[0][1]) == 64


# -- the gate --------------------------------------------------------------------------------
RULES = 'Rules = [ RowCount > 1, IsComplete "name", ColumnValues "qty" between 0 and 100 ]'


def test_a_passing_gate_loads_and_records_the_run(lake: Lake, tmp_path: Path) -> None:
    result = lake.ingest(
        write(tmp_path / "a.csv", "id,name,qty\n1,a,5\n2,b,7\n"), "default.g", rules=RULES
    )
    assert result.status == "loaded" and result.quality is not None and result.quality.score == 1.0
    runs = rows(lake, "SELECT dataset, context FROM oaklake_system.dq_runs")
    assert runs == [("default.g", "ingest")]


def test_a_failing_gate_commits_nothing_and_quarantines(lake: Lake, tmp_path: Path) -> None:
    lake.ingest(write(tmp_path / "a.csv", "id,name,qty\n1,a,5\n2,b,7\n"), "default.g")
    before = snapshots(lake, "default.g")
    bad = write(tmp_path / "b.csv", "id,name,qty\n3,,5\n4,d,500\n")
    result = lake.ingest(bad, "default.g", rules=RULES)
    assert result.status == "quarantined" and not result.ok and result.exit_code == 1
    assert sorted(result.failed_rules()) == [
        'ColumnValues "qty" between 0 and 100',
        'IsComplete "name"',
    ]
    assert snapshots(lake, "default.g") == before
    folder = Path(result.quarantine)
    assert folder.parent == lake.settings.root / "quarantine" / "default.g"
    assert (folder / "files" / "b.csv").read_bytes() == bad.read_bytes()
    report = json.loads((folder / "report.json").read_text())
    assert report["ingest"]["rows_read"] == 2 and report["quality"]["score"] < 1
    outcomes = pq.read_table(folder / "rows.parquet")
    assert outcomes.num_rows == 2 and "DataQualityRulesFail" in outcomes.column_names
    with pytest.raises(QualityGateFailed) as info:
        result.raise_for_status()
    assert info.value.exit_code == 1
    assert bad.exists()  # nothing lost
    assert rows(lake, "SELECT count(*) FROM oaklake_system.ingest_ledger") == [(1,)]


def test_the_attached_ruleset_is_the_default_gate(lake: Lake, tmp_path: Path) -> None:
    lake.sql("CREATE TABLE default.att (id bigint, name string, qty bigint)")
    lake.dq_attach("default.att", RULES)
    result = lake.ingest(write(tmp_path / "b.csv", "id,name,qty\n3,,5\n4,d,5\n"), "default.att")
    assert result.status == "quarantined" and result.failed_rules() == ['IsComplete "name"']


def test_quarantine_rows_commits_the_passing_rows(lake: Lake, tmp_path: Path) -> None:
    rules = 'Rules = [ IsComplete "name", ColumnValues "qty" <= 100 ]'
    f = write(tmp_path / "a.csv", "id,name,qty\n1,a,5\n2,,6\n3,c,700\n4,d,8\n")
    result = lake.ingest(f, "default.q", rules=rules, on_fail="quarantine-rows")
    assert result.status == "partial" and result.ok
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (4, 2, 2)
    assert rows(lake, "SELECT id FROM default.q ORDER BY id") == [(1,), (4,)]
    rejected = pq.read_table(Path(result.quarantine) / "rows.parquet").sort_by("id")
    assert rejected.column("id").to_pylist() == [2, 3]
    assert not (Path(result.quarantine) / "files").exists()


def test_quarantine_rows_with_a_dataset_level_failure_quarantines_all(
    lake: Lake, tmp_path: Path
) -> None:
    rules = 'Rules = [ RowCount > 10, IsComplete "name" ]'
    f = write(tmp_path / "a.csv", "id,name\n1,a\n2,\n")
    result = lake.ingest(f, "default.q2", rules=rules, on_fail="quarantine-rows")
    assert result.status == "quarantined"
    assert not lake.catalog.table_exists("default", "q2")  # a new table is not even created


def test_dynamic_rules_compare_with_previous_batches(lake: Lake, tmp_path: Path) -> None:
    rules = "Rules = [ RowCount >= avg(last(2)) * 0.5 ]"
    lake.ingest(
        write(tmp_path / "a.csv", "id\n" + "\n".join(map(str, range(10))) + "\n"),
        "default.d",
        rules=rules,
    )
    lake.ingest(
        write(tmp_path / "b.csv", "id\n" + "\n".join(map(str, range(10, 22))) + "\n"),
        "default.d",
        rules=rules,
    )
    result = lake.ingest(write(tmp_path / "c.csv", "id\n1000\n"), "default.d", rules=rules)
    assert result.status == "quarantined"
    assert rows(lake, "SELECT count(*) FROM default.d") == [(22,)]


# -- CLI -------------------------------------------------------------------------------------
def test_cli_summary_and_json(lake: Lake, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from oaklake.cli import app

    f = write(tmp_path / "a.csv", "id,name\n1,a\n2,b\n")
    ws = str(lake.settings.root)
    out = CliRunner().invoke(app, ["ingest", str(f), "--table", "default.c", "-w", ws])
    assert out.exit_code == 0, out.output
    assert "created and loaded default.c: 2 rows" in out.output
    assert "rows read: 2, loaded: 2, rejected: 0" in out.output
    out = CliRunner().invoke(app, ["ingest", str(f), "--table", "default.c", "-w", ws, "--json"])
    assert out.exit_code == 0
    body = json.loads(out.output)
    assert body["status"] == "skipped" and body["table"] == "default.c"
    g = write(tmp_path / "g.csv", "id,name\n3,\n")
    out = CliRunner().invoke(
        app,
        ["ingest", str(g), "-t", "default.c", "-w", ws, "--rules", 'Rules = [ IsComplete "name" ]'],
    )
    assert out.exit_code == 1
    assert "QUARANTINED" in out.output and 'FAILED IsComplete "name"' in out.output
