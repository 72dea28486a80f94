# Everything here needs only python3 (3.11+), git and make: each target installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# The bench's own extra (duckdb, the replay figure's peer) on top of the test and dev ones.
BENCH_STAMP := $(VENV)/.installed-bench-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# The Lambda's runtime: its own venv, from the CPython 3.13 that .ci/python313 finds (or fails on).
VENV313  := .venv313
STAMP313 := $(VENV313)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# pytest exits 5 when it collected no tests: say so, and fail (a suite that ran nothing is no pass).
PYTEST_ARGS ?=
PYTEST_NO_TESTS := rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests (exit 5): failing" >&2; fi; exit $$rc

.PHONY: demo test test313 lint types check package package-lock bench report-screenshot clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(STAMP313): pyproject.toml
	python313="$$(bash .ci/python313)" && "$$python313" -m venv $(VENV313)
	$(VENV313)/bin/python -m pip install --quiet --upgrade pip
	$(VENV313)/bin/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV313)/.installed-*
	touch $(STAMP313)

## Replay the shipped sample events on a fresh embedded store and print the alerts.
demo: $(STAMP)
	@mkdir -p build && rm -f build/demo.db build/demo.db-wal build/demo.db-shm
	$(BIN)/signin-monitor replay --db build/demo.db samples

## Run the test suite.
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS); $(PYTEST_NO_TESTS)

## Run the test suite on CPython 3.13, the Lambda's runtime (all but the packaging tests, which
## build the arm64 zip and already run in `make test`).
test313: $(STAMP313)
	$(VENV313)/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 13), sys.version'
	$(VENV313)/bin/python -m pytest --ignore=tests/test_package.py $(PYTEST_ARGS); $(PYTEST_NO_TESTS)

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
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

## Regenerate docs/report.png: the report of the sample store, in headless Chromium.
report-screenshot: demo
	bash .ci/chromium
	$(BIN)/python scripts/report_screenshot.py

clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache
