# Two commands do all the set-up: `make demo` and `make test` (each creates .venv first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 5000

.PHONY: install demo test lint format bench postgres clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Replay the bundled real OAI-PMH samples, harvest them over HTTP, serve on localhost:$(PORT).
demo: $(STAMP)
	CATALOGUE_DATA_DIR=$${CATALOGUE_DATA_DIR:-var/demo} $(BIN)/catalogue demo --port $(PORT)

## The whole test suite (SQLite and PostgreSQL), plus ruff.
test: $(STAMP) postgres
	$(BIN)/ruff check catalogue harvester mappings tests benchmarks
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check catalogue harvester mappings tests benchmarks
	$(BIN)/ruff format --check catalogue harvester mappings tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format catalogue harvester mappings tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/harvest_bench.py

## Make sure the local PostgreSQL the store tests use is up (trust auth, database `test`).
postgres:
	@scripts/ensure-postgres.sh

clean:
	rm -rf $(VENV) var .pytest_cache
