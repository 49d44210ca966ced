# OneWindow — two commands (README.md):
#
#   make demo   builds everything, starts OneWindow with demo data at http://127.0.0.1:8000 ($PORT overrides)
#   make test   builds everything and runs the whole suite: lint, types, SQLite, PostgreSQL if DATABASE_URL
#
# Needs python3.11 and Node.js 20 with npm; Chromium and CJK fonts for the browser tests come from
# scripts/setup_system.sh. Installs are remembered with stamp files, so a second run only rebuilds what
# changed: .venv/.installed (pyproject.toml, the lock file), node_modules/.installed (package-lock.json).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules --no-print-directory

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS := requirements/constraints.txt
NPM_LOCK := $(wildcard package-lock.json)
PORT ?= 8000
export PORT
# pytest-xdist workers: "auto" is one per core; set PYTEST_WORKERS=0 to run in one process.
PYTEST_WORKERS ?= auto
PYTEST_ARGS ?=
PIP_INSTALL := $(BIN)/python -m pip install --disable-pip-version-check --constraint $(CONSTRAINTS)

.PHONY: help demo test install install-dev assets lint format typecheck test-sqlite test-postgres \
	migrate demo-data run demo-check lock clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# --- the two commands ---------------------------------------------------------------------------------

demo: install assets ## Build, migrate, load demo data, run web + worker + scheduler (Ctrl-C stops all)
	$(BIN)/onewindow demo --port $(PORT)

test: install-dev assets ## Build, then ruff, mypy and pytest on SQLite (and PostgreSQL if DATABASE_URL)
	$(MAKE) lint typecheck test-sqlite test-postgres

# --- installs ------------------------------------------------------------------------------------------

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 (see README.md)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# The runtime dependencies only (make demo); the lock file pins every version.
$(VENV)/.installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP_INSTALL) --editable .
	touch $@

# Plus the test, lint and type-checking tools (make test); one pip run, which also satisfies the above.
$(VENV)/.installed-dev: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP_INSTALL) --editable ".[dev]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed ## Create .venv and install the runtime dependencies from the lock file

install-dev: $(VENV)/.installed-dev ## Same, with the development tools

node_modules/.installed: package.json $(NPM_LOCK)
	@command -v npm >/dev/null || { echo "npm not found: install Node.js 20 (see README.md)" >&2; exit 1; }
	if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
	touch $@

assets: install node_modules/.installed ## Compile CSS/JS (npm run build), message catalogues, collectstatic
	npm run --silent build
	$(BIN)/python scripts/compile_messages.py
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0

# --- checks ---------------------------------------------------------------------------------------------

lint: install-dev ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install-dev ## mypy --strict with django-stubs
	$(BIN)/mypy .

test-sqlite: install-dev ## The whole pytest suite on SQLite (DATABASE_URL ignored)
	env -u DATABASE_URL $(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The browser tests check what pages look like and how accessible they are, which does not depend on the
# database, so they run once, on SQLite; everything else runs again here.
test-postgres: install-dev ## The pytest suite but browser tests on the PostgreSQL in DATABASE_URL, if set
	@if [ -z "$${DATABASE_URL:-}" ]; then \
		echo "DATABASE_URL is not set: PostgreSQL run skipped (.ci/run sets it)"; \
	else \
		echo "PostgreSQL run: $${DATABASE_URL%%\?*}"; \
		$(BIN)/pytest -n $(PYTEST_WORKERS) -m "not browser" $(PYTEST_ARGS); \
	fi

# --- running --------------------------------------------------------------------------------------------

migrate: install ## Apply database migrations
	$(BIN)/onewindow migrate --noinput

demo-data: migrate ## Load (or refresh) the demo data; accounts in var/demo-accounts.json
	ONEWINDOW_ENV=demo $(BIN)/onewindow manage demo_load

run: install assets migrate ## Django's development server with auto-reload (no worker, no scheduler)
	ONEWINDOW_DEBUG=true ONEWINDOW_LOG_FORMAT=console $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Starts `make demo`'s command on a spare port with its own var/ directory, waits for /healthz, stops it
# with Ctrl-C (SIGINT) and checks that every process has gone: .ci/run uses it to keep `make demo` working.
demo-check: install assets ## Smoke-test the demo: start, wait for /healthz, Ctrl-C, all processes gone
	bash scripts/demo_check.sh $(BIN)/onewindow

# --- maintenance ----------------------------------------------------------------------------------------

# Regenerate the lock file from the current .venv (after changing dependencies in pyproject.toml:
# `.venv/bin/pip install -e ".[dev]"` first, or delete .venv and `make install-dev` with the old lock
# moved away to take the newest versions).
lock: install-dev ## Rewrite requirements/constraints.txt from .venv (pip freeze)
	{ \
		echo "# Exact versions of every Python package OneWindow installs (runtime and [dev])."; \
		echo "# Generated by \`make lock\` (pip freeze --exclude-editable) with $$($(BIN)/python --version)."; \
		echo "# Used as a constraints file: pip install -c requirements/constraints.txt -e \".[dev]\""; \
		$(BIN)/python -m pip freeze --exclude-editable --disable-pip-version-check; \
	} > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	touch $(VENV)/.installed $(VENV)/.installed-dev

clean: ## Remove build output (keeps .venv, node_modules and var/)
	rm -rf staticfiles onewindow/web/static/dist onewindow/web/static/vendor .pytest_cache .mypy_cache .ruff_cache
	find onewindow -name '*.mo' -delete
