# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint bench env clean

# Create the virtual environment and install the project with its dependencies (once per change
# of pyproject.toml).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

env: $(STAMP)

demo: $(STAMP)
	$(BIN)/gravity run configs/demo.yaml
	@echo ""
	@echo "Demo finished (synthetic data). Outputs are in out/demo/:"
	@echo "  out/demo/fit/table.md          regression table (PPML vs OLS)"
	@echo "  out/demo/fit/coefficients.csv  coefficients with standard errors"
	@echo "  out/demo/fit/fit.json          fit statistics at full precision"
	@echo "  out/demo/manifest.json         config, input hashes, versions, row counts, timings"
	@echo "The HTML report stage is not available yet (see the open issues); when it is, it will be out/demo/report/index.html."

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check gravity tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache
