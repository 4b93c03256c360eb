# prodq: every command bootstraps .venv itself, so a fresh clone needs only `make demo` / `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

DEMO_START ?= 2025-12-01
DEMO_END   ?= 2025-12-10
DEMO_RAW   := data/raw
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install demo test fuzz ci-smoke bench dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml setup.py | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml.template $@ 2>/dev/null || printf 'telemetry:\n  enabled: false\n' > $@

demo: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/prodq generate --out_dir $(DEMO_RAW) --start $(DEMO_START) --end $(DEMO_END) \
		--customers 2000 --events 50000 --orders 5000 --partial-load-every 4 --low-volume-day $(DEMO_END)
	$(BIN)/prodq run --data-dir $(DEMO_RAW) --out-dir data --start $(DEMO_START) --end $(DEMO_END)

test: install
	$(BIN)/python -m pytest -q -n 2
	$(MAKE) --no-print-directory ci-smoke

# Many more hypothesis examples of the raw-bytes fuzz properties than `make test` runs.
fuzz: install
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q prodq_dagster_tests/test_fuzz_raw_bytes.py

ci-smoke: install
	PATH=$(CURDIR)/$(BIN):$$PATH bash scripts/ci_smoke.sh

bench: install
	$(BIN)/python scripts/benchmark.py

dev: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml

clean:
	rm -rf data/raw data/clean data/quarantine data/metrics data/master data/.locks data/.staging data/.scratch reports/ingest_date=* reports/index.html reports/.staging .pytest_cache
