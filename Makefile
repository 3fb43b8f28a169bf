# Releasebot. `make run` starts it on embedded defaults, `make test` runs the whole suite.
# Everything runs from .venv, which the first target that needs it creates (and re-creates
# whenever a requirements file changes).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Extra arguments for pytest: make test ARGS="-k karma -x"
ARGS ?=
# Where SQLite, the Celery file broker and git clones live (settings' RELEASEBOT_DATA_DIR).
DATA_DIR := $(or $(RELEASEBOT_DATA_DIR),var)

.DEFAULT_GOAL := help
.PHONY: help venv .venv run test lint fmt typecheck bench screenshots clean

help:
	@echo "make run          migrate, load demo data, run web + Celery worker + beat, restarting one that dies (Ctrl-C stops)"
	@echo "make test         the whole test suite (pytest -n 2); ARGS=... passes more to pytest"
	@echo "make lint         ruff check, ruff format --check, makemigrations --check"
	@echo "make fmt          ruff --fix and ruff format"
	@echo "make typecheck    mypy with the django-stubs plugin"
	@echo "make bench        the benchmarks in bench/"
	@echo "make screenshots  the screenshots in docs/"
	@echo "make clean        remove var/ (database, broker, clones) and caches; keeps .venv"

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Releasebot needs Python 3.11 or newer as '$(PYTHON)' (make PYTHON=...)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

venv .venv: $(STAMP)

run: $(STAMP)
	DEBUG=1 bash bin/run

test: $(STAMP)
	@mkdir -p "$(DATA_DIR)"
	DEBUG=1 $(BIN)/pytest -n 2 $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@mkdir -p "$(DATA_DIR)"
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)
	DEBUG=1 $(BIN)/mypy .

bench: $(STAMP)
	@test -f bench/__main__.py \
		|| { echo "make bench: there is no bench/ package yet (bench/__main__.py is missing)" >&2; exit 1; }
	DEBUG=1 $(BIN)/python -m bench

screenshots: $(STAMP)
	@test -f bench/screenshots.py -o -f bench/screenshots/__main__.py \
		|| { echo "make screenshots: bench.screenshots does not exist yet" >&2; exit 1; }
	DEBUG=1 $(BIN)/python -m bench.screenshots

clean:
	rm -rf var .pytest_cache .ruff_cache .mypy_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
