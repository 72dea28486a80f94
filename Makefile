# Everything here needs only python3 (3.11+), git and make: each target installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint types check package package-lock bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

## Replay the shipped sample events on a fresh embedded store and print the alerts.
demo: $(STAMP)
	@mkdir -p build && rm -f build/demo.db build/demo.db-wal build/demo.db-shm
	$(BIN)/signin-monitor replay --db build/demo.db samples

## Run the test suite.
test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

check: test lint types

## Build dist/lambda.zip (python3.13, arm64) reproducibly.
package: $(STAMP)
	$(BIN)/python scripts/build_lambda.py

package-lock: $(STAMP)
	$(BIN)/python scripts/build_lambda.py --update-lock

## Print every benchmark figure against its baseline.
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache
