# Two commands: `make demo` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
TEST_STAMP := $(VENV)/.installed-test-stamp
DEMO_PERSONS ?= 60000
DEMO_SEED    ?= 2017

.PHONY: demo test install lint clean bench

# the package and its runtime dependencies (what `make demo` needs)
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $(STAMP)

# plus test tools and the optional Spark extra (engine-parity tests run on Spark local mode)
$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,spark]'
	@touch $(TEST_STAMP)

install: $(TEST_STAMP)

demo: $(STAMP)
	$(VENV)/bin/impacteval synth-data --persons $(DEMO_PERSONS) --seed $(DEMO_SEED) --out data/demo
	$(VENV)/bin/impacteval run configs/demo.yaml
	@echo "Report: outputs/demo_care_homes/report.html"

test: $(TEST_STAMP)
	$(PY) -m pytest -q

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) benchmarks/link_derive_cohort.py --persons 1000000 --seed 1

clean:
	rm -rf $(VENV) outputs data/demo
