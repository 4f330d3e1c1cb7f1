# One file of commands: developers, branch IT and CI use the same targets.
SHELL := /bin/bash
PYTHON ?= $(shell for v in python3.11 python3.12 python3.13 python3; do command -v $$v >/dev/null && { echo $$v; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck unit bench catalogs package clean

install: $(STAMP)

$(STAMP): pyproject.toml scripts/apt-packages.txt
	scripts/system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# sqlcipher3-wheels replaced sqlcipher3-binary (one module name): drop the old one first
	$(BIN)/python -m pip uninstall --quiet --yes sqlcipher3-binary 2>/dev/null
	$(BIN)/python -m pip install --quiet -e '.[all]'
	touch $(STAMP)

catalogs: install
	$(BIN)/python -m core.i18n_tools compile

run: install catalogs
	scripts/run-demo.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m sync_server.console.catalogue check

typecheck: install
	$(BIN)/mypy

unit: install catalogs
	$(BIN)/pytest -q $(PYTEST_ARGS)

# The suite runs on every core (pytest-xdist), a test file per worker at a time: the
# files' own fixtures and order stay as written. PYTEST_JOBS=0 runs it in one process.
PYTEST_JOBS ?= auto
test: install catalogs lint typecheck
	scripts/test-services.sh $(BIN)/pytest -q -n $(PYTEST_JOBS) --dist loadfile $(PYTEST_ARGS)

bench: install catalogs
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

# The frozen bundles (cached by their inputs outside the tree) and the .deb files in dist/.
package: install catalogs
	scripts/package.sh all --out dist

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
