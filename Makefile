# Two entry points do all set-up on a fresh machine:
#   make plan   - create .venv, install, run the offline plan of the default stack
#   make test   - create .venv, install, lint, run every test (CI runs exactly this)
VENV   ?= .venv
PYTHON ?= python3
STACK  ?= dev
BIN    := $(VENV)/bin

.PHONY: venv plan test lint bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

plan: venv
	$(BIN)/factory plan $(STACK)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check components policies stacks

# pytest exits 5 when it collected nothing: that is a failure here, never a pass.
test: lint
	$(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

bench: venv
	$(BIN)/python benchmarks/plan_scaling.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
