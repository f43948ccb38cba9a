# funnelscope: the two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
DEMO_DIR ?= demo

.PHONY: demo test install install-dev lint bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(PIP) install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

## make demo: install, generate the demo datasets, load them into demo/funnelscope.duckdb, print a funnel
demo: install
	$(VENV)/bin/funnelscope demo --dataset all --workspace $(DEMO_DIR)/funnelscope.duckdb --export $(DEMO_DIR)/data

## make test: install the dev dependencies and run the whole suite
test: install-dev
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-zenhei) >/dev/null 2>&1 || echo "note: Debian's chromium could not be installed; the browser tests will be skipped"
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 FUNNELSCOPE_REQUIRE_C_KERNEL=1 $(PY) -m pytest -q -n 2 --dist loadfile

lint: install-dev
	$(VENV)/bin/ruff check src tests benchmarks

bench: install-dev
	$(PY) benchmarks/funnel.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) build *.egg-info
