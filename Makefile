# Two commands: `make demo` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
DEMO_PERSONS ?= 60000
DEMO_SEED    ?= 2017

.PHONY: demo test install lint clean bench

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/impacteval synth-data --persons $(DEMO_PERSONS) --seed $(DEMO_SEED) --out data/demo
	$(VENV)/bin/impacteval run configs/demo.yaml
	@echo "Report: outputs/demo_care_homes/report.html"

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) benchmarks/derive_duckdb_vs_pandas.py

clean:
	rm -rf $(VENV) outputs data/demo
