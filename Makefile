# Two commands do all the set-up: `make demo` and `make test` (each creates .venv first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 5000

.PHONY: install demo test lint format bench postgres peers chromium clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Replay the bundled real OAI-PMH samples, harvest them over HTTP, serve on localhost:$(PORT).
demo: $(STAMP)
	$(BIN)/catalogue demo --port $(PORT)

## The whole test suite (SQLite and PostgreSQL), plus ruff.
test: $(STAMP) postgres peers chromium
	$(BIN)/ruff check catalogue harvester mappings tests benchmarks
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check catalogue harvester mappings tests benchmarks
	$(BIN)/ruff format --check catalogue harvester mappings tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format catalogue harvester mappings tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/harvest_bench.py

## Independent OAI-PMH clients the provider's interoperability tests harvest with (beside
## sickle and oaipmh-scythe from the test extra): pyoai, which needs lxml<5 and so a venv
## of its own, and the Node oai-pmh client (npm is needed; the tests fail without it).
PEERS := .peers
PYOAI := $(PEERS)/pyoai/.installed-stamp
NODE_OAI := $(PEERS)/npm/node_modules/oai-pmh/package.json
# axe-core, injected into the pages by the browser tests (tests/pages/test_browser.py)
AXE := $(PEERS)/npm/node_modules/axe-core/axe.min.js

peers: $(PYOAI) $(NODE_OAI) $(AXE)

$(PYOAI):
	$(PYTHON) -m venv $(PEERS)/pyoai
	$(PEERS)/pyoai/bin/pip install --quiet 'pyoai==2.5.0' 'lxml>=4.9,<5'
	touch $@

$(NODE_OAI):
	@command -v npm >/dev/null 2>&1 || { echo "npm (Node.js) is needed for the Node OAI-PMH client"; exit 1; }
	mkdir -p $(PEERS)/npm && cd $(PEERS)/npm && \
		npm install --silent --no-audit --no-fund --no-save --prefix . oai-pmh@2.0.3

$(AXE): $(NODE_OAI)
	cd $(PEERS)/npm && npm install --silent --no-audit --no-fund --no-save --prefix . oai-pmh@2.0.3 axe-core@4.14.1

## Debian's Chromium for the page tests (installed with apt when missing).
chromium:
	@scripts/ensure-chromium.sh

## Make sure the local PostgreSQL the store tests use is up (trust auth, database `test`).
postgres:
	@scripts/ensure-postgres.sh

clean:
	rm -rf $(VENV) var .pytest_cache $(PEERS)
