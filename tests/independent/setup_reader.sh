#!/usr/bin/env bash
# Make the independent Iceberg reader's own environment, .tools/iceberg-reader/: DuckDB 1.5.5 and
# its Iceberg and Avro extensions from PyPI wheels (plus httpfs, for tables on object storage).
# It is kept apart from oaklake's environment on purpose: oaklake uses DuckDB 2.x, and a reader
# that shares none of oaklake's code or packages is what makes the comparison worth something.
#
# Idempotent: once the environment holds exactly the pinned packages (a stamp records them) it
# exits at once and downloads nothing. Uses uv when there is one (UV=…, else .tools/bin/uv, else
# uv on PATH: about 5 s cold), else python3 -m venv + pip (about 30 s cold; UV=none forces pip).
# Needs only python3 and the package registry.
#   bash tests/independent/setup_reader.sh          # or PYTHON=python3.12 bash …
# Exit code 3: these wheels exist only for Linux x86_64, so the reader cannot be had here.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.tools/iceberg-reader"
python="${PYTHON:-python3}"

# duckdb-extension-* wheels pin duckdb==1.5.5 and are built for manylinux x86_64 only.
requirements=(
  "duckdb==1.5.5"
  "duckdb-extension-iceberg==1.5.5"
  "duckdb-extension-avro==1.5.5"
  "duckdb-extension-httpfs==1.5.5"
)
stamp="$venv/.oaklake-reader-stamp"
want="${requirements[*]}"

ready() { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; }
if ready; then
  exit 0
fi

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "setup_reader: duckdb-extension-* wheels exist only for Linux x86_64, not $(uname -s)-$(uname -m)" >&2
  exit 3
fi

mkdir -p "$(dirname "$venv")"
if command -v flock >/dev/null; then  # two test runs at once: one builds, the other waits
  exec 9>"$venv.lock"
  flock 9
  if ready; then
    exit 0
  fi
fi
start=$(date +%s)
rm -rf "$venv"
uv="${UV:-}"
if [ -z "$uv" ] && [ -x "$root/.tools/bin/uv" ]; then uv="$root/.tools/bin/uv"; fi
if [ -z "$uv" ]; then uv="$(command -v uv || true)"; fi
if [ -n "$uv" ] && [ "$uv" != none ]; then
  # --no-config: the project's own uv settings are for oaklake's environment, not this one.
  export UV_PYTHON_DOWNLOADS=never
  "$uv" venv --quiet --no-config --python "$(command -v "$python")" "$venv"
  "$uv" pip install --quiet --no-config --compile-bytecode --python "$venv/bin/python" \
    "${requirements[@]}"
else
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    "${requirements[@]}"
fi
# Prove the extensions load from their files (and nothing is fetched) before calling it done.
"$venv/bin/python" "$here/read_iceberg.py" --check >/dev/null
printf '%s' "$want" >"$stamp"
echo "setup_reader: made $venv in $(($(date +%s) - start)) s"
