# Two commands get a newcomer going: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# One venv; each requirements group installs on top of it once per version of its lock.
stamp   = $(VENV)/.installed-$(1)-$(shell cksum < requirements/$(1).lock | cut -d' ' -f1)
RUNTIME := $(call stamp,runtime)
DEV     := $(call stamp,dev)
BENCH   := $(call stamp,bench)

.PHONY: help install install-dev install-bench run demo test lint typecheck pytest stack migrate e2e fuzz bench bench-smoke clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-%: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/$(word 1,$(subst -, ,$*)).lock
	@rm -f $(VENV)/.installed-$(word 1,$(subst -, ,$*))-* && touch $@

## Make .venv with what the API and its workers need (requirements/runtime.lock) and nothing more.
install: $(RUNTIME)

## Add the tests, lint, types, e2e and fuzzing tools (requirements/dev.lock).
install-dev: $(DEV)

## Add the benchmark's chart and reference design (requirements/bench.lock).
install-bench: $(BENCH)

## Create the PostgreSQL database if DATABASE_URL names a missing one, then apply migrations.
migrate: install
	@$(BIN)/python bin/ensure_database.py
	$(BIN)/python manage.py migrate --noinput

## Serve API, docs and admin with demo data (embedded default unless DATABASE_URL/REDIS_URL are set).
run: install
	@$(BIN)/python bin/ensure_database.py
	@$(BIN)/python manage.py migrate --noinput -v 0 && echo "Database up to date."
	@$(BIN)/python manage.py load_demo_catalog --no-progress
	@$(BIN)/python manage.py load_demo_orders
	@if [ -z "$$DATABASE_URL$$REDIS_URL" ]; then $(BIN)/python manage.py ensure_demo_admin; fi
	@echo "Serving http://$(HOST):$(PORT)/  API docs /api/docs  admin /admin/  live orders /live/  (Ctrl-C stops)"
	@WEB_HOST=$(HOST) WEB_PORT=$(PORT) bin/web

## Demo catalog and orders on whatever DATABASE_URL names (the full stack's demo data).
demo: migrate
	$(BIN)/python manage.py load_demo_catalog
	$(BIN)/python manage.py load_demo_orders

## ruff, mypy and pytest. With DATABASE_URL + REDIS_URL the tests run on the real servers.
test: lint typecheck pytest

## ruff check and ruff format --check.
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## mypy over the tree.
typecheck: install-dev
	$(BIN)/mypy .

## pytest alone (the suite `make test` runs after lint and typecheck).
pytest: install-dev
	$(BIN)/pytest

## Full stack in one terminal (uvicorn, Celery worker, beat): needs DATABASE_URL, REDIS_URL, DJANGO_SECRET_KEY.
stack: migrate
	WEB_HOST=$(HOST) WEB_PORT=$(PORT) $(BIN)/honcho start

## Postman collection end to end with newman on a throwaway stack (needs PostgreSQL, Redis, Node >= 16).
e2e: install-dev
	bin/e2e newman

## schemathesis over the live OpenAPI schema with a customer and an admin token (FUZZ_EXAMPLES=25).
fuzz: install-dev
	bin/e2e fuzz

## Benchmarks on a throwaway stack (needs PostgreSQL, Redis, wrk): prints a table, writes bench/out/.
bench: install-bench
	$(BIN)/python -m bench

## The same code paths in seconds; fails on errors, 5xx, inexact stock or a lost event, never on timings.
bench-smoke: install-bench
	$(BIN)/python -m bench --smoke

## Remove the venv, the embedded database (and its .demo-admin), collected static files and caches.
clean:
	rm -rf $(VENV) db.sqlite3 .demo-admin .mypy_cache .ruff_cache .pytest_cache
	find staticfiles -mindepth 1 -maxdepth 1 ! -name .gitignore -exec rm -rf {} +

## This list.
help:
	@awk '/^## /{doc=substr($$0,4); next} /^[a-z0-9-]+:/{if(doc){split($$1,t,":"); printf "  make %-12s %s\n", t[1], doc}; doc=""}' $(MAKEFILE_LIST)
