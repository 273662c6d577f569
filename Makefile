# Two set-up commands: `make demo` and `make test`. Each creates .venv and installs what it needs.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
TSTAMP  := $(VENV)/.installed-test
DATA    ?= $(abspath ../shared/data)

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e .
	touch $@

# MPI (mpi4py + the mpich wheel, which brings mpiexec) and MKL (the products of ops/_blas.py)
# are best effort: without them the tests that need them skip and say why.
$(TSTAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[test,plot]'
	$(BIN)/pip install -q -e '.[mpi]' || echo "make: MPI extra not installed; tests/distributed will skip"
	$(BIN)/pip install -q -e '.[mkl]' || echo "make: mkl extra not installed; the MKL product tests will skip"
	touch $@

demo: $(STAMP)
	$(BIN)/glassnet train recipes/digits_mlp.toml --out runs/demo --overwrite

test: $(TSTAMP)
	$(BIN)/ruff check .
	GLASSNET_DATA=$${GLASSNET_DATA:-$(DATA)} $(BIN)/python -m pytest -p no:cacheprovider

bench: $(TSTAMP)
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) runs build *.egg-info
