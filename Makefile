# Two commands get a newcomer going: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum < requirements.lock | cut -d' ' -f1)
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install run test lint typecheck pytest stack migrate e2e fuzz bench bench-smoke clean

$(STAMP): requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

## Serve API, docs and admin with demo data (embedded default unless DATABASE_URL/REDIS_URL are set).
run: migrate
	$(BIN)/python manage.py load_demo_catalog
	@if [ -z "$$DATABASE_URL$$REDIS_URL" ]; then $(BIN)/python manage.py ensure_demo_admin; fi
	@echo "Serving on http://$(HOST):$(PORT)  (docs: /api/docs, admin: /admin/)"
	WEB_HOST=$(HOST) WEB_PORT=$(PORT) bin/web

## ruff, mypy and pytest. With DATABASE_URL + REDIS_URL the tests run on the real servers.
test: lint typecheck pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy .

pytest: install
	$(BIN)/pytest

## Full stack in one terminal (uvicorn, Celery worker, beat): needs DATABASE_URL, REDIS_URL, DJANGO_SECRET_KEY.
stack: migrate
	$(BIN)/honcho start

## Postman collection end to end with newman on a throwaway stack (needs PostgreSQL, Redis, Node >= 16).
e2e: install
	bin/e2e newman

## schemathesis over the live OpenAPI schema with a customer and an admin token (FUZZ_EXAMPLES=25).
fuzz: install
	bin/e2e fuzz

## Benchmarks on a throwaway stack (needs PostgreSQL, Redis, wrk): prints a table, writes bench/out/.
bench: install
	$(BIN)/python -m bench

## The same code paths in seconds; fails on errors, 5xx, inexact stock or a lost event, never on timings.
bench-smoke: install
	$(BIN)/python -m bench --smoke

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .mypy_cache .ruff_cache .pytest_cache
