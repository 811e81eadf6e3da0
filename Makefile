# Two commands for a fresh machine: `make run` and `make test`. `make help` lists the rest, with the values it will use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000
# The demo's administrator token: made once by `make run` (mode 0600, git-ignored), passed as REGISTRY_BOOTSTRAP_TOKEN.
TOKEN_FILE := data/admin-token
WITH_TOKEN = REGISTRY_BOOTSTRAP_TOKEN="$${REGISTRY_BOOTSTRAP_TOKEN:-$$(cat $(TOKEN_FILE))}"
# The database the commands use, as the application finds it: DATABASE_URL, else .env's, else ./data/registry.db.
DATABASE := $(or $(DATABASE_URL),$(shell sed -n 's/^DATABASE_URL=["'\'']\{0,1\}\([^"'\'']*\).*/\1/p' .env 2>/dev/null | tail -n1),sqlite:///data/registry.db)
# A URL as help shows it: without its password, and safe in awk's gsub.
shown = $(shell printf '%s' '$(1)' | sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#; s/&/\\\\&/g')
DATABASE_SHOWN := $(call shown,$(DATABASE))
POSTGRES_SHOWN := $(if $(TEST_POSTGRES_URL), and on PostgreSQL ($(call shown,$(TEST_POSTGRES_URL))))

.PHONY: help run install migrate test lint check revision clean browsers bench bench-enrolments bench-projection bench-access-log bench-twins

help: ## list the targets (with the values they will use)
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' -v host='$(HOST)' -v port='$(PORT)' -v db='$(DATABASE_SHOWN)' \
		-v pg='$(POSTGRES_SHOWN)'  \
		'{gsub(/\{HOST\}/, host, $$2); gsub(/\{PORT\}/, port, $$2); gsub(/\{DATABASE\}/, db, $$2); gsub(/\{PG\}/, pg, $$2); \
		  printf "  %-10s %s\n", $$1, $$2}'
	@echo "  Change the port: make run PORT=8080. Start empty: REGISTRY_DEMO=0 make run. Another database: DATABASE_URL=..."

$(RUN_STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): $(RUN_STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(TOKEN_FILE):
	@mkdir -p $(@D)
	@umask 077 && $(PY) -c 'import secrets; print(secrets.token_urlsafe(32))' > $@

install: $(DEV_STAMP) ## create .venv with the package and its test tools (pytest, playwright, schemathesis, ...)

migrate: $(RUN_STAMP) ## bring {DATABASE} to the newest schema
	$(BIN)/registry migrate

run: migrate $(TOKEN_FILE) ## install what running needs, migrate, load the demo into {DATABASE} if it is empty (REGISTRY_DEMO=0: start empty), serve on http://{HOST}:{PORT}
	@$(WITH_TOKEN) $(BIN)/registry demo --url http://$(HOST):$(PORT)
	@$(WITH_TOKEN) exec $(BIN)/registry serve --host $(HOST) --port $(PORT)

# Test processes (pytest-xdist): one per core by default; TEST_WORKERS=0 runs them in this one process.
TEST_WORKERS ?= auto
test: $(DEV_STAMP) ## run the tests on SQLite{PG}, one process per core (both: about 35 minutes on 2 cores; TEST_POSTGRES_URL adds PostgreSQL)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

lint: $(DEV_STAMP) ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/mypy

check: lint test ## what CI runs (plus alembic check, in the tests)

browsers: ## system packages for the browser and PDF tests (Debian: chromium, poppler-utils, fonts-dejavu-core)
	bash tests/web/install-system-deps.sh

revision: $(RUN_STAMP) ## new migration: make revision m="what changes"
	$(BIN)/alembic revision --autogenerate -m "$(m)"

bench: $(DEV_STAMP) ## benchmarks (BENCH_SIZES=10000,100000, BENCH_JOB_SIZES=1000000; PostgreSQL on 127.0.0.1, wrk) -> docs/benchmarks*.md
	$(BIN)/pip install --quiet 'duckdb>=1.1' 'psutil>=5.9'
	command -v wrk >/dev/null || { apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }; } \
		|| echo "wrk could not be installed: the load tests will be skipped" >&2
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.job_import
	$(BIN)/python -m bench.enrolments
	$(BIN)/python -m bench.projection
	$(BIN)/python -m bench.access_log
	$(BIN)/python -m bench.twins.measure

bench-enrolments: $(DEV_STAMP) ## only the import of 100,000 enrolments against its COPY floor (BENCH_ENROL_*) -> docs/benchmarks.md
	$(BIN)/pip install --quiet 'duckdb>=1.1' 'psutil>=5.9'
	$(BIN)/python -m bench.enrolments

bench-projection: $(DEV_STAMP) ## only the projection of one indicator for every unit, and one province's gap (BENCH_PROJ_*) -> docs/benchmarks.md
	$(BIN)/pip install --quiet 'duckdb>=1.1' 'psutil>=5.9'
	$(BIN)/python -m bench.projection

bench-access-log: $(DEV_STAMP) ## only named reads against reads without sensitive fields, 32 clients (BENCH_LOG_*) -> docs/benchmarks.md
	$(BIN)/pip install --quiet 'duckdb>=1.1' 'psutil>=5.9'
	command -v wrk >/dev/null || { apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }; }
	$(BIN)/python -m bench.access_log

bench-twins: $(DEV_STAMP) ## only the catalog's statements against their hand-written twins, answers compared (BENCH_TWINS_*) -> docs/benchmarks.md
	$(BIN)/python -m bench.twins.measure

clean: ## remove the virtualenv and the local SQLite database (the demo token in data/admin-token stays)
	rm -rf $(VENV) data/*.db data/*.db-*
