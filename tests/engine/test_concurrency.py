"""Optimistic concurrency and crash safety, with real processes.

4 processes x 50 statements (INSERT, UPDATE increments, MERGE increments) on one table must end
in exactly the serial result: no lost update. A writer killed with SIGKILL at random moments must
leave the table readable at its last committed snapshot, with its invariant intact.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from oaklake.app import Lake

WORKER = textwrap.dedent(
    """
    import sys
    import oaklake
    lake = oaklake.connect(sys.argv[1])
    worker, count = int(sys.argv[2]), int(sys.argv[3])
    for k in range(count):
        row = k % 10
        kind = k % 3
        if kind == 0:
            lake.sql(f"INSERT INTO counters VALUES ({1000 + worker * 100 + k}, 1)")
        elif kind == 1:
            lake.sql(f"UPDATE counters SET n = n + 1 WHERE id = {row}")
        else:
            lake.sql(
                f"MERGE INTO counters AS c USING (SELECT {row} AS id) AS s ON c.id = s.id "
                "WHEN MATCHED THEN UPDATE SET n = c.n + 1 "
                "WHEN NOT MATCHED THEN INSERT (id, n) VALUES (s.id, 1)"
            )
    print("done", worker)
    """
)


@pytest.mark.slow
def test_four_writers_lose_no_update(lake: Lake, tmp_path: Path) -> None:
    lake.sql("CREATE TABLE counters (id bigint, n bigint) PARTITIONED BY (bucket(2, id))")
    lake.sql("INSERT INTO counters SELECT i, 0 FROM unnest(sequence(0, 9)) AS x(i)")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "OAKLAKE_COMMIT_RETRIES": "200"}
    writers, statements = 4, 50
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(lake.settings.root), str(w), str(statements)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(writers)
    ]
    for p in procs:
        out, err = p.communicate(timeout=900)
        assert p.returncode == 0, err[-3000:]
        assert out.startswith("done")
    # The serial result: every statement adds exactly 1 to sum(n); inserts add one row each.
    inserts_per_writer = len(range(0, statements, 3))
    total, rows, base = lake.sql(
        "SELECT sum(n), count(*), count(*) FILTER (WHERE id < 10) FROM counters"
    ).rows[0]
    assert total == writers * statements
    assert rows == 10 + writers * inserts_per_writer
    assert base == 10
    per_row = dict(lake.sql("SELECT id, n FROM counters WHERE id < 10").rows)
    expected = {r: 0 for r in range(10)}
    for _ in range(writers):
        for k in range(statements):
            if k % 3:
                expected[k % 10] += 1
    assert per_row == expected
    # every statement committed exactly one snapshot
    snapshots = lake.sql('SELECT count(*) FROM "counters$snapshots"').scalar()
    assert snapshots == 1 + writers * statements  # CREATE makes none, the seed INSERT one


CRASHER = textwrap.dedent(
    """
    import sys, random
    import oaklake
    lake = oaklake.connect(sys.argv[1])
    rng = random.Random(int(sys.argv[2]))
    while True:
        a, b = rng.sample(range(20), 2)
        kind = rng.random()
        if kind < 0.4:
            x = rng.randint(1, 99)
            lake.sql(f"INSERT INTO ledger VALUES ({rng.randint(100, 10**9)}, {x}), "
                     f"({rng.randint(100, 10**9)}, {-x})")
        elif kind < 0.8:
            lake.sql(f"UPDATE ledger SET v = CASE WHEN id = {a} THEN v + 5 ELSE v - 5 END "
                     f"WHERE id IN ({a}, {b})")
        else:
            lake.sql(f"MERGE INTO ledger AS l USING (SELECT {a} AS id, 3 AS d UNION ALL "
                     f"SELECT {b}, -3) AS s ON l.id = s.id "
                     "WHEN MATCHED THEN UPDATE SET v = l.v + s.d")
        print("ok", flush=True)
    """
)


@pytest.mark.slow
def test_kill_9_during_writes_leaves_a_readable_consistent_table(
    lake: Lake, tmp_path: Path
) -> None:
    lake.sql("CREATE TABLE ledger (id bigint, v bigint) PARTITIONED BY (bucket(4, id))")
    lake.sql("INSERT INTO ledger SELECT i, 0 FROM unnest(sequence(0, 19)) AS x(i)")
    script = tmp_path / "crasher.py"
    script.write_text(CRASHER)
    rng = random.Random(1234)
    committed_writes = 0
    kills = 0
    while committed_writes < 100:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(lake.settings.root), str(kills)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Let it get going (imports take a moment), then kill it at a random moment mid-write.
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if not first.startswith("ok"):
            proc.kill()
            assert proc.stderr is not None
            pytest.fail(f"the writer died before its first commit: {proc.stderr.read()[-3000:]}")
        assert time.monotonic() < deadline
        time.sleep(rng.uniform(0.0, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        # The table must read at its last committed snapshot, and the invariant must hold.
        fresh = type(lake)(lake.settings)
        total, count = fresh.sql("SELECT sum(v), count(*) FROM ledger").rows[0]
        fresh.close()
        assert total == 0
        assert count >= 20 and count % 2 == 0
        committed_writes = int(lake.sql('SELECT count(*) FROM "ledger$snapshots"').scalar()) - 1
    assert kills >= 3
    # What the killed writers left behind is orphaned; VACUUM removes it and nothing else.
    location = Path(lake.table("ledger").iceberg.location().removeprefix("file://"))
    live = set(lake.sql('SELECT file_path FROM "ledger$files"').to_arrow()["file_path"].to_pylist())
    live = {p.removeprefix("file://") for p in live}
    lake.sql("ALTER TABLE ledger SET TBLPROPERTIES ('vacuum_max_snapshot_age_seconds'='0')")
    lake.sql("VACUUM ledger")
    on_disk = {str(p) for p in (location / "data").rglob("*.parquet")}
    assert on_disk == live
    total, count = lake.sql("SELECT sum(v), count(*) FROM ledger").rows[0]
    assert total == 0
