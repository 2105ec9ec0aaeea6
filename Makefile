# Developer entry points. Works from a fresh clone with only python3 >= 3.11 installed;
# `make test` also needs PostgreSQL server binaries, curl and chromium (installed by
# scripts/ensure-postgres.sh and scripts/ensure-test-tools.sh when running as root).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=
PYTEST_ARGS ?=

.PHONY: venv run lint test bench bench-ups lock clean

$(VENV)/.stamp: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "error: $(PYTHON) must be Python >= 3.11 (set PYTHON=...)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

venv: $(VENV)/.stamp

run: venv
	$(BIN)/concur-scim serve $(ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy src tests

test: venv
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-test-tools.sh
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest $(PYTEST_ARGS)

bench: venv
	$(BIN)/python bench/run.py $(ARGS)

bench-ups: venv
	$(BIN)/python bench/ups.py $(ARGS)

.PHONY: bench-compare
bench-compare: venv
	$(BIN)/python -c 'import scim2_server' 2>/dev/null || $(BIN)/pip install -q -e ".[dev,bench]"
	$(BIN)/python bench/compare.py $(ARGS)

lock:
	bash scripts/lock.sh   # requirements.lock, what the Dockerfile installs

.PHONY: screenshots
screenshots: venv   # the console's pictures in docs/console/, taken by its browser tests
	bash scripts/ensure-test-tools.sh
	CONCUR_SCIM_SCREENSHOT_DIR=docs/console $(BIN)/pytest -q tests/browser/test_console_journeys.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -maxdepth 2 -name '*.egg-info' -type d -prune -exec rm -rf {} +
