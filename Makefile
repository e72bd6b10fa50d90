# Every target works from a fresh clone with only Python (>= 3.10) and make.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev
XSTAMP := $(VENV)/.installed-examples
DEVICE ?= cpu

.PHONY: install install-examples test lint format bench demo clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

$(XSTAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[dev,examples]'
	touch $(XSTAMP)

install: $(STAMP)

install-examples: $(XSTAMP)

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: $(STAMP)
	$(PY) -m benchmarks.run --device $(DEVICE)

demo: $(XSTAMP)
	$(PY) -m examples.demo --device $(DEVICE)

clean:
	rm -rf $(VENV) build dist *.egg-info out
