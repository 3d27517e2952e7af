"""Exactly once under failure: an ingest killed with SIGKILL, and writers racing an ingest.

A driver process runs one ingest and is killed at a chosen phase: mid-read (the test kills it
once the batch is being written to the staging folder), right before the data commit, or
right after it but before the ledger append (the driver patches the function that starts the
phase to kill its own process, so the phase is hit deterministically). Afterwards the table
must be exactly as it was, or, once the commit happened, the file must count as loaded: the
ledger is repaired from the snapshot summary and a second ingest of the same file is skipped.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import oaklake
from oaklake.app import Lake
from oaklake.ingest import ledger as ledger_mod

OAKLAKE = Path(sys.executable).with_name("oaklake")
TABLE = "default.events"
BIG_ROWS = 300_000
DEADLINE = 120.0

DRIVER = textwrap.dedent(
    """
    import os, signal, sys
    import oaklake

    root, path, table, phase = sys.argv[1:5]

    def die(*args, **kwargs):
        print("dying", phase, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    if phase == "before-commit":
        import oaklake.catalog.commit
        oaklake.catalog.commit.commit_files = die
        oaklake.catalog.commit.commit_transaction = die
    elif phase == "after-commit":
        from oaklake.ingest.ledger import Ledger
        real_record = Ledger.record

        def record(self, table, full_name, entries):
            if entries:  # the batch's own entries; repair() passes none on a clean table
                die()
            return real_record(self, table, full_name, entries)

        Ledger.record = record
    lake = oaklake.connect(root)
    result = lake.ingest(path, table)
    print("finished", result.status, result.rows_loaded, flush=True)
    """
)


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OAKLAKE_")}


def write_rows(path: Path, first: int, n: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("id,kind,amount,day\n")
        out.writelines(
            f"{i},kind-{i % 97},{i % 1000}.25,2024-01-{i % 28 + 1:02d}\n"
            for i in range(first, first + n)
        )
    return path


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CSV large enough that reading it takes a noticeable while (about 10 MB)."""
    return write_rows(tmp_path_factory.mktemp("big") / "big.csv", 0, BIG_ROWS)


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return write_rows(tmp_path / "small.csv", 1_000_000, 2_000)


def seed(lake: Lake, tmp_path: Path) -> None:
    """Create the table with one ingested batch of 10 rows (so the ledger table exists too)."""
    path = write_rows(tmp_path / "seed.csv", -10, 10)
    assert lake.ingest(path, TABLE).status == "loaded"


@pytest.fixture
def seeded(lake: Lake, tmp_path: Path) -> Lake:
    seed(lake, tmp_path)
    return lake


def driver(lake: Lake, tmp_path: Path, path: Path, phase: str) -> subprocess.Popen[str]:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER, encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, str(script), str(lake.settings.root), str(path), TABLE, phase],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the driver hung: {err[-3000:]}")
    return proc.returncode, out, err


def state(lake: Lake) -> tuple[int | None, int]:
    """(current snapshot id, row count) of the table, read afresh."""
    fresh = oaklake.connect(lake.settings.root)
    try:
        table = fresh.engine.load_table("default", "events")
        snap = table.current_snapshot()
        rows = int(fresh.sql(f"SELECT count(*) FROM {TABLE}").scalar())
        return (snap.snapshot_id if snap is not None else None), rows
    finally:
        fresh.close()


def ledger_rows(lake: Lake) -> list[tuple[Any, ...]]:
    if not lake.catalog.table_exists(ledger_mod.SYSTEM_SCHEMA, ledger_mod.LEDGER_TABLE):
        return []
    return lake.sql(
        f"SELECT file_name, sha256, snapshot_id, batch_rows FROM {ledger_mod.LEDGER} "
        "ORDER BY ingested_at"
    ).rows


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def loads_exactly_once(lake: Lake, path: Path, rows_before: int, n: int) -> None:
    """The file the killed process was loading loads now, and only once."""
    result = lake.ingest(path, TABLE)
    assert result.status == "loaded"
    assert result.rows_loaded == n
    assert state(lake)[1] == rows_before + n
    again = lake.ingest(path, TABLE)
    assert again.status == "skipped"
    assert again.skipped_files == [str(path)]
    assert state(lake)[1] == rows_before + n
    assert [r[0] for r in ledger_rows(lake)].count(path.name) == 1


# -- killed ---------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("exists", [True, False], ids=["existing-table", "new-table"])
def test_killed_mid_read_leaves_the_table_unchanged(
    lake: Lake, tmp_path: Path, big: Path, exists: bool
) -> None:
    if exists:
        seed(lake, tmp_path)
        before = state(lake)
    ledger_before = ledger_rows(lake)
    staging = lake.settings.root / ".oaklake" / "staging"
    proc = driver(lake, tmp_path, big, "read")
    deadline = time.monotonic() + DEADLINE
    # Kill as soon as the batch's Parquet is being written into the staging folder.
    while not any(staging.glob("*/part-*.parquet")):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            _, out, err = finish(proc)
            pytest.fail(f"never saw the batch being staged: {out} {err[-3000:]}")
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    code, out, _ = finish(proc)
    assert code == -signal.SIGKILL
    assert "finished" not in out
    assert ledger_rows(lake) == ledger_before
    if exists:
        assert state(lake) == before
        loads_exactly_once(lake, big, before[1], BIG_ROWS)
    else:
        assert not lake.catalog.table_exists("default", "events")
        loads_exactly_once(lake, big, 0, BIG_ROWS)
    # The killed process's staging folder went with the next ingest.
    assert not staging.exists() or list(staging.iterdir()) == []


@pytest.mark.slow
def test_killed_right_before_the_commit_leaves_the_table_unchanged(
    seeded: Lake, tmp_path: Path, small: Path
) -> None:
    before = state(seeded)
    ledger_before = ledger_rows(seeded)
    code, out, err = finish(driver(seeded, tmp_path, small, "before-commit"))
    assert code == -signal.SIGKILL, err[-3000:]
    assert "dying before-commit" in out
    assert state(seeded) == before
    assert ledger_rows(seeded) == ledger_before
    loads_exactly_once(seeded, small, before[1], 2_000)


@pytest.mark.slow
def test_killed_right_before_the_first_commit_leaves_no_table(
    lake: Lake, tmp_path: Path, small: Path
) -> None:
    code, out, err = finish(driver(lake, tmp_path, small, "before-commit"))
    assert code == -signal.SIGKILL, err[-3000:]
    assert "dying before-commit" in out
    assert not lake.catalog.table_exists("default", "events")


@pytest.mark.slow
def test_killed_after_the_commit_before_the_ledger_counts_as_loaded(
    lake: Lake, tmp_path: Path, small: Path
) -> None:
    code, out, err = finish(driver(lake, tmp_path, small, "after-commit"))
    assert code == -signal.SIGKILL, err[-3000:]
    assert "dying after-commit" in out
    # The data commit happened: the rows are there, the snapshot names the batch and file...
    snapshot, rows = state(lake)
    assert rows == 2_000
    [(snap_id, batch, files)] = lake.sql(
        f"SELECT snapshot_id, summary['{ledger_mod.BATCH_KEY}'], "
        f"summary['{ledger_mod.FILES_KEY}'] FROM \"events$snapshots\""
    ).rows
    assert snap_id == snapshot
    assert batch
    assert sha256(small) in files
    # ...but the ledger append never ran.
    assert ledger_rows(lake) == []
    # Ingesting the same file again is skipped, and the ledger is repaired from the summary.
    again = lake.ingest(small, TABLE)
    assert again.status == "skipped"
    assert again.skipped_files == [str(small)]
    assert state(lake) == (snapshot, 2_000)
    assert ledger_rows(lake) == [("small.csv", sha256(small), snapshot, 2_000)]
    [(batch_id,)] = lake.sql(f"SELECT batch_id FROM {ledger_mod.LEDGER}").rows
    assert batch_id == batch
    # Another ingest afterwards does not copy the entry a second time.
    other = write_rows(tmp_path / "other.csv", 5_000_000, 5)
    assert lake.ingest(other, TABLE).status == "loaded"
    assert [r[0] for r in ledger_rows(lake)] == ["small.csv", "other.csv"]


# -- racing writers ---------------------------------------------------------------------------
def commit_after(
    monkeypatch: pytest.MonkeyPatch,
    run_first: list[str],
    lake: Lake,
    where: str = "stage_files",
) -> list[subprocess.CompletedProcess[str]]:
    """Make the ingest's data commit wait for another process to commit first: the ingest's
    first call of ``where`` (``catalog.commit.stage_files``: the snapshot is being built; or
    ``ingest.load._not_loaded_meanwhile``: the last look at the table before it) runs
    ``oaklake RUN_FIRST…`` (a real, separate writer) before it goes on."""
    import oaklake.catalog.commit as commit
    import oaklake.ingest.load as load

    module = commit if where == "stage_files" else load
    real = getattr(module, where)
    ran: list[subprocess.CompletedProcess[str]] = []

    def racing(*args: Any, **kwargs: Any) -> Any:
        operation = (kwargs.get("properties") or {}).get("oaklake.operation", "ingest")
        if operation == "ingest" and not ran:
            ran.append(
                subprocess.run(
                    [str(OAKLAKE), *run_first, "-w", str(lake.settings.root)],
                    capture_output=True,
                    text=True,
                    env=env(),
                    timeout=DEADLINE,
                )
            )
        return real(*args, **kwargs)

    monkeypatch.setattr(module, where, racing)
    return ran


@pytest.mark.slow
def test_a_concurrent_writer_during_an_ingest_keeps_both_changes(
    seeded: Lake, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    insert = "INSERT INTO events VALUES (-100, 'other', 1.5, DATE '2024-02-01')"
    ran = commit_after(monkeypatch, ["sql", insert], seeded)
    result = seeded.ingest(small, TABLE)
    [other] = ran
    assert other.returncode == 0, other.stderr
    assert result.status == "loaded"
    assert result.rows_loaded == 2_000
    ids = {r[0] for r in seeded.sql(f"SELECT id FROM {TABLE}").rows}
    assert len(ids) == 10 + 1 + 2_000
    assert -100 in ids and 1_000_000 in ids and 1_001_999 in ids
    # Three snapshots in order: the seed, the other writer's INSERT, then the ingest on top.
    snaps = seeded.sql(
        f"SELECT snapshot_id, parent_id, summary['{ledger_mod.BATCH_KEY}'] "
        'FROM "events$snapshots" ORDER BY committed_at'
    ).rows
    assert len(snaps) == 3
    (_, _, seed_batch), (insert_id, _, insert_batch), (ingest_id, parent, batch) = snaps
    assert seed_batch is not None and insert_batch is None
    assert (ingest_id, parent, batch) == (result.snapshot_id, insert_id, result.batch_id)
    assert ledger_rows(seeded)[-1] == ("small.csv", sha256(small), result.snapshot_id, 2_000)


@pytest.mark.slow
def test_two_overlapping_ingests_of_the_same_file_load_it_once(
    seeded: Lake, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = commit_after(
        monkeypatch, ["ingest", str(small), "--table", TABLE], seeded, "_not_loaded_meanwhile"
    )
    result = seeded.ingest(small, TABLE)
    [other] = ran
    assert other.returncode == 0, other.stderr
    assert "loaded" in other.stdout
    assert result.status == "skipped" and result.skipped_files == [str(small)]
    assert state(seeded)[1] == 10 + 2_000
    assert [r[0] for r in ledger_rows(seeded)].count("small.csv") == 1


def test_the_next_ingest_sweeps_what_killed_ones_left(lake: Lake, tmp_path: Path) -> None:
    """Staging folders of a dead process on this machine, or older than a day, are removed by
    the next ingest; a live process's folder is left alone."""
    import socket

    from oaklake.ingest.load import sweep_staging

    base = lake.settings.root / ".oaklake" / "staging"
    base.mkdir(parents=True)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    host = socket.gethostname()
    folders = {}
    for name, owner in (("dead", f"{host} {gone.stdout.strip()}"),
                        ("alive", f"{host} {os.getpid()}"),
                        ("elsewhere", f"another-host {gone.stdout.strip()}"),
                        ("ancient", None)):  # fmt: skip
        folders[name] = base / name
        folders[name].mkdir()
        (folders[name] / "part-1.parquet").write_bytes(b"x")
        if owner is not None:
            (base / f"{name}.owner").write_text(owner)
    day_ago = time.time() - 2 * 24 * 3600
    os.utime(folders["ancient"], (day_ago, day_ago))
    (base / "orphan.owner").write_text(f"{host} {gone.stdout.strip()}")  # died before its COPY
    path = tmp_path / "one.csv"
    path.write_text("id,name\n1,a\n")
    lake.ingest(path, "default.swept")
    left = sorted(p.name for p in base.iterdir())
    assert left == ["alive", "alive.owner", "elsewhere", "elsewhere.owner"]
    assert sweep_staging(lake.settings.root) == []
