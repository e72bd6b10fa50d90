# Every target works from a fresh clone with only Python (>= 3.10) and make.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev
XSTAMP := $(VENV)/.installed-examples
CSTAMP := $(VENV)/.installed-cupy-check
DEVICE ?= cpu
# The CuPy wheel for `make gpu-check`: cuda (CUDA 12) or cuda13 (CUDA 13).
CUDA_EXTRA ?= cuda

.PHONY: install install-examples install-cupy-check test lint format bench bench-ddp ddp-example
.PHONY: demo check-examples clean cupy-check gpu-check

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

$(CSTAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[dev,cupy-check]'
	touch $(STAMP) $(CSTAMP)

install: $(STAMP)

install-examples: $(XSTAMP)

# CuPy imports without a GPU: this lets make test check CuPy's API (tests/test_cupy_api.py).
install-cupy-check: $(CSTAMP)

test: $(STAMP)
	@cd / && $(CURDIR)/$(PY) $(CURDIR)/tools/check_names.py
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# 3 alternating rounds keep the whole table near 4 minutes on 2 cores (BENCH_ROUNDS=5: tighter).
BENCH_ROUNDS ?= 3
# BENCH_ARGS=--same-malloc: PyTorch and NumPy get the malloc settings chalkgrad applies to itself.
BENCH_ARGS ?=
bench: $(STAMP)
	$(PY) -m benchmarks.run --device $(DEVICE) --rounds $(BENCH_ROUNDS) $(BENCH_ARGS)
	@$(MAKE) --no-print-directory bench-ddp DEVICE=$(DEVICE)

# CuPy's API without a GPU (CuPy imports without one): every xp.<name> exists in CuPy, and the
# strict device's tests run again with its xp narrowed to CuPy's names.
cupy-check: $(CSTAMP)
	$(PY) -m pytest tests/test_cupy_api.py -rs
	$(PY) -m pytest -k strict

# On a machine with a GPU: the device, the whole suite on cuda, the benchmark on cuda (against
# the CPU and PyTorch), and a report in out/gpu-check/ (report.md, report.json); < 10 minutes.
gpu-check: $(STAMP)
	$(PY) -m pip install -q -e '.[dev,$(CUDA_EXTRA)]'
	$(PY) scripts/gpu_check.py --out out/gpu-check

# Data-parallel training on 2 processes over MPI (mpi4py and mpich come with the dev extra).
ddp-example: $(XSTAMP)
	$(RANK_THREADS) $(VENV)/bin/mpiexec -n 2 $(PY) -m examples.ddp_train --timeline

# The data-parallel rows: DDP step time on 1 and 2 processes (weak scaling), all-reduce bandwidth.
DDP_BACKEND := $(if $(filter cuda%,$(DEVICE)),nccl,mpi)
# Two ranks share the cores: each gets half of them for BLAS. With every rank on all cores the
# BLAS threads of the two ranks fight (measured on 2 cores: a 100 ms step instead of 11-15 ms).
RANK_THREADS = n=$$(( $$(nproc) / 2 )); [ $$n -ge 1 ] || n=1; \
	OMP_NUM_THREADS=$$n OPENBLAS_NUM_THREADS=$$n MKL_NUM_THREADS=$$n
bench-ddp: $(STAMP)
	$(VENV)/bin/mpiexec -n 1 $(PY) -m benchmarks.distributed --backend $(DDP_BACKEND) --device $(DEVICE) --json out/bench_ddp_1.json
	$(RANK_THREADS) $(VENV)/bin/mpiexec -n 2 $(PY) -m benchmarks.distributed --backend $(DDP_BACKEND) --device $(DEVICE) --json out/bench_ddp_2.json

demo: $(XSTAMP)
	$(PY) -m examples.demo --device $(DEVICE)

# Every example in full (minutes), checked against the numbers examples/README.md states.
check-examples: $(XSTAMP)
	CHALKGRAD_FULL_EXAMPLES=1 $(PY) -m pytest tests/test_example_numbers.py -v

clean:
	rm -rf $(VENV) build dist *.egg-info out
