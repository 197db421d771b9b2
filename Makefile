# Every target creates or reuses .venv itself, so a fresh machine needs only python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test lint pytest lab release grade bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[course,dev]"
	touch $(STAMP)

test: venv lint pytest

lint: venv
	$(BIN)/ruff check $(wildcard source tests examples benchmarks autograder tools)

pytest: venv
	$(BIN)/python -m pytest

lab: venv
	$(BIN)/jupyter lab --no-browser --ServerApp.root_dir="$(CURDIR)" release/01_neuron/neuron.ipynb

bench: venv
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
