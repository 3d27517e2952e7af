"""The landing zone: ``oaklake ingest --watch`` and ``oaklake.ingest.watch.watch``.

The Python API runs in a thread with its own Lake (its own DuckDB connection and catalog
session), and the test waits on what it reports: ``on_event`` after each file and ``on_idle``
after each look that found nothing ready. Waiting for idle looks is how a test knows the
watcher has *seen* a state of the folder, without sleeping for a guessed time. The command
line runs as a real process and is stopped with real signals.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import oaklake
from oaklake.app import Lake
from oaklake.errors import InvalidInput, NotFound
from oaklake.ingest.load import IngestOptions
from oaklake.ingest.read import ReadOptions
from oaklake.ingest.watch import WatchEvent, WatchSummary, watch

OAKLAKE = Path(sys.executable).with_name("oaklake")
TABLE = "default.landing"
DEADLINE = 60.0  # seconds: a generous bound for anything to happen on a loaded machine


def csv_rows(first: int, n: int) -> str:
    return "".join(f"{i},name-{i}\n" for i in range(first, first + n))


def drop(folder: Path, name: str, text: str) -> Path:
    """Put a complete file into the landing folder the way a careful uploader does: write it
    under a hidden name, then rename it into place."""
    hidden = folder / f".{name}.uploading"
    hidden.write_text(text, encoding="utf-8")
    final = folder / name
    os.replace(hidden, final)
    return final


def wait_until(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)  # a polling step, not a timing assumption


class Watcher:
    """``watch()`` in a thread, with what it reported."""

    def __init__(
        self, root: Path, folder: Path, options: IngestOptions | None = None, **kw: Any
    ) -> None:
        self.root = root
        self.folder = folder
        self.options = options or IngestOptions()
        self.kw = {"interval": 0.05, "settle": 0.0, **kw}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.events: list[WatchEvent] = []
        self.idle = 0
        self.summary: WatchSummary | None = None
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="watcher", daemon=True)

    def _run(self) -> None:
        lake = oaklake.connect(self.root)
        try:
            self.summary = watch(
                lake, self.folder, TABLE, self.options, stop=self.stop,
                on_event=self._event, on_idle=self._idle, **self.kw,
            )  # fmt: skip
        except BaseException as e:  # reported to the test thread
            self.failure = e
        finally:
            lake.close()

    def _event(self, event: WatchEvent) -> None:
        with self.lock:
            self.events.append(event)

    def _idle(self) -> None:
        with self.lock:
            self.idle += 1

    def __enter__(self) -> Watcher:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> WatchSummary:
        self.stop.set()
        self.thread.join(DEADLINE)
        assert not self.thread.is_alive(), "the watcher did not stop"
        if self.failure is not None:
            raise self.failure
        assert self.summary is not None
        return self.summary

    def _check(self) -> None:
        if self.failure is not None:
            raise self.failure

    def wait_events(self, n: int) -> list[WatchEvent]:
        def enough() -> bool:
            self._check()
            if not self.thread.is_alive() and len(self.events) < n:
                pytest.fail(f"the watcher ended after {len(self.events)} of {n} events")
            return len(self.events) >= n

        wait_until(enough, f"{n} event(s)")
        with self.lock:
            return list(self.events)

    def wait_idle_looks(self, n: int = 2) -> None:
        """Wait until the watcher has looked at the folder ``n`` more times and found nothing
        ready: everything in the folder now has been seen by it."""
        start = self.idle

        def looked() -> bool:
            self._check()
            return self.idle >= start + n

        wait_until(looked, f"{n} idle look(s)")

    def events_for(self, name: str) -> list[WatchEvent]:
        with self.lock:
            return [e for e in self.events if e.path.name == name]


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    return folder


@pytest.fixture
def table(lake: Lake) -> Lake:
    lake.sql("CREATE TABLE landing (id bigint, name string)")
    return lake


def ids(lake: Lake) -> list[int]:
    return sorted(r[0] for r in lake.sql(f"SELECT id FROM {TABLE}").rows)


def snapshots(lake: Lake) -> list[tuple[int, str]]:
    return lake.sql(
        "SELECT snapshot_id, summary['oaklake.ingest.batch-id'] FROM \"landing$snapshots\" "
        "ORDER BY committed_at"
    ).rows


def ledger_names(lake: Lake) -> list[str]:
    return sorted(
        r[0]
        for r in lake.sql(
            "SELECT file_name FROM oaklake_system.ingest_ledger "
            "WHERE table_name = 'default.landing'"
        ).rows
    )


# -- the Python API ----------------------------------------------------------------------------
def test_dropped_files_arrive_in_the_table_one_commit_each(table: Lake, landing: Path) -> None:
    with Watcher(table.settings.root, landing) as w:
        drop(landing, "a.csv", "id,name\n" + csv_rows(1, 3))
        [first] = w.wait_events(1)
        drop(landing, "b.csv", "id,name\n" + csv_rows(10, 2))
        events = w.wait_events(2)
    assert [e.path.name for e in events] == ["a.csv", "b.csv"]
    assert first.error is None and first.result is not None
    assert [e.result.status for e in events if e.result] == ["loaded", "loaded"]
    assert [e.result.rows_loaded for e in events if e.result] == [3, 2]
    assert ids(table) == [1, 2, 3, 10, 11]
    # One snapshot per file, each the commit of that file's batch.
    snaps = snapshots(table)
    assert [s for s, _ in snaps] == [e.result.snapshot_id for e in events if e.result]
    assert [b for _, b in snaps] == [e.result.batch_id for e in events if e.result]
    assert ledger_names(table) == ["a.csv", "b.csv"]
    assert w.summary is not None
    assert (w.summary.batches, w.summary.loaded, w.summary.rows_loaded) == (2, 2, 5)


def test_a_file_being_written_is_loaded_once_complete_exactly_once(
    table: Lake, landing: Path
) -> None:
    # settle is far longer than the writer's pauses (two idle looks at a 0.05 s interval).
    with Watcher(table.settings.root, landing, settle=3.0) as w:
        path = landing / "slow.csv"
        with path.open("w", encoding="utf-8") as out:
            out.write("id,name\n")
            for chunk in range(5):
                out.write(csv_rows(chunk * 100, 100))
                out.write(f"{chunk * 100 + 99999},partial")  # a row cut in the middle
                out.flush()
                w.wait_idle_looks(2)
                assert w.events_for("slow.csv") == []
                # finish the cut row's name
                out.write(f"-{chunk}\n")
                out.flush()
        [event] = w.wait_events(1)
        # Some more looks at the finished file: it is not loaded again.
        w.wait_idle_looks(3)
    assert event.path == path
    assert event.result is not None and event.result.status == "loaded"
    assert event.result.rows_loaded == 505
    assert len(w.events) == 1
    assert len(ids(table)) == 505
    names = dict(table.sql(f"SELECT id, name FROM {TABLE} WHERE id >= 99999").rows)
    assert names == {chunk * 100 + 99999: f"partial-{chunk}" for chunk in range(5)}
    assert len(snapshots(table)) == 1


@pytest.mark.parametrize("fmt", [None, "csv"], ids=["by-suffix", "format-csv"])
def test_a_part_file_is_taken_only_after_its_rename(
    table: Lake, landing: Path, fmt: str | None
) -> None:
    # With --format given every name is a candidate by its suffix: only the name rules remain.
    options = IngestOptions(read=ReadOptions(format=fmt))
    with Watcher(table.settings.root, landing, options) as w:
        part = landing / "x.csv.part"
        part.write_text("id,name\n" + csv_rows(1, 50), encoding="utf-8")
        w.wait_idle_looks(3)
        assert w.events == []
        part.rename(landing / "x.csv")
        [event] = w.wait_events(1)
        w.wait_idle_looks(2)
    assert event.path.name == "x.csv"
    assert event.result is not None and event.result.rows_loaded == 50
    assert len(w.events) == 1
    assert ids(table) == list(range(1, 51))


def test_hidden_files_markers_and_temporary_files_are_ignored(table: Lake, landing: Path) -> None:
    body = "id,name\n" + csv_rows(100, 2)
    for name in (".hidden.csv", "_SUCCESS", "_started.csv", "y.csv.tmp", "z.csv.crdownload",
                 "~lock.csv", "notes.md"):  # fmt: skip
        (landing / name).write_text(body, encoding="utf-8")
    (landing / "sub").mkdir()
    (landing / "sub" / "nested.csv").write_text(body, encoding="utf-8")
    with Watcher(table.settings.root, landing) as w:
        w.wait_idle_looks(2)
        assert w.events == []
        drop(landing, "real.csv", "id,name\n" + csv_rows(1, 2))
        [event] = w.wait_events(1)
        w.wait_idle_looks(2)
    assert event.path.name == "real.csv"
    assert len(w.events) == 1
    assert ids(table) == [1, 2]


def test_a_bad_file_is_reported_and_the_watcher_goes_on(table: Lake, landing: Path) -> None:
    with Watcher(table.settings.root, landing) as w:
        drop(landing, "bad.csv", "id,name\n1,a\nnot-a-number,b\n")
        [bad] = w.wait_events(1)
        drop(landing, "good.csv", "id,name\n" + csv_rows(5, 2))
        w.wait_events(2)
        # The bad file, unchanged, is not tried again.
        w.wait_idle_looks(3)
        assert len(w.events_for("bad.csv")) == 1
        # Once it is fixed (it changes), it is retried and loaded.
        drop(landing, "bad.csv", "id,name\n1,a\n2,b\n")
        w.wait_events(3)
        w.wait_idle_looks(2)
    assert bad.result is None
    assert bad.error is not None
    assert bad.error.code == "TYPE_MISMATCH"
    assert "bad.csv" in str(bad.error)
    [good] = w.events_for("good.csv")
    assert good.result is not None and good.result.status == "loaded"
    retried = w.events_for("bad.csv")
    assert len(retried) == 2
    assert retried[1].error is None
    assert retried[1].result is not None and retried[1].result.status == "loaded"
    assert ids(table) == [1, 2, 5, 6]
    summary = w.summary
    assert summary is not None
    assert (summary.batches, summary.loaded, summary.failed) == (3, 2, 1)


def test_a_gate_failure_quarantines_that_file_and_goes_on(
    table: Lake, landing: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "gate.dqdl"
    rules.write_text('Rules = [ IsComplete "name" ]', encoding="utf-8")
    options = IngestOptions(rules=rules)
    with Watcher(table.settings.root, landing, options) as w:
        drop(landing, "holes.csv", "id,name\n1,a\n2,\n")
        [failed] = w.wait_events(1)
        drop(landing, "fine.csv", "id,name\n3,c\n")
        w.wait_events(2)
    assert failed.result is not None
    assert failed.result.status == "quarantined"
    folder = Path(failed.result.quarantine or "")
    assert (folder / "files" / "holes.csv").read_bytes() == b"id,name\n1,a\n2,\n"
    [fine] = w.events_for("fine.csv")
    assert fine.result is not None and fine.result.status == "loaded"
    assert ids(table) == [3]
    assert w.summary is not None
    assert (w.summary.quarantined, w.summary.loaded) == (1, 1)


def run_until_done(root: Path, folder: Path, batches: int) -> WatchSummary:
    """A watcher that ends by itself after ``batches`` files."""
    w = Watcher(root, folder, max_batches=batches)
    with w:
        wait_until(lambda: not w.thread.is_alive(), f"the watcher to end after {batches} files")
    assert w.summary is not None
    return w.summary


def test_restarting_on_the_same_folder_loads_nothing_twice(table: Lake, landing: Path) -> None:
    drop(landing, "a.csv", "id,name\n" + csv_rows(1, 2))
    drop(landing, "b.csv", "id,name\n" + csv_rows(3, 2))
    first = run_until_done(table.settings.root, landing, 2)
    assert (first.loaded, first.skipped) == (2, 0)
    drop(landing, "c.csv", "id,name\n" + csv_rows(5, 2))
    # The same content under a new name is the same file to the ledger.
    drop(landing, "a-copy.csv", (landing / "a.csv").read_text(encoding="utf-8"))
    second = run_until_done(table.settings.root, landing, 4)
    status = {e.path.name: e.result.status for e in second.events if e.result}
    assert status == {"a.csv": "skipped", "b.csv": "skipped", "c.csv": "loaded",
                      "a-copy.csv": "skipped"}  # fmt: skip
    assert (second.loaded, second.skipped, second.failed) == (1, 3, 0)
    assert ids(table) == [1, 2, 3, 4, 5, 6]
    assert len(snapshots(table)) == 3
    assert ledger_names(table) == ["a.csv", "b.csv", "c.csv"]


def test_bad_arguments_are_refused_before_watching(table: Lake, tmp_path: Path) -> None:
    options = IngestOptions()
    with pytest.raises(NotFound) as missing:
        watch(table, tmp_path / "nowhere", TABLE, options)
    assert missing.value.code == "FILE_NOT_FOUND"
    a_file = tmp_path / "file.csv"
    a_file.write_text("id,name\n1,a\n", encoding="utf-8")
    with pytest.raises(InvalidInput):
        watch(table, a_file, TABLE, options)
    with pytest.raises(InvalidInput):
        watch(table, tmp_path, TABLE, options, interval=0)


# -- the command line, as a real process ------------------------------------------------------
def start_cli(ws: Path, landing: Path, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OAKLAKE_")}
    env["PYTHONUNBUFFERED"] = "1"
    args = [str(OAKLAKE), "ingest", "--watch", str(landing), "--table", TABLE]
    args += ["--interval", "0.2", "-w", str(ws), *extra]
    return subprocess.Popen(
        args,
        stdout=(out / "stdout").open("wb"),
        stderr=(out / "stderr").open("wb"),
        env=env,
    )


@pytest.fixture
def out(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "out"
    folder.mkdir()
    yield folder


def text_of(out: Path, name: str) -> str:
    return (out / name).read_text(encoding="utf-8", errors="replace")


def count_or_zero(lake: Lake) -> int:
    return int(lake.sql(f"SELECT count(*) FROM {TABLE}").scalar())


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cli_watch_loads_arrivals_and_stops_cleanly_on_a_signal(
    table: Lake, landing: Path, out: Path, sig: signal.Signals
) -> None:
    proc = start_cli(table.settings.root, landing, out)
    try:
        drop(landing, "a.csv", "id,name\n" + csv_rows(1, 3))
        drop(landing, "b.csv", "id,name\n" + csv_rows(4, 2))
        wait_until(lambda: count_or_zero(table) == 5, "the rows in the table")
        # Both files' summaries printed: the watcher is done with them, back to looking.
        wait_until(
            lambda: "a.csv:" in text_of(out, "stdout") and "b.csv:" in text_of(out, "stdout"),
            "both files reported",
        )
        assert proc.poll() is None
        proc.send_signal(sig)
        code = proc.wait(DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = text_of(out, "stderr")
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert "watching" in stderr
    assert "stopped: 2 file(s): 2 loaded, 0 skipped, 0 quarantined, 0 refused; 5 rows" in stderr
    assert "loaded default.landing: 3 rows" in text_of(out, "stdout")
    assert ids(table) == [1, 2, 3, 4, 5]
    assert len(snapshots(table)) == 2


@pytest.mark.slow
def test_cli_watch_ends_by_itself_after_max_batches(table: Lake, landing: Path, out: Path) -> None:
    drop(landing, "a.csv", "id,name\n" + csv_rows(1, 2))
    drop(landing, "b.csv", "id,name\n1,a\nx,b\n")  # refused: counts as a handled file
    drop(landing, "c.csv", "id,name\n" + csv_rows(3, 2))
    proc = start_cli(table.settings.root, landing, out, "--settle", "0", "--max-batches", "3")
    try:
        code = proc.wait(DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stdout, stderr = text_of(out, "stdout"), text_of(out, "stderr")
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert "stopped: 3 file(s): 2 loaded, 0 skipped, 0 quarantined, 1 refused; 4 rows" in stderr
    assert "b.csv: not loaded" in stdout
    assert "TYPE_MISMATCH" in stderr
    assert ids(table) == [1, 2, 3, 4]


@pytest.mark.slow
def test_cli_watch_interrupted_mid_load_commits_nothing_and_the_file_loads_later(
    table: Lake, landing: Path, out: Path, tmp_path: Path
) -> None:
    # A file large enough that its read takes a while; SIGINT lands while it is staged.
    big = tmp_path / "big.csv"
    with big.open("w", encoding="utf-8") as handle:
        handle.write("id,name\n")
        handle.writelines(f"{i},name-{i % 1000}\n" for i in range(300_000))
    proc = start_cli(table.settings.root, landing, out, "--settle", "0")
    staging = table.settings.root / ".oaklake" / "staging"
    try:
        os.replace(big, landing / "big.csv")
        wait_until(lambda: any(staging.glob("*/part-*")), "the batch being staged")
        proc.send_signal(signal.SIGINT)
        code = proc.wait(DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = text_of(out, "stderr")
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert "stopped: 0 file(s)" in stderr
    assert count_or_zero(table) == 0
    assert snapshots(table) == []
    assert not staging.exists() or list(staging.iterdir()) == []
    # Restarted, the watcher takes the file it was interrupted on.
    summary = run_until_done(table.settings.root, landing, 1)
    assert (summary.loaded, summary.rows_loaded) == (1, 300_000)
    assert count_or_zero(table) == 300_000
