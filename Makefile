# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEV    := $(VENV)/.installed-dev-stamp

.PHONY: demo test lint bench env browser clean fuzz

# Create the virtual environment and install the project with its dependencies (once per change
# of pyproject.toml), from wheels where there are any. The demo needs only the core; tests, lint
# and benchmarks add the dev extra (test references, linters, browser and notebook drivers).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --prefer-binary -e .
	touch $(STAMP)

$(DEV): $(STAMP)
	$(BIN)/python -m pip install --quiet --prefer-binary -e '.[dev]'
	touch $(DEV)

env: $(DEV)

demo: $(STAMP)
	$(BIN)/gravity run configs/demo.yaml
	@echo ""
	@echo "Demo finished (SYNTHETIC data). Outputs are in out/demo/:"
	@echo "  out/demo/fit/table.md                      regression table (PPML vs OLS)"
	@echo "  out/demo/relatedness/                      RCA, density, ECI/PCI, COG (Parquet)"
	@echo "  out/demo/potential/opportunities.csv       ranked export opportunities"
	@echo "  out/demo/backtest/summary.md               out-of-time accuracy"
	@echo "  out/demo/manifest.json                     config, input hashes, versions, row counts"
	@echo "Report (open in a browser): $(CURDIR)/out/demo/report/index.html"

# Debian's chromium drives the report's browser tests (installed when missing and possible)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = "0" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found and cannot be installed here: browser tests will skip"; fi; }

test: $(DEV) browser
	$(BIN)/python -m pytest

lint: $(DEV)
	$(BIN)/ruff check gravity tests benchmarks
	$(BIN)/mypy

# Hostile and sloppy inputs through the CLI: prints the count of each outcome (all bad ones 0)
fuzz: $(DEV)
	GRAVITY_FUZZ_COMMANDS=validate,panel,fit,fit,relatedness,potential,backtest \
	  nice $(BIN)/python -m tests.fuzz.run --cases 2000

bench: $(DEV)
	$(BIN)/python -m pip install --quiet --prefer-binary -e '.[bench]'
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache
