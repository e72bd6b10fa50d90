# Every target works from a fresh clone with only Python (>= 3.10) and make.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev
XSTAMP := $(VENV)/.installed-examples
DEVICE ?= cpu

.PHONY: install install-examples test lint format bench bench-ddp ddp-example demo check-examples clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# The examples' install includes the dev tools: it satisfies the dev stamp too, so that
# `make test` after `make demo` does not install again.
$(XSTAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[dev,examples]'
	touch $(STAMP) $(XSTAMP)

install: $(STAMP)

install-examples: $(XSTAMP)

# check_names runs from / so that `autograd` resolves as in a user's script (not from the cwd).
test: $(STAMP)
	@cd / && $(CURDIR)/$(PY) $(CURDIR)/tools/check_names.py
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: $(STAMP)
	$(PY) -m benchmarks.run

# Data-parallel training on 2 processes over MPI (mpi4py and mpich come with the dev extra).
ddp-example: $(XSTAMP)
	$(VENV)/bin/mpiexec -n 2 $(PY) -m examples.ddp_train --timeline

bench-ddp: $(STAMP)
	$(VENV)/bin/mpiexec -n 1 $(PY) -m benchmarks.distributed --json out/bench_ddp_1.json
	$(VENV)/bin/mpiexec -n 2 $(PY) -m benchmarks.distributed --json out/bench_ddp_2.json

demo: $(XSTAMP)
	$(PY) -m examples.demo --device $(DEVICE)

# Every example in full (minutes), checked against the numbers examples/README.md states.
check-examples: $(XSTAMP)
	CHALKGRAD_FULL_EXAMPLES=1 $(PY) -m pytest tests/test_example_numbers.py -v

clean:
	rm -rf $(VENV) build dist *.egg-info out
