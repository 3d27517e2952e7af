"""Bad input to ingest: refused with a stable code, nothing committed, nothing lost.

Every case goes through the Python API (``lake.ingest`` raises an ``OakError`` with the case's
code; the message names the file, and the line and column where the error has them) and most
also through ``oaklake ingest`` (exit 2, ``CODE: message`` then ``hint: …`` on stderr, empty
stdout, no traceback). After each attempt the workspace is compared with how it was before:
the target table has the same current snapshot and row count (or still does not exist), the
ledger has no new rows, no staging folder is left behind, and every input file is still there
with the same bytes.

One workspace serves the module: ``default.t`` (loaded by ingest, so the ledger has a row),
``default.typed`` (an ``int`` column), a view ``default.v``. Cases only compare before and after,
so they do not depend on one another.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

import oaklake
from oaklake.app import Lake
from oaklake.cli import app
from oaklake.errors import InvalidFile, OakError, QualityGateFailed

HEADER = "id,name,amount"
TABLES = ("default.t", "default.typed")
LEDGER = "oaklake_system.ingest_ledger"
FIRST = "<first file>"  # Case.file default: the message names the first file of the case

Content = bytes | Callable[[], bytes] | None  # None: a folder


# -- building input files ---------------------------------------------------------------------
def csv(*rows: str, header: str = HEADER, sep: str = ",", end: str = "\n") -> bytes:
    lines = [header.replace(",", sep), *rows]
    return ("\n".join(lines) + end).encode()


def good(n: int, start: int = 1, sep: str = ",") -> list[str]:
    return [sep.join((str(i), f"n{i}", f"{i}.5")) for i in range(start, start + n)]


def parquet(table: pa.Table) -> Callable[[], bytes]:
    def build() -> bytes:
        buf = io.BytesIO()
        pq.write_table(table, buf)
        return buf.getvalue()

    return build


def parquet_of(**columns: Any) -> Callable[[], bytes]:
    return parquet(pa.table(columns))


def parquet_named(names: list[str], arrays: list[Any]) -> Callable[[], bytes]:
    return parquet(pa.Table.from_arrays([pa.array(a) for a in arrays], names=names))


def latin1_beyond_the_head() -> bytes:
    """A valid UTF-8 start longer than the 1 MiB the header check reads, then one latin-1 row."""
    rows = [f"{i},name-{i:07d}-padding-padding,{i}.5" for i in range(1, 40_001)]
    body = csv(*rows)
    assert len(body) > 1 << 20
    return body + "40001,caf\xe9,1.0\n".encode("latin-1")


def lines_json(*records: str) -> bytes:
    return ("\n".join(records) + "\n").encode()


def truncated_gzip(data: bytes, cut: int = 20) -> Callable[[], bytes]:
    return lambda: gzip.compress(data)[:-cut]


def big_truncated_jsonl_gz() -> bytes:
    """Truncated far past the first 64 KiB, so only the full read finds it."""
    text = "".join(f'{{"id": {i}, "name": "n{i}", "amount": {i}.5}}\n' for i in range(60_000))
    return gzip.compress(text.encode(), compresslevel=1)[:-50]


# -- cases --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    id: str
    files: dict[str, Content]
    code: str
    table: str = "default.t"
    paths: tuple[str, ...] | None = None  # default: every file, in order
    options: dict[str, Any] = field(default_factory=dict)  # "{dir}" = the case's folder
    says: tuple[str, ...] = ()  # fragments of the message
    file: str | None = FIRST  # the file the error names (None: no file is involved)
    in_message: bool = True  # False: only error.path names it (see test_the_message_names…)
    line: int | None = None
    column: str | None = None
    cli: bool = False
    hint: bool = True  # False: none yet (see test_every_refusal_has_a_hint)

    @property
    def named(self) -> str | None:
        if self.file == FIRST:
            return next(iter(self.files)) if self.files else None
        return self.file


def case(id: str, files: dict[str, Content], code: str, **kw: Any) -> Any:
    return pytest.param(Case(id, files, code, **kw), id=id)


CASES = [
    # -- unbalanced / unterminated / stray quotes -------------------------------------------
    case("quote-first-row", {"q.csv": csv('1,"a,1.5', *good(2, 2))}, "CSV_MALFORMED",
         line=2, says=("q.csv:2", "quote"), cli=True),
    case("quote-middle-row", {"q.csv": csv(*good(3), '4,"d,4.5', *good(3, 5))},
         "CSV_MALFORMED", line=5, says=("q.csv:5", '4,"d,4.5')),
    case("quote-at-eof", {"q.csv": csv(*good(2), '3,c,"3.5', end="")}, "CSV_MALFORMED",
         line=4, says=("q.csv:4",), cli=True),
    case("quote-stray-after-closing", {"q.csv": csv('1,"a"b,1.5', *good(1, 2))},
         "CSV_MALFORMED", line=2, says=("q.csv:2", "stray quote")),
    case("quote-unterminated-tsv", {"q.tsv": csv(*good(1, sep="\t"), '2\t"b\t2.5', sep="\t")},
         "CSV_MALFORMED", line=3, says=("q.tsv:3",)),
    case("quote-unterminated-gzip", {"q.csv.gz": lambda: gzip.compress(csv(*good(2), '3,"c,3'))},
         "CSV_MALFORMED", line=4, says=("q.csv.gz:4",)),
    # -- ragged rows -------------------------------------------------------------------------
    case("ragged-too-few-first-row", {"r.csv": csv("1,a", *good(2, 2))}, "CSV_MALFORMED",
         line=2, says=("ragged row at r.csv:2", "expected 3 fields, found 2"), cli=True),
    case("ragged-too-many-first-row", {"r.csv": csv("1,a,1.5,extra", *good(2, 2))},
         "CSV_MALFORMED", line=2, says=("r.csv:2", "expected 3 fields, found 4")),
    case("ragged-too-few-deep", {"r.csv": csv(*good(3000), "3001,z", *good(5, 3002))},
         "CSV_MALFORMED", line=3002, says=("r.csv:3002", "found 2: 3001,z")),
    case("ragged-too-many-deep", {"r.csv": csv(*good(3000), "3001,z,1,2")}, "CSV_MALFORMED",
         line=3002, says=("r.csv:3002", "found 4"), cli=True),
    case("ragged-short-row-of-text", {"r.csv": csv(*good(3000), "x,y")}, "CSV_MALFORMED",
         line=3002, says=("ragged row at r.csv:3002",)),
    case("ragged-in-second-file", {"a.csv": csv(*good(3)), "b.csv": csv(*good(2), "3,c")},
         "CSV_MALFORMED", file="b.csv", line=4, says=("b.csv:4",), cli=True),
    case("ragged-tsv", {"r.tsv": csv(*good(1, sep="\t"), "2\tb", sep="\t")}, "CSV_MALFORMED",
         line=3, says=("r.tsv:3",)),
    case("ragged-into-new-table", {"r.csv": csv(*good(2), "3")}, "CSV_MALFORMED",
         table="default.fresh", line=4, says=("r.csv:4",)),
    # -- encodings ---------------------------------------------------------------------------
    case("latin1-in-header", {"e.csv": "id,nam\xe9,amount\n1,a,1.5\n".encode("latin-1")},
         "INVALID_ENCODING", line=1, says=("e.csv", "utf-8", "0xe9", "line 1"), cli=True),
    case("latin1-in-early-row", {"e.csv": csv("1,a,1.5") + "2,caf\xe9,2.5\n".encode("latin-1")},
         "INVALID_ENCODING", line=3, says=("e.csv", "line 3")),
    case("latin1-beyond-first-mib", {"e.csv": latin1_beyond_the_head}, "INVALID_ENCODING",
         line=40_002, says=("e.csv:40002", "utf-8"), cli=True),
    case("utf16-bom-read-as-utf8", {"e.csv": csv("1,a,1.5").decode().encode("utf-16")},
         "INVALID_ENCODING", line=1, says=("e.csv", "UTF-16"), cli=True),
    case("latin1-in-gzip",
         {"e.csv.gz": lambda: gzip.compress("id,name,amount\n1,\xe9,1\n".encode("latin-1"))},
         "INVALID_ENCODING", line=2, says=("e.csv.gz",)),
    case("unknown-encoding-name", {"e.csv": csv(*good(1))}, "NOT_SUPPORTED",
         options={"encoding": "klingon"}, file=None, says=("'klingon'",), cli=True),
    # -- empty files -------------------------------------------------------------------------
    case("empty-0-bytes", {"e.csv": b""}, "EMPTY_FILE", says=("e.csv", "0 bytes"), cli=True),
    case("empty-0-bytes-new-table", {"e.csv": b""}, "EMPTY_FILE", table="default.fresh"),
    case("blank-lines-only", {"e.csv": b"\n\n   \n\n"}, "EMPTY_FILE", says=("e.csv", "blank")),
    case("header-only-csv", {"h.csv": csv()}, "EMPTY_FILE", says=("h.csv", "no rows"),
         cli=True),
    case("header-only-tsv", {"h.tsv": csv(sep="\t")}, "EMPTY_FILE", says=("h.tsv",)),
    case("header-only-gzip", {"h.csv.gz": lambda: gzip.compress(csv())}, "EMPTY_FILE",
         says=("h.csv.gz",)),
    case("header-only-second-file", {"a.csv": csv(*good(2)), "b.csv": csv()}, "EMPTY_FILE",
         file="b.csv", says=("b.csv has a header but no rows",)),
    case("empty-file-in-a-folder", {"in/a.csv": csv(*good(2)), "in/b.csv": b""}, "EMPTY_FILE",
         paths=("in",), file="b.csv", cli=True),
    case("jsonl-blank-lines-only", {"e.jsonl": b"\n\n\n"}, "EMPTY_FILE", says=("e.jsonl",)),
    case("json-empty-array", {"e.json": b"[]"}, "EMPTY_FILE", says=("e.json",)),
    case("parquet-without-rows", {"e.parquet": parquet_of(id=pa.array([], pa.int64()))},
         "EMPTY_FILE", in_message=False),
    # -- headers and column names ---------------------------------------------------------------
    case("duplicate-column", {"d.csv": csv("1,2,3", header="id,id,amount")},
         "DUPLICATE_COLUMN", line=1, column="id", says=("d.csv", "'id' twice"), cli=True),
    case("duplicate-column-other-case", {"d.csv": csv("1,2,3", header="id,ID,amount")},
         "DUPLICATE_COLUMN", column="ID", says=("d.csv", "'id' and 'ID'")),
    case("duplicate-json-key", {"d.jsonl": lines_json('{"id": 1, "id": 2}')},
         "DUPLICATE_COLUMN", line=1, column="id", says=("d.jsonl:1", "'id' twice")),
    case("duplicate-json-key-other-case", {"d.jsonl": lines_json('{"id": 1, "ID": 2}')},
         "DUPLICATE_COLUMN", line=1, column="ID", says=("d.jsonl:1", "'id' and 'ID'"), cli=True),
    case("duplicate-parquet-column", {"d.parquet": parquet_named(["id", "id"], [[1], [2]])},
         "DUPLICATE_COLUMN", column="id", says=("d.parquet",), cli=True),
    case("duplicate-parquet-column-other-case",
         {"d.parquet": parquet_named(["id", "ID"], [[1], [2]])}, "DUPLICATE_COLUMN",
         column="ID", says=("d.parquet", "'id' and 'ID'")),
    case("empty-column-name", {"h.csv": csv("1,2,3", header="id,,amount")}, "INVALID_HEADER",
         line=1, says=("column 2 of h.csv",), cli=True),
    case("files-with-other-headers",
         {"a.csv": csv(*good(1)), "b.csv": csv("2,b,2", header="id,nome,amount")},
         "HEADER_MISMATCH", file="b.csv", line=1, says=("b.csv", "a.csv", "nome"), cli=True),
    case("files-with-columns-in-another-order",
         {"a.csv": csv(*good(1)), "b.csv": csv("2,2.5,b", header="id,amount,name")},
         "HEADER_MISMATCH", file="b.csv", says=("b.csv",)),
    # -- JSON --------------------------------------------------------------------------------
    case("json-bad-middle-line",
         {"j.jsonl": lines_json('{"id": 1}', '{"id": 2,, "name": "b"}', '{"id": 3}')},
         "INVALID_JSON", line=2, says=("j.jsonl:2",), cli=True),
    case("json-bad-line-after-blank-lines",
         {"j.jsonl": lines_json('{"id": 1}', "", '{"id": 3}', '{"id": 4,, }', '{"id": 5}')},
         "INVALID_JSON", line=4, says=("j.jsonl:4",)),
    case("json-bad-line-in-gzip",
         {"j.jsonl.gz": lambda: gzip.compress(lines_json('{"id": 1}', '{"id": 2,, }'))},
         "INVALID_JSON", line=2, says=("j.jsonl.gz:2",)),
    case("json-last-line-truncated", {"j.jsonl": b'{"id": 1}\n{"id": 2}\n{"id": 3, "na'},
         "INVALID_JSON", line=3, says=("j.jsonl:3",)),
    case("json-array-broken", {"j.json": b'[{"id": 1}, {"id": 2,, }, {"id": 3}]'},
         "INVALID_JSON", says=("j.json",)),
    case("json-array-unclosed", {"j.json": b'[{"id": 1}, {"id": 2}'}, "INVALID_JSON",
         says=("j.json",)),
    case("json-lines-of-numbers", {"j.jsonl": lines_json("1", "2", "3")}, "INVALID_JSON",
         line=1, says=("j.jsonl:1", "not a JSON object"), cli=True),
    case("json-array-of-numbers", {"j.json": b"[1, 2, 3]"}, "INVALID_JSON", line=1,
         says=("j.json", "not a JSON object")),
    case("json-lines-of-strings", {"j.jsonl": lines_json('"a"', '"b"')}, "INVALID_JSON",
         line=1, says=("j.jsonl:1", "a string")),
    case("json-number-after-objects", {"j.jsonl": lines_json(*['{"id": 1}'] * 3, "7")},
         "INVALID_JSON", line=4, says=("j.jsonl:4",)),
    case("json-mixed-types-in-a-column", {"j.jsonl": lines_json('{"id": 1}', '{"id": "abc"}')},
         "TYPE_MISMATCH", line=2, column="id", says=("j.jsonl:2", "abc", "column id"), cli=True),
    case("json-object-in-a-number-column",
         {"j.jsonl": lines_json('{"id": 1, "amount": 1.5}', '{"id": 2, "amount": {"x": 1}}')},
         "TYPE_MISMATCH", line=2, column="amount", says=("j.jsonl:2", "an object")),
    case("json-value-too-big-for-int", {"j.jsonl": lines_json('{"id": 1, "qty": 99999999999}')},
         "TYPE_MISMATCH", table="default.typed", line=1, column="qty",
         says=("column qty", "int", "99999999999", "j.jsonl"), cli=True),
    case("json-strings-for-a-bigint", {"j.jsonl": lines_json('{"id": "abc"}', '{"id": "def"}')},
         "TYPE_MISMATCH", column="id", says=("column id", "bigint", "string", "j.jsonl")),
    case("jsonl-gzip-truncated-late", {"j.jsonl.gz": big_truncated_jsonl_gz},
         "INVALID_COMPRESSION", says=("j.jsonl.gz",)),
    case("jsonl-gzip-not-gzip", {"j.jsonl.gz": lines_json('{"id": 1}')}, "INVALID_COMPRESSION",
         says=("j.jsonl.gz",)),
    # -- Parquet -------------------------------------------------------------------------------
    case("parquet-string-for-bigint", {"p.parquet": parquet_of(id=["a", "b"])}, "TYPE_MISMATCH",
         table="default.typed", column="id", says=("column id", "bigint", "string", "p.parquet"),
         cli=True),
    case("parquet-struct-for-int", {"p.parquet": parquet_of(qty=[{"x": 1}])}, "TYPE_MISMATCH",
         table="default.typed", column="qty", says=("column qty", "int", "struct", "p.parquet")),
    case("parquet-list-for-string", {"p.parquet": parquet_of(name=[[1, 2]])}, "TYPE_MISMATCH",
         table="default.typed", column="name", says=("array", "p.parquet")),
    case("parquet-bigint-values-too-big-for-int",
         {"p.parquet": parquet_of(qty=pa.array([1, 2**40], pa.int64()))}, "TYPE_MISMATCH",
         table="default.typed", line=2, column="qty",
         says=("column qty", "int", str(2**40), "p.parquet row 2"), cli=True),
    case("parquet-files-disagree",
         {"a.parquet": parquet_of(id=[1]), "b.parquet": parquet_of(id=["x"])},
         "TYPE_MISMATCH", table="default.typed", file="b.parquet", column="id",
         says=("a.parquet", "b.parquet")),
    case("parquet-not-parquet", {"p.parquet": b"id,name\n1,a\n"}, "INVALID_PARQUET", cli=True,
         says=("p.parquet",)),
    case("parquet-truncated", {"p.parquet": lambda: parquet_of(id=[1, 2, 3])()[:-30]},
         "INVALID_PARQUET", says=("p.parquet",)),
    case("parquet-second-file-corrupt", {"a.parquet": parquet_of(id=[1]), "b.parquet": b"PAR1junk"},
         "INVALID_PARQUET", table="default.typed", file="b.parquet"),
    # -- compression, formats ----------------------------------------------------------------
    case("gzip-truncated", {"c.csv.gz": truncated_gzip(csv(*good(500)))}, "INVALID_COMPRESSION",
         says=("c.csv.gz",), cli=True),
    case("gzip-not-gzip", {"c.csv.gz": csv(*good(2))}, "INVALID_COMPRESSION", says=("c.csv.gz",)),
    case("zst-not-zstd", {"c.csv.zst": csv(*good(2))}, "INVALID_COMPRESSION",
         says=("c.csv.zst",), cli=True),
    case("unknown-suffix", {"data.xyz": csv(*good(2))}, "UNKNOWN_FORMAT", says=("data.xyz",),
         cli=True),
    case("no-suffix", {"data": csv(*good(2))}, "UNKNOWN_FORMAT", says=("data",)),
    case("mixed-csv-and-jsonl", {"a.csv": csv(*good(1)), "b.jsonl": lines_json('{"id": 2}')},
         "INVALID_INPUT", file=None, says=("csv", "jsonl"), cli=True),
    case("mixed-csv-and-tsv", {"a.csv": csv(*good(1)), "b.tsv": csv(*good(1, 2, "\t"), sep="\t")},
         "INVALID_INPUT", file=None, says=("csv", "tsv")),
    case("mixed-csv-and-parquet", {"a.csv": csv(*good(1)), "b.parquet": parquet_of(id=[2])},
         "INVALID_INPUT", file=None, says=("parquet",)),
    case("csv-read-as-parquet", {"c.csv": csv(*good(2))}, "INVALID_PARQUET",
         options={"format": "parquet"}, says=("c.csv",)),
    case("unknown-format-option", {"c.csv": csv(*good(2))}, "INVALID_INPUT",
         options={"format": "xml"}, file=None, says=("'xml'",), cli=True),
    # -- line size ---------------------------------------------------------------------------
    case("field-beyond-max-line-size", {"h.csv": csv(*good(1), "2," + "x" * 5000 + ",2.5")},
         "LINE_TOO_LONG", options={"max_line_size": 1000}, line=3, says=("h.csv:3",), cli=True),
    case("field-beyond-default-2-mib",
         {"h.csv": lambda: csv(*good(1), "2," + "x" * (3 << 20) + ",2.5")},
         "LINE_TOO_LONG", line=3, says=("h.csv:3",)),
    # -- values that do not fit the table ----------------------------------------------------
    case("text-in-a-double-column", {"v.csv": csv(*good(1), "2,b,abc")}, "TYPE_MISMATCH",
         line=3, column="amount", says=("column amount", "expected double", "'abc'", "v.csv:3"),
         cli=True),
    case("text-in-a-bigint-column-deep", {"v.csv": csv(*good(3000), "zz,b,1")}, "TYPE_MISMATCH",
         line=3002, column="id", says=("column id", "expected bigint", "'zz'", "v.csv:3002")),
    case("csv-value-too-big-for-int",
         {"v.csv": csv("1,99999999999,a,1", header="id,qty,name,amount")},
         "TYPE_MISMATCH", table="default.typed", line=2, column="qty",
         says=("expected int", "'99999999999'", "v.csv:2"), cli=True),
    # -- schema drift ------------------------------------------------------------------------
    case("new-column-without-evolve", {"s.csv": csv("1,a,1.5,x", header="id,name,amount,extra")},
         "SCHEMA_DRIFT", column="extra", in_message=False, says=("extra", "default.t"),
         cli=True),
    case("misspelt-column", {"s.csv": csv("1,a,1.5", header="id,nmae,amount")}, "SCHEMA_DRIFT",
         column="nmae", in_message=False, says=("nmae",)),
    # -- merge -------------------------------------------------------------------------------
    case("merge-key-missing", {"m.csv": csv(*good(2))}, "MERGE_KEY_MISSING",
         options={"mode": "merge", "key": "order_id"}, says=("order_id", "m.csv"), cli=True),
    case("merge-key-null", {"m.csv": csv(*good(1), ",b,2.5")}, "MERGE_KEY_NULL",
         options={"mode": "merge", "key": "id"}, in_message=False, says=("(id)",), cli=True),
    case("merge-duplicate-keys", {"m.csv": csv(*good(2), "1,again,9.5")}, "DUPLICATE_KEY",
         options={"mode": "merge", "key": "id"}, in_message=False, says=("id=1", "2 times"),
         cli=True),
    case("merge-duplicate-keys-across-files", {"a.csv": csv(*good(2)), "b.csv": csv(*good(1, 2))},
         "DUPLICATE_KEY", options={"mode": "merge", "key": "id"}, in_message=False,
         says=("id=2",)),
    case("merge-duplicate-composite-keys", {"m.csv": csv("1,a,1", "1,b,2", "1,a,3")},
         "DUPLICATE_KEY", options={"mode": "merge", "key": "id,name"}, in_message=False,
         says=("name='a'",)),
    case("merge-duplicate-keys-new-table", {"m.csv": csv(*good(1), *good(1))}, "DUPLICATE_KEY",
         table="default.fresh", options={"mode": "merge", "key": "id"}, in_message=False),
    # -- options that do not go together --------------------------------------------------------
    case("key-without-merge", {"o.csv": csv(*good(1))}, "INVALID_INPUT",
         options={"key": "id"}, file=None, says=("--key",), cli=True, hint=False),
    case("merge-without-key", {"o.csv": csv(*good(1))}, "INVALID_INPUT",
         options={"mode": "merge"}, file=None, says=("--key",), cli=True),
    case("delete-when-without-merge", {"o.csv": csv(*good(1))}, "INVALID_INPUT",
         options={"delete_when": "id = 1"}, file=None, says=("--delete-when",), hint=False),
    case("partitions-without-overwrite", {"o.csv": csv(*good(1))}, "INVALID_INPUT",
         options={"partitions": True}, file=None, says=("--partitions",), cli=True, hint=False),
    case("partitions-on-unpartitioned-table", {"o.csv": csv(*good(1))}, "INVALID_INPUT",
         options={"mode": "overwrite", "partitions": True}, file=None,
         says=("not partitioned",), cli=True),
    case("partition-by-on-existing-table", {"o.csv": csv(*good(1))}, "INVALID_INPUT",
         options={"partition_by": "id"}, file=None, says=("--partition-by", "default.t"),
         cli=True),
    case("partition-by-unknown-column", {"o.csv": csv(*good(1))}, "COLUMN_NOT_FOUND",
         table="default.fresh", options={"partition_by": "nosuch"}, file=None,
         says=("nosuch",), cli=True),
    case("partition-by-unknown-transform", {"o.csv": csv(*good(1))}, "NOT_SUPPORTED",
         table="default.fresh", options={"partition_by": "frob(id)"}, file=None,
         says=("frob(id)",)),
    case("partition-by-bucket-without-count", {"o.csv": csv(*good(1))}, "NOT_SUPPORTED",
         table="default.fresh", options={"partition_by": "bucket(x, id)"}, file=None),
    case("schema-for-existing-table", {"o.csv": csv(*good(1)), "s.sql": b"id bigint"},
         "INVALID_INPUT", paths=("o.csv",), options={"schema": "{dir}/s.sql"}, file=None,
         says=("--schema",)),
    case("schema-file-does-not-parse",
         {"o.csv": csv(*good(1)), "s.sql": b"id bigint, name strin g(("},
         "SYNTAX_ERROR", table="default.fresh", paths=("o.csv",),
         options={"schema": "{dir}/s.sql"}, file=None, cli=True, hint=False),
    case("schema-given-as-a-folder", {"o.csv": csv(*good(1)), "s.sql": None},
         "FILE_UNREADABLE", table="default.fresh", paths=("o.csv",),
         options={"schema": "{dir}/s.sql"}, file="s.sql", hint=False),
    case("schema-file-missing", {"o.csv": csv(*good(1))}, "FILE_NOT_FOUND",
         table="default.fresh", options={"schema": "{dir}/nosuch.sql"}, file="nosuch.sql",
         hint=False),
    case("rules-file-missing", {"o.csv": csv(*good(1))}, "FILE_NOT_FOUND",
         options={"rules": "{dir}/nosuch.dqdl"}, file="nosuch.dqdl", cli=True),
    case("rules-do-not-parse-nothing-read", {"r.dqdl": b"Rules = [ RowCount >> 3"},
         "DQDL_SYNTAX_ERROR", paths=("missing.csv",), options={"rules": "{dir}/r.dqdl"},
         file=None, cli=True),
    case("delimiter-of-two-characters", {"o.csv": csv(*good(1))}, "INVALID_INPUT",
         options={"delimiter": ";;"}, file=None, says=("';;'",), cli=True),
    case("max-line-size-zero", {"o.csv": csv(*good(1))}, "INVALID_INPUT",
         options={"max_line_size": 0}, file=None, says=("--max-line-size",)),
    case("delimiter-same-as-quote", {"o.csv": csv(*good(1))}, "INVALID_INPUT",
         options={"delimiter": '"'}, file=None, says=("must differ",)),
    # -- paths -------------------------------------------------------------------------------
    case("missing-path", {}, "FILE_NOT_FOUND", paths=("nope.csv",), file="nope.csv", cli=True),
    case("one-good-one-missing", {"a.csv": csv(*good(1))}, "FILE_NOT_FOUND",
         paths=("a.csv", "nope.csv"), file="nope.csv"),
    case("glob-matching-nothing", {"a.csv": csv(*good(1))}, "FILE_NOT_FOUND",
         paths=("*.nomatch",), file="*.nomatch", cli=True),
    case("empty-folder", {"in/.keep": b""}, "FILE_NOT_FOUND", paths=("in",),
         file=None, says=("holds no files",), cli=True),
    case("folder-of-hidden-and-partial-files",
         {"in/.hidden.csv": csv(*good(1)), "in/_SUCCESS": b"", "in/b.csv.part": csv(*good(1))},
         "FILE_NOT_FOUND", paths=("in",), file=None, says=("holds no files",)),
    # -- targets -----------------------------------------------------------------------------
    case("missing-schema", {"o.csv": csv(*good(1))}, "SCHEMA_NOT_FOUND", table="nosuch.t",
         file=None, says=("nosuch",), cli=True),
    case("into-a-view", {"o.csv": csv(*good(1))}, "INVALID_INPUT", table="default.v",
         file=None, says=("view",), cli=True, hint=False),
    case("into-oaklake-system", {"o.csv": csv(*good(1))}, "INVALID_INPUT",
         table="oaklake_system.mine", file=None, says=("oaklake_system",), hint=False),
    case("into-the-ledger", {"o.csv": csv(*good(1))}, "INVALID_INPUT", table=LEDGER,
         file=None, says=("oaklake_system",), cli=True, hint=False),
]  # fmt: skip


# -- the shared workspace ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    base = tmp_path_factory.mktemp("bad_input")
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("OAKLAKE_"):
                mp.delenv(key)
        lake = oaklake.init(base / "ws")
    seed = base / "seed.csv"
    seed.write_bytes(csv("100,seed,0.5", "101,seed,1.5"))  # no case's file has these bytes
    assert lake.ingest(seed, "default.t").status == "loaded"
    lake.sql("CREATE TABLE typed (id bigint, qty int, name string, amount double)")
    lake.sql("INSERT INTO typed VALUES (1, 2, 'a', 1.5)")
    lake.sql("CREATE VIEW v AS SELECT id FROM t")
    yield lake
    lake.close()


def table_state(lake: Lake, name: str) -> tuple[int | None, int] | None:
    """(current snapshot id, row count), or None when there is no such table. Read from the
    catalog afresh (the CLI commits through a Lake of its own); the count is the snapshot's
    ``total-records`` (``test_the_shared_tables_still_hold_their_rows`` counts with SQL)."""
    schema, table = name.split(".")
    if not lake.catalog.table_exists(schema, table):
        return None
    snap = lake.catalog.load_table(schema, table).current_snapshot()
    if snap is None:
        return (None, 0)
    return snap.snapshot_id, int(snap.summary["total-records"])


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@dataclass
class Watch:
    """What must not change: tables, ledger, staging, and the input files."""

    lake: Lake
    tables: tuple[str, ...]
    folder: Path
    before: dict[str, Any] = field(default_factory=dict)

    def look(self) -> dict[str, Any]:
        state: dict[str, Any] = {t: table_state(self.lake, t) for t in self.tables}
        state["ledger"] = table_state(self.lake, LEDGER)
        state["files"] = files_under(self.folder)
        return state

    def __enter__(self) -> Watch:
        self.before = self.look()
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.unchanged()

    def unchanged(self) -> None:
        after = self.look()
        for key in self.before:
            assert after[key] == self.before[key], f"{key} changed"
        staging = self.lake.settings.root / ".oaklake" / "staging"
        assert not staging.exists() or not any(staging.iterdir()), list(staging.iterdir())


def materialise(c: Case, folder: Path) -> tuple[list[str], dict[str, Any]]:
    folder.mkdir()
    for name, content in c.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            path.mkdir()
        else:
            path.write_bytes(content() if callable(content) else content)
    paths = [str(folder / p) for p in (c.paths if c.paths is not None else c.files)]
    options = {
        k: v.replace("{dir}", str(folder)) if isinstance(v, str) else v
        for k, v in c.options.items()
    }
    return paths, options


_FLAGS = {
    "mode": "--mode",
    "key": "--key",
    "delete_when": "--delete-when",
    "rules": "--rules",
    "schema": "--schema",
    "partition_by": "--partition-by",
    "format": "--format",
    "encoding": "--encoding",
    "delimiter": "--delimiter",
    "max_line_size": "--max-line-size",
}
_SWITCHES = {"partitions": "--partitions", "evolve": "--evolve"}


def run_cli(lake: Lake, paths: list[str], table: str, options: dict[str, Any]) -> Result:
    args = ["ingest", *paths, "--table", table, "-w", str(lake.settings.root)]
    for key, value in options.items():
        if key in _SWITCHES:
            args += [_SWITCHES[key]] if value else []
        else:
            args += [_FLAGS[key], str(value)]
    return CliRunner().invoke(app, args, prog_name="oaklake")


_FIRST_LINE = re.compile(r"^(?P<code>[A-Z][A-Z_]+): (?P<message>\S.*)$")


def check_cli_error(res: Result, code: str, *, hint: bool, says: tuple[str, ...] = ()) -> str:
    """exit 2, ``CODE: message`` on stderr's first line, then only hint/snippet lines."""
    err = res.stderr
    assert res.exit_code == 2, (res.exit_code, err, res.stdout)
    assert isinstance(res.exception, SystemExit), res.exception
    assert res.stdout == ""
    assert "Traceback" not in err and 'File "' not in err
    lines = err.rstrip("\n").split("\n")
    m = _FIRST_LINE.match(lines[0])
    assert m, lines[0]
    assert m["code"] == code, err
    for line in lines[1:]:
        assert line.startswith(("hint: ", "  ")), f"unexpected stderr line {line!r}"
    hints = [line for line in lines if line.startswith("hint: ")]
    assert len(hints) == 1 if hint else len(hints) <= 1, err
    for fragment in says:
        assert fragment in err, (fragment, err)
    return lines[0]


def check_error(err: OakError, c: Case) -> None:
    assert err.code == c.code, err.render()
    assert err.exit_code == 2
    for fragment in c.says:
        assert fragment in err.message, (fragment, err.message)
    named = c.named
    if named is not None:
        if c.in_message:
            assert named in err.message, (named, err.message)
        if isinstance(err, InvalidFile):
            assert err.path is not None and Path(err.path).name == Path(named).name, err.path
    if c.line is not None:
        assert isinstance(err, InvalidFile) and err.line == c.line, (err.render(), c.line)
    if c.column is not None:
        assert isinstance(err, InvalidFile) and err.column == c.column, err.render()
    if c.hint:
        assert err.hint, err.render()
    assert "\n" not in err.message, err.message  # one line: the CLI's first line is all of it


# -- the cases ------------------------------------------------------------------------------------
@pytest.mark.parametrize("c", CASES)
def test_refused_with_nothing_committed_and_nothing_lost(
    shared: Lake, tmp_path: Path, c: Case
) -> None:
    folder = tmp_path / "in"
    paths, options = materialise(c, folder)
    tables = (c.table,)
    with Watch(shared, tables, folder):
        with pytest.raises(OakError) as info:
            shared.ingest(paths, c.table, **options)
        check_error(info.value, c)
    if c.cli:
        with Watch(shared, tables, folder):
            first = check_cli_error(run_cli(shared, paths, c.table, options), c.code, hint=c.hint)
        assert first.startswith(f"{c.code}: {info.value.message}")


def test_there_are_enough_cases() -> None:
    ids = [p.values[0].id for p in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 60
    assert sum(p.values[0].cli for p in CASES) >= 30


# -- where the message does not name the file yet ---------------------------------------------
NOT_NAMED = [p for p in CASES if not p.values[0].in_message]


@pytest.mark.parametrize("c", NOT_NAMED)
def test_the_message_names_the_file(shared: Lake, tmp_path: Path, c: Case) -> None:
    paths, options = materialise(c, tmp_path / "in")
    with pytest.raises(OakError) as info:
        shared.ingest(paths, c.table, **options)
    assert info.value.code == c.code
    assert c.named is not None and c.named in info.value.message


NO_HINT = [p for p in CASES if not p.values[0].hint]


@pytest.mark.parametrize("c", NO_HINT)
def test_every_refusal_has_a_hint(shared: Lake, tmp_path: Path, c: Case) -> None:
    paths, options = materialise(c, tmp_path / "in")
    with pytest.raises(OakError) as info:
        shared.ingest(paths, c.table, **options)
    assert info.value.code == c.code
    assert info.value.hint


# -- cases that need more than a file -----------------------------------------------------------
def readable(path: Path) -> bool:
    try:
        path.open("rb").close()
    except PermissionError:
        return False
    return True


def test_unreadable_file(shared: Lake, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    locked = folder / "locked.csv"
    locked.write_bytes(csv(*good(2)))
    locked.chmod(0)
    if os.geteuid() == 0 and readable(locked):
        locked.chmod(0o644)
        pytest.skip("root reads any file, whatever its mode (run without CAP_DAC_OVERRIDE)")
    try:
        before = (table_state(shared, "default.t"), table_state(shared, LEDGER))
        with pytest.raises(OakError) as info:
            shared.ingest(locked, "default.t")
        assert info.value.code == "FILE_UNREADABLE"
        assert "locked.csv" in info.value.message and "permission" in info.value.message
        res = run_cli(shared, [str(locked)], "default.t", {})
        check_cli_error(res, "FILE_UNREADABLE", hint=True, says=("locked.csv",))
        assert (table_state(shared, "default.t"), table_state(shared, LEDGER)) == before
        assert locked.stat().st_mode & 0o777 == 0 and locked.stat().st_size > 0
    finally:
        locked.chmod(0o644)
    assert locked.read_bytes() == csv(*good(2))


def test_a_pipe_is_not_a_file(shared: Lake, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    pipe = folder / "pipe.csv"
    os.mkfifo(pipe)
    with Watch(shared, TABLES, folder):
        with pytest.raises(OakError) as info:
            shared.ingest(pipe, "default.t")  # must not block reading it
        assert info.value.code == "FILE_UNREADABLE"
        assert "pipe.csv" in info.value.message and "not a regular file" in info.value.message
        check_cli_error(run_cli(shared, [str(pipe)], "default.t", {}), "FILE_UNREADABLE",
                        hint=True)  # fmt: skip
    assert pipe.is_fifo()


def test_a_folder_given_as_the_rules_file(shared: Lake, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    data = folder / "o.csv"
    data.write_bytes(csv(*good(1)))
    (folder / "rules.dqdl").mkdir()
    with Watch(shared, TABLES, folder):
        with pytest.raises(OakError) as info:
            shared.ingest(data, "default.t", rules=folder / "rules.dqdl")
        assert info.value.code == "FILE_UNREADABLE", info.value.render()
        assert "rules.dqdl" in info.value.message


def test_a_folder_given_as_the_schema_file(shared: Lake, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    data = folder / "o.csv"
    data.write_bytes(csv(*good(1)))
    (folder / "schemas").mkdir()  # a folder without .sql: taken for DDL text today
    with Watch(shared, ("default.fresh",), folder):
        with pytest.raises(OakError) as info:
            shared.ingest(data, "default.fresh", schema=str(folder / "schemas"))
        assert info.value.code == "FILE_UNREADABLE", info.value.render()
        assert "schemas" in info.value.message


def test_parquet_fractions_into_a_bigint_column(shared: Lake, tmp_path: Path) -> None:
    shared.sql("CREATE TABLE pqfrac (id bigint, name string)")  # its own: today it commits
    folder = tmp_path / "in"
    folder.mkdir()
    data = folder / "p.parquet"
    data.write_bytes(parquet_of(id=[1.5, 2.0])())
    with Watch(shared, ("default.pqfrac",), folder):
        with pytest.raises(OakError) as info:
            shared.ingest(data, "default.pqfrac")
        assert info.value.code == "TYPE_MISMATCH"


@pytest.mark.parametrize(("table", "value"), [("frac1", "2.5"), ("frac2", "3.7"), ("frac3", "1e3")])
def test_a_fraction_in_a_csv_integer_column(
    shared: Lake, tmp_path: Path, table: str, value: str
) -> None:
    shared.sql(f"CREATE TABLE {table} (id bigint, qty int, name string)")
    folder = tmp_path / "in"
    folder.mkdir()
    data = folder / "v.csv"
    data.write_bytes(csv("1,2,a", f"2,{value},b", header="id,qty,name"))
    with Watch(shared, (f"default.{table}",), folder):
        with pytest.raises(OakError) as info:
            shared.ingest(data, f"default.{table}")
        assert info.value.code == "TYPE_MISMATCH"
        assert f"'{value}'" in info.value.message and "v.csv:3" in info.value.message


def test_gzip_truncated_past_the_head(shared: Lake, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    data = folder / "big.csv.gz"
    rows = csv(*[f"{i},n{i}-{i * 7919 % 104729},{i}.5" for i in range(1, 200_001)])
    data.write_bytes(gzip.compress(rows, compresslevel=1)[:-100])
    with Watch(shared, TABLES, folder):
        with pytest.raises(OakError) as info:
            shared.ingest(data, "default.t")
        assert "big.csv.gz" in info.value.message
        assert info.value.code == "INVALID_COMPRESSION", info.value.render()


def test_the_shared_tables_still_hold_their_rows(shared: Lake) -> None:
    """Counted with SQL this time: every refused case above left them as they were."""
    assert shared.sql("SELECT id, name, amount FROM default.t ORDER BY id").rows == [
        (100, "seed", 0.5),
        (101, "seed", 1.5),
    ]
    assert shared.sql("SELECT id, qty, name, amount FROM default.typed").rows == [(1, 2, "a", 1.5)]
    ledger = f"SELECT count(*) FROM {LEDGER} WHERE table_name IN ('default.t', 'default.typed')"
    assert shared.sql(ledger).scalar() == 1  # the seed


# -- positive controls: the same input loads once the cause is removed --------------------------
def test_a_huge_field_loads_when_the_limit_is_raised(shared: Lake, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    data = folder / "huge.csv"
    data.write_bytes(csv(*good(1), "2," + "x" * 5000 + ",2.5"))
    with Watch(shared, (*TABLES, "default.huge"), folder):
        with pytest.raises(OakError) as info:
            shared.ingest(data, "default.huge", max_line_size=1000)
        assert info.value.code == "LINE_TOO_LONG"
    result = shared.ingest(data, "default.huge", max_line_size=100_000)
    assert result.status == "loaded" and result.rows_loaded == 2
    assert shared.sql("SELECT length(name) FROM default.huge WHERE id = 2").scalar() == 5000


def test_a_new_column_loads_with_evolve(shared: Lake, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    base = folder / "base.csv"
    base.write_bytes(csv(*good(2)))
    shared.ingest(base, "default.drift")
    wider = folder / "wider.csv"
    wider.write_bytes(csv("3,c,3.5,x", header="id,name,amount,extra"))
    with Watch(shared, (*TABLES, "default.drift"), folder):
        with pytest.raises(OakError) as info:
            shared.ingest(wider, "default.drift")
        assert info.value.code == "SCHEMA_DRIFT"
        check_cli_error(run_cli(shared, [str(wider)], "default.drift", {}), "SCHEMA_DRIFT",
                        hint=True, says=("--evolve",))  # fmt: skip
    result = shared.ingest(wider, "default.drift", evolve=True)
    assert result.status == "loaded" and result.evolved_columns == ["extra"]
    assert shared.sql("SELECT id, extra FROM default.drift ORDER BY id").rows == [
        (1, None),
        (2, None),
        (3, "x"),
    ]


def test_a_quote_inside_an_unquoted_field_is_kept_as_it_is(shared: Lake, tmp_path: Path) -> None:
    """Not refused (as in Python's csv module and Athena's OpenCSVSerde), but never changed:
    the field loads with its quote."""
    folder = tmp_path / "in"
    folder.mkdir()
    data = folder / "q.csv"
    data.write_bytes(csv('1,a"b,1.5', '2,c"",2.5'))
    result = shared.ingest(data, "default.quotes")
    assert result.rows_loaded == 2
    assert shared.sql("SELECT name FROM default.quotes ORDER BY id").rows == [('a"b',), ('c""',)]


def test_a_valid_merge_batch_loads(shared: Lake, tmp_path: Path) -> None:
    """The merge cases above fail for their keys, not for merging as such."""
    folder = tmp_path / "in"
    folder.mkdir()
    shared.sql("CREATE TABLE merged (id bigint, name string, amount double)")
    shared.sql("INSERT INTO merged VALUES (1, 'a', 1.5)")
    data = folder / "m.csv"
    data.write_bytes(csv("1,a2,9.5", "2,b,2.5"))
    result = shared.ingest(data, "default.merged", mode="merge", key="id")
    assert result.status == "loaded"
    assert shared.sql("SELECT id, name FROM default.merged ORDER BY id").rows == [
        (1, "a2"),
        (2, "b"),
    ]


# -- a failed gate: exit 1, quarantined, nothing committed ------------------------------------
def test_a_failed_gate_quarantines_and_commits_nothing(shared: Lake, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    data = folder / "gate.csv"
    data.write_bytes(csv(*good(2), "3,,3.5"))
    rules = folder / "gate.dqdl"
    rules.write_text('Rules = [ IsComplete "name", RowCount > 0 ]')
    quarantined = shared.settings.root / "quarantine" / "default.t"
    seen = set(quarantined.iterdir()) if quarantined.exists() else set()

    with Watch(shared, TABLES, folder):
        result = shared.ingest(data, "default.t", rules=rules)
        assert result.status == "quarantined" and result.exit_code == 1
        assert result.snapshot_id is None and result.rows_loaded == 0
        assert result.failed_rules() == ['IsComplete "name"']
        with pytest.raises(QualityGateFailed) as info:
            result.raise_for_status()
        assert info.value.code == "QUALITY_GATE_FAILED" and info.value.exit_code == 1

    folder_q = Path(result.quarantine or "")
    assert folder_q.parent == quarantined and folder_q not in seen
    assert (folder_q / "files" / "gate.csv").read_bytes() == data.read_bytes()
    report = json.loads((folder_q / "report.json").read_text())
    assert report["ingest"]["status"] == "quarantined"
    assert report["ingest"]["files"] == [str(data.resolve())]
    failed = [r for r in report["quality"]["rules"] if r["outcome"] != "Passed"]
    assert [r["rule"] for r in failed] == ['IsComplete "name"']
    rows = pq.read_table(folder_q / "rows.parquet")
    assert rows.num_rows == 3
    ids = rows.column("id").to_pylist()
    fails = dict(zip(ids, rows.column("DataQualityRulesFail").to_pylist(), strict=True))
    assert fails[3] == ['IsComplete "name"'] and fails[1] == []

    with Watch(shared, TABLES, folder):
        res = run_cli(shared, [str(data)], "default.t", {"rules": str(rules)})
        assert res.exit_code == 1, (res.stdout, res.stderr)
        assert res.stdout.startswith("QUARANTINED: the batch failed 1 of 2 rules")
        assert 'IsComplete "name"' in res.stdout and "nothing was committed" in res.stdout
        assert "Traceback" not in res.stdout + res.stderr
    assert len(set(quarantined.iterdir()) - seen) == 2
