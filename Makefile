# Two commands do everything on a fresh clone:
#   make run   - create .venv, install kperf, run the default experiment into results/
#   make test  - create .venv, install dev extras, ruff check, pytest
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: run test lint typecheck bench validate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	$(BIN)/kperf run experiments/default.yaml

test: $(STAMP_DEV)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP_DEV)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP_RUN)
	$(BIN)/kperf bench

validate: $(STAMP_RUN)
	$(BIN)/kperf validate

clean:
	rm -rf $(VENV) build *.egg-info
