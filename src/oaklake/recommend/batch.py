"""Batch inference jobs in Personalize's JSON Lines shapes, to a file or a table.

Input lines: ``{"userId": "…"}`` (user recommendations), ``{"itemId": "…"}`` (related items),
``{"userId": "…", "itemList": […]}`` (ranking); ``filterValues`` may ride along. Output lines:
``{"input": {…}, "output": {"recommendedItems", "scores", "reasons"}, "error": null}``
— a bad line gets its ``error`` and the job goes on. A table output has one row per
recommendation: user_id (or item_id for related items), rank, item_id, score, reason.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oaklake.errors import InvalidInput, NotFound, OakError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from oaklake.app import Lake
    from oaklake.recommend.service import Runtime


@dataclass
class BatchResult:
    lines: int
    errors: int
    rows: int
    output: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "errors": self.errors,
            "rows": self.rows,
            "output": self.output,
        }


def input_lines(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        handle = path.open(encoding="utf-8-sig")
    except FileNotFoundError:
        raise NotFound(f"no such input file: {path}", code="FILE_NOT_FOUND") from None
    except OSError as e:
        raise InvalidInput(f"cannot read {path}: {e.strerror}", code="FILE_UNREADABLE") from None
    with handle:
        for n, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line)
            except ValueError as e:
                yield n, InvalidInput(f"line {n} is not JSON: {e.msg}", code="REC_INVALID_ARGUMENT")


def answer(rt: Runtime, body: Any, n: int, filter: str | None) -> dict[str, Any]:
    """One input line's output (errors raised)."""
    if not isinstance(body, dict):
        raise InvalidInput("a batch input line is a JSON object", code="REC_INVALID_ARGUMENT")
    values = body.get("filterValues")
    if "itemList" in body:
        result = rt.rank(body.get("userId"), body["itemList"], filter=filter, filter_values=values)
        items = result["personalizedRanking"]
        return {"recommendedItems": [i["itemId"] for i in items],
                "scores": [i["score"] for i in items],
                "reasons": [i["reasons"] for i in items]}  # fmt: skip
    if "userId" in body:
        result = rt.recommend(str(body["userId"]), n, filter=filter, filter_values=values)
    elif "itemId" in body:
        result = rt.related(str(body["itemId"]), n, filter=filter, filter_values=values)
    else:
        raise InvalidInput(
            "a batch input line needs userId, itemId, or userId with itemList",
            code="REC_INVALID_ARGUMENT",
        )
    items = result["itemList"]
    return {
        "recommendedItems": [i["itemId"] for i in items],
        "scores": [i["score"] for i in items],
        "reasons": [i["reasons"] for i in items],
    }


def run_batch(
    lake: Lake,
    name: str,
    *,
    input: str | os.PathLike[str] | None = None,
    all_users: bool = False,
    output: str,
    n: int = 25,
    filter: str | None = None,
) -> BatchResult:
    """Answer every input line (or every known user) and write the results."""
    from oaklake.recommend.service import Service, check_count

    n = check_count(n)
    if (input is None) == (not all_users):
        raise InvalidInput("give --input FILE.jsonl or --all-users", code="REC_INVALID_ARGUMENT")
    rt = Service(lake).runtime(name)
    if rt.recipe == "trending-now":
        from oaklake.errors import NotSupported

        raise NotSupported(
            "trending-now has no batch mode (as in Personalize): its list changes by the hour",
            hint="call GET /recommendations instead",
        )
    to_table = not output.lower().endswith((".jsonl", ".json", ".ndjson"))
    if to_table:
        check_table_target(lake, output)
    else:
        Path(output).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    lines = (
        ((i + 1, {"userId": str(u)}) for i, u in enumerate(rt.user_ids.tolist()))
        if all_users
        else input_lines(Path(os.fspath(input)).expanduser())  # type: ignore[arg-type]
    )
    outputs: list[dict[str, Any]] = []
    errors = 0
    count = 0
    for _, body in lines:
        count += 1
        if isinstance(body, OakError):
            outputs.append({"input": None, "output": None, "error": body.message})
            errors += 1
            continue
        try:
            outputs.append({"input": body, "output": answer(rt, body, n, filter), "error": None})
        except OakError as e:
            outputs.append({"input": body, "output": None, "error": e.message})
            errors += 1
    if to_table:
        rows = _write_table(lake, output, outputs)
    else:
        rows = write_jsonl(Path(output).expanduser(), outputs)
    return BatchResult(lines=count, errors=errors, rows=rows, output=output)


def write_jsonl(path: Path, outputs: list[dict[str, Any]]) -> int:
    tmp = path.with_name(path.name + ".partial")
    with tmp.open("w", encoding="utf-8") as out:
        for o in outputs:
            body = o["output"]
            if body is not None:
                body = {k: v for k, v in body.items()}
            out.write(json.dumps({"input": o["input"], "output": body, "error": o["error"]}) + "\n")
    os.replace(tmp, path)
    return len(outputs)


def check_table_target(lake: Lake, output: str) -> None:
    from oaklake.engine.ddl import parse_name

    schema, _ = parse_name(lake.engine, output)
    lake.catalog.require_schema(schema)


def _write_table(lake: Lake, output: str, outputs: list[dict[str, Any]]) -> int:
    import pyarrow as pa

    records: list[dict[str, Any]] = []
    for o in outputs:
        if o["output"] is None:
            continue
        inp = o["input"]
        who = inp.get("userId") if "userId" in inp else None
        source_item = inp.get("itemId") if "userId" not in inp else None
        out = o["output"]
        for rank, (item, score, reasons) in enumerate(
            zip(out["recommendedItems"], out["scores"], out["reasons"], strict=True), start=1
        ):
            records.append(
                {
                    "user_id": None if who is None else str(who),
                    "source_item_id": None if source_item is None else str(source_item),
                    "rank": rank,
                    "item_id": str(item),
                    "score": score,
                    "reason": "; ".join(reasons) if reasons else None,
                }
            )
    schema = pa.schema(
        [
            ("user_id", pa.string()),
            ("source_item_id", pa.string()),
            ("rank", pa.int32()),
            ("item_id", pa.string()),
            ("score", pa.float64()),
            ("reason", pa.string()),
        ]
    )
    return write_table(lake, output, pa.Table.from_pylist(records, schema=schema))


_DDL_TYPES = {"string": "string", "int32": "int", "double": "double"}


def write_table(lake: Lake, output: str, table: Any) -> int:
    """Create ``output`` with ``table``'s columns (string, int32, double) and fill it, or
    replace what an existing table holds, in one snapshot."""
    from oaklake.engine.ddl import parse_name

    s, t = parse_name(lake.engine, output)
    if not lake.catalog.table_exists(s, t):
        columns = ", ".join(f"{f.name} {_DDL_TYPES[str(f.type)]}" for f in table.schema)
        lake.sql(f"CREATE TABLE {s}.{t} ({columns})")
        lake.table(f"{s}.{t}").append(table)
    else:
        lake.table(f"{s}.{t}").overwrite(table)
    return int(table.num_rows)
