# Quick start:  make demo   (the whole flywheel on the embedded local runtime and store)
#               make preview-demo   (the pull-request comment a reviewer gets for a prompt change)
#               make test   (lint, types, import layers, the whole test suite)
# Each creates its own virtual environment in .venv with Python 3.11+.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo preview-demo test lint bench clean-demo

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "agentops needs Python 3.11+"'
	@echo "Installing agentops and its dependencies into $(VENV) (a few minutes the first time)..."
	@$(PYTHON) -m venv $(VENV)
	@# -qq: errors only (pip's warnings about this machine's index settings are not ours);
	@# PYTHONWARNINGS reaches setuptools' build subprocess (its editable-install notice).
	@PYTHONWARNINGS=ignore $(BIN)/pip install -qq --upgrade pip
	@PYTHONWARNINGS=ignore $(BIN)/pip install -qq -e ".[all,dev]"
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

demo: $(STAMP)
	@bash scripts/demo.sh

# In a temporary copy of the example workspace: main apply, a prompt change, `agentops
# preview`, the comment printed; everything destroyed afterwards.
preview-demo: $(STAMP)
	@bash scripts/preview_demo.sh

lint: $(STAMP)
	$(BIN)/ruff check engine tests bench agents evaluators
	$(BIN)/ruff format --check engine tests bench agents evaluators
	$(BIN)/mypy engine
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python bench/startup_bench.py
	$(BIN)/python bench/validate_bench.py
	$(BIN)/python bench/plan_bench.py
	$(BIN)/python bench/watch_bench.py
	$(BIN)/python bench/experiment_bench.py
	$(BIN)/python bench/load_bench.py
	$(BIN)/python bench/preview_bench.py

clean-demo: $(STAMP)
	$(BIN)/agentops destroy --auto-approve
