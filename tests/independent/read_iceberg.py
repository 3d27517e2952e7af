"""Read an Iceberg table with DuckDB's own Iceberg extension and print the result as JSON.

This is the independent reader of tests/independent: it runs with the Python of
``.tools/iceberg-reader`` (made by ``setup_reader.sh``), never with oaklake's environment, and
imports nothing from oaklake. It knows only the table's ``metadata.json`` location, as any other
Iceberg engine would, so whatever it reads back proves the table is standard Iceberg.

    .tools/iceberg-reader/bin/python tests/independent/read_iceberg.py \\
        METADATA_JSON "SELECT * FROM t ORDER BY id" [--snapshot-id ID] [--name t]

The query is DuckDB SQL over a view (``t`` unless ``--name`` says otherwise) on
``iceberg_scan(METADATA_JSON)``; ``read_avro`` and the ``iceberg_*`` functions are there too.
Output: ``{"columns": [...], "types": [...], "rows": [[...], ...]}``. ``--serve`` answers many
queries in one process (loading the extensions costs about a second): one JSON request per input
line, ``{"metadata": …, "sql": …, "snapshot_id": …, "name": …}``, one JSON answer per output line,
with ``"error"`` set instead of rows when the query failed. JSON has no decimal, date,
timestamp or bytes, so those values are tagged (``{"$decimal": "12.34"}``, ``{"$date": …}``,
``{"$timestamp": …}``, ``{"$bytes": hex}``, also ``{"$float": "nan"}``) and the caller decodes
them back to the same Python types, which keeps the comparison type-aware. ``--check`` loads the
extensions and prints their versions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import math
import sys
import uuid
from pathlib import Path
from typing import Any

EXTENSIONS = ("avro", "iceberg")  # httpfs is installed too, and loaded only for remote tables


def extension_path(name: str) -> Path:
    """The ``.duckdb_extension`` file that the ``duckdb-extension-<name>`` wheel ships."""
    import importlib

    package = importlib.import_module(f"duckdb_extension_{name}")
    root = Path(package.__file__).parent / "extensions"
    found = sorted(root.glob(f"*/{name}.duckdb_extension"))
    if not found:
        raise SystemExit(f"no {name}.duckdb_extension inside {root}")
    return found[-1]


def connect(*, remote: bool = False) -> Any:
    """A DuckDB connection that can never download anything: extensions load by file path."""
    import duckdb

    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    for name in (*EXTENSIONS, "httpfs") if remote else EXTENSIONS:
        con.execute(f"LOAD '{_sql_str(str(extension_path(name)))}'")
    return con


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


def encode(value: Any) -> Any:
    """A JSON value for a DuckDB result value, tagging the types JSON cannot hold."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, decimal.Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {"$timestamp": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dt.time):
        return {"$time": value.isoformat()}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": bytes(value).hex()}
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    if isinstance(value, dict):
        return {"$struct": [[str(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    raise TypeError(f"cannot encode {type(value).__name__} {value!r}")


def run(
    metadata: str, sql: str, *, name: str = "t", snapshot_id: int | None = None, con: Any = None
) -> dict:
    if con is None:
        con = connect(remote=_remote(metadata))
    args = [f"'{_sql_str(metadata)}'"]
    if snapshot_id is not None:
        args.append(f"snapshot_from_id = {int(snapshot_id)}")
    con.execute(
        f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT * FROM iceberg_scan({", ".join(args)})'
    )
    cursor = con.execute(sql)
    columns = [d[0] for d in cursor.description or []]
    types = [str(d[1]) for d in cursor.description or []]
    rows = [[encode(v) for v in row] for row in cursor.fetchall()]
    return {"columns": columns, "types": types, "rows": rows}


def _remote(metadata: str) -> bool:
    return "://" in metadata and not metadata.startswith("file://")


def serve(lines: Any, out: Any) -> None:
    """Answer one JSON request per line; a failed query answers ``{"error": …}`` and goes on."""
    cons: dict[bool, Any] = {}
    for line in lines:
        if not line.strip():
            continue
        request = json.loads(line)
        remote = _remote(request["metadata"])
        try:
            if remote not in cons:
                cons[remote] = connect(remote=remote)
            answer = run(
                request["metadata"],
                request["sql"],
                name=request.get("name") or "t",
                snapshot_id=request.get("snapshot_id"),
                con=cons[remote],
            )
        except Exception as e:  # a DuckDB error of any kind, reported to the caller
            answer = {"error": f"{type(e).__name__}: {e}"}
            cons.pop(remote, None)  # an internal error can leave the connection unusable
        out.write(json.dumps(answer) + "\n")
        out.flush()


def check() -> dict:
    import duckdb

    con = connect()
    loaded = con.execute(
        "SELECT extension_name, extension_version FROM duckdb_extensions() "
        "WHERE loaded AND extension_name IN ('avro', 'iceberg') ORDER BY 1"
    ).fetchall()
    return {"duckdb": duckdb.__version__, "extensions": dict(loaded)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("metadata", nargs="?", help="location of the table's metadata.json")
    parser.add_argument("sql", nargs="?", help="DuckDB SQL over the view named by --name")
    parser.add_argument("--name", default="t", help="the view's name in the query (default t)")
    parser.add_argument("--snapshot-id", type=int, help="read this snapshot (time travel)")
    parser.add_argument("--check", action="store_true", help="load the extensions, print versions")
    parser.add_argument("--serve", action="store_true", help="answer JSON-line requests on stdin")
    ns = parser.parse_args(argv)
    if ns.serve:
        serve(sys.stdin, sys.stdout)
        return 0
    if ns.check:
        out = check()
    else:
        if not ns.metadata or not ns.sql:
            parser.error("give METADATA_JSON and SQL (or --check)")
        out = run(ns.metadata, ns.sql, name=ns.name, snapshot_id=ns.snapshot_id)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
