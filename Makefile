# Two commands for a fresh machine: `make run` and `make test`. `make help` lists the rest.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help run install migrate test test-sqlite test-postgres lint check revision clean browsers bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the package with its dev tools

migrate: $(STAMP) ## bring the database (DATABASE_URL, default ./data/registry.db) to the newest schema
	$(BIN)/registry migrate

run: migrate ## install, migrate and serve on http://$(HOST):$(PORT) (SQLite unless DATABASE_URL is set)
	$(BIN)/registry serve --host $(HOST) --port $(PORT)

test: $(STAMP) ## run the tests on SQLite, and on PostgreSQL when TEST_POSTGRES_URL is set
	$(BIN)/pytest

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/mypy

check: lint test ## what CI runs (plus alembic check, in the tests)

browsers: ## system packages for the browser and PDF tests (Debian: chromium, poppler-utils, fonts-dejavu-core)
	bash tests/web/install-system-deps.sh

revision: $(STAMP) ## new migration: make revision m="what changes"
	$(BIN)/alembic revision --autogenerate -m "$(m)"

bench: $(STAMP) ## benchmarks (BENCH_SIZES=10000,100000, BENCH_JOB_SIZES=1000000; PostgreSQL on 127.0.0.1, wrk) -> docs/benchmarks*.md
	$(BIN)/pip install --quiet 'duckdb>=1.1' 'psutil>=5.9'
	command -v wrk >/dev/null || { apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }; } \
		|| echo "wrk could not be installed: the load tests will be skipped" >&2
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.job_import

clean: ## remove the virtualenv and the local SQLite database
	rm -rf $(VENV) data/*.db data/*.db-*
