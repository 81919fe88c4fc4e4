# Two commands do all the set-up from a fresh clone: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install lint format test test-slow test-storm bench coverage demo emulator clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade 'pip>=25.1'
	$(PY) -m pip install --quiet -e '.[spark]' --group test --group dev
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The whole suite except the large-dataset, benchmark and storm cases (see below). The slowest
# tests are listed at the end (issue 17: no test may need a fast machine; none should take 60 s).
test: lint
	$(PY) -m pytest -m "not slow and not benchmark and not storm" --durations=15 $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(PY) -m pytest -m "slow" $(PYTEST_ARGS)

# 20 SIGKILLs with resumes, 15 % and 30 % faults, every bad answer (docs/robustness.md).
test-storm: $(STAMP)
	$(PY) -m pytest -m "storm" -s $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m pytest -m "benchmark" -s $(PYTEST_ARGS)

# Per-module statement and branch coverage of tap_zoho_crm (emulator excluded) and
# lakeflow_bridge over the `make test` suite, subprocesses and Spark workers included.
coverage: $(STAMP)
	rm -f .coverage .coverage.*
	$(PY) -m coverage run -m pytest -m "not slow and not benchmark and not storm" $(PYTEST_ARGS)
	$(PY) -m coverage combine --quiet
	$(PY) -m coverage report

demo: $(STAMP)
	$(PY) scripts/demo.py

emulator: $(STAMP)
	$(PY) -m tap_zoho_crm.testing.emulator --profile demo --port 8765

clean:
	rm -rf $(VENV) .meltano .demo output .pytest_cache .mypy_cache .ruff_cache
