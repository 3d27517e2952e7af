# The two commands that matter: `make demo` and `make test`. Both set everything up themselves
# on a machine that has only Python 3.11 and make.
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.9

.PHONY: setup demo test lint typecheck bench-tpch bench-dq bench-ingest bench-rec clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

setup: $(UV)
	$(UV) sync --frozen --all-groups
	$(TOOLS)/bin/python scripts/fetch_movielens.py
	PYTHON=$(PYTHON) UV=$(UV) bash tests/independent/setup_reader.sh

demo: setup
	$(UV) run --frozen oaklake demo

test: setup
	$(UV) run --frozen pytest -q

lint: setup
	$(UV) run --frozen ruff check src tests bench
	$(UV) run --frozen ruff format --check src tests bench

typecheck: setup
	$(UV) run --frozen mypy

bench-tpch: setup
	$(UV) run --frozen python -m bench.tpch

bench-ingest: setup
	$(UV) run --frozen python -m bench.ingest $(ARGS)

# The load generator (npm's loadtest) is installed by bench/rec/setup.py into bench/work/rec.
bench-rec: setup
	$(UV) run --frozen python -m bench.rec $(ARGS)

# Soda Core gets its own environment (bench/dq/peers); the benchmark installs it with $(UV).
bench-dq: setup
	$(UV) run --frozen python -m bench.dq $(ARGS)

clean:
	rm -rf $(TOOLS) .venv .pytest_cache
