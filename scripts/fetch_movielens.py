"""Put MovieLens-100k into .tools/data/ml-100k/, taken from the recbole 1.2.1 wheel on PyPI.

The recbole wheel ships the data set as plain tab-separated files
(recbole/dataset_example/ml-100k/ml-100k.{inter,user,item,kg,link}). Only the wheel is
downloaded (`pip download --no-deps`, no torch, no install); the files are unpacked from it (a
wheel is a zip) and checked: the wheel's sha256, then 100,000 interactions, 943 users and 1,682
items. The folder appears only once everything checks out (unpacked beside it, then renamed).

    .tools/bin/python scripts/fetch_movielens.py          # what `make setup` runs

Idempotent: when the folder is already there and checked, it exits at once and downloads
nothing. When the download fails (no network, no registry) it prints a warning and exits 0, so
`make setup` goes on; the tests that need the data then skip. `--strict` makes that exit 1.

Licence: the GroupLens terms do not allow redistributing MovieLens, so the data stays under
.tools/ (git-ignored) and is never committed to this repository.
Standard library only; run it with any Python 3.11 that has pip (.tools/bin/python has).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "recbole==1.2.1"
WHEEL = "recbole-1.2.1-py3-none-any.whl"
WHEEL_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
MEMBER_DIR = "recbole/dataset_example/ml-100k/"
# file -> rows after the header line
EXPECTED_ROWS = {"ml-100k.inter": 100_000, "ml-100k.user": 943, "ml-100k.item": 1_682}
OPTIONAL = ("ml-100k.kg", "ml-100k.link")
STAMP = ".fetched-from"


class FetchError(Exception):
    """The wheel could not be had, or what it holds is not the data set we expect."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(folder: Path) -> dict[str, int]:
    """Row counts of the three tables (header excluded); raise FetchError when one is off."""
    counts: dict[str, int] = {}
    for name, expected in EXPECTED_ROWS.items():
        path = folder / name
        if not path.is_file():
            raise FetchError(f"{path} is missing")
        with path.open("rb") as f:
            lines = [line for line in f.read().split(b"\n") if line.strip()]
        rows = len(lines) - 1
        if rows != expected:
            raise FetchError(f"{path}: {rows} rows, expected {expected}")
        counts[name] = rows
    return counts


def is_ready(dest: Path) -> bool:
    stamp = dest / STAMP
    return stamp.is_file() and stamp.read_text().strip() == PACKAGE


def download(wheels: Path, python: str) -> Path:
    """The wheel, from `wheels/` when it is already there (and intact), else from the registry."""
    wheel = wheels / WHEEL
    if wheel.is_file() and sha256(wheel) == WHEEL_SHA256:
        return wheel
    wheels.mkdir(parents=True, exist_ok=True)
    cmd = [
        python,
        "-m",
        "pip",
        "download",
        PACKAGE,
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        "--timeout",
        "20",
        "--retries",
        "2",
        "-d",
        str(wheels),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        said = [line for line in lines if line.startswith("ERROR")] or lines[-1:]
        raise FetchError(f"pip download {PACKAGE} failed: " + " / ".join(said))
    if not wheel.is_file():
        raise FetchError(f"pip download {PACKAGE} did not leave {wheel}")
    got = sha256(wheel)
    if got != WHEEL_SHA256:
        raise FetchError(f"{wheel} has sha256 {got}, expected {WHEEL_SHA256}")
    return wheel


def extract(wheel: Path, dest: Path) -> dict[str, int]:
    """Unpack the data set from the wheel into dest, atomically; return the row counts."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    tmp.chmod(0o755)
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = [n for n in zf.namelist() if n.startswith(MEMBER_DIR) and not n.endswith("/")]
            wanted = set(EXPECTED_ROWS) | set(OPTIONAL)
            found = {n[len(MEMBER_DIR) :] for n in names}
            if not set(EXPECTED_ROWS) <= found:
                raise FetchError(f"{wheel.name} has no {MEMBER_DIR}{{inter,user,item}}")
            for name in names:
                base = name[len(MEMBER_DIR) :]
                if base not in wanted:  # only the known files; nothing with a path in it
                    continue
                with zf.open(name) as src, (tmp / base).open("wb") as out:
                    shutil.copyfileobj(src, out)
        counts = verify(tmp)
        (tmp / STAMP).write_text(PACKAGE + "\n")
        try:
            os.rename(tmp, dest)
        except OSError:
            if not is_ready(dest):  # not another run that finished first: something is there
                raise
        return counts
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fetch(dest: Path, wheels: Path, python: str) -> str:
    """Make sure dest holds the checked data set; return what happened, for the log line."""
    if is_ready(dest):
        try:
            verify(dest)
            return f"MovieLens-100k already in {dest}"
        except FetchError:
            pass  # damaged since: fetch it again
    if dest.exists():  # damaged, half-copied or from elsewhere: replace it
        shutil.rmtree(dest)
    wheel = download(wheels, python)
    counts = extract(wheel, dest)
    summary = ", ".join(f"{n} {c:,}" for n, c in counts.items())
    return f"MovieLens-100k from {wheel.name} into {dest} ({summary})"


def default_python() -> str:
    tools = ROOT / ".tools" / "bin" / "python"
    return str(tools) if tools.exists() else sys.executable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=ROOT / ".tools" / "data" / "ml-100k")
    parser.add_argument("--wheels", type=Path, default=ROOT / ".tools" / "wheels")
    parser.add_argument("--python", default=default_python(), help="a Python with pip")
    parser.add_argument("--strict", action="store_true", help="exit 1 when it cannot be had")
    args = parser.parse_args(argv)
    try:
        print(fetch(args.dest, args.wheels, args.python))
    except (FetchError, OSError, zipfile.BadZipFile) as e:
        print(
            f"warning: MovieLens-100k not available: {e}\n"
            "warning: the tests and demo steps that need it will skip; run `make setup` again "
            "once PyPI is reachable",
            file=sys.stderr,
        )
        return 1 if args.strict else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
