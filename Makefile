# The two commands a newcomer needs: `make run` and `make test`. `make help` lists the rest.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

$(VENV)/.python-ok:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.12 to pick one).")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	@touch $@

$(VENV)/.installed: $(VENV)/.python-ok pyproject.toml
	$(PIP) install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PIP) install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed ## Create .venv and install the application
install-test: $(VENV)/.installed-test ## Install the application and what the tests need

.env:
	cp .env.example .env

setup: install .env ## Migrate the database, sync schedules and shop defaults, load the demo shop, create dev logins
	DEBUG=$${DEBUG:-true} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(PY) manage.py sync_schedules
	DEBUG=$${DEBUG:-true} $(PY) manage.py sync_shop_defaults
	DEBUG=$${DEBUG:-true} $(PY) manage.py seed_demo
	DEBUG=$${DEBUG:-true} $(PY) manage.py devlogin

run: setup ## Set everything up and start the web app and the django-q2 cluster (Ctrl-C stops both)
	@echo "Starting http://127.0.0.1:$(PORT)/admin/ and the django-q2 cluster; Ctrl-C stops both."
	DEBUG=$${DEBUG:-true} PORT=$(PORT) bin/run-dev

lint: install-test ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

pytest: install-test ## Run the test suite only (pass ARGS=... to pytest)
	$(VENV)/bin/pytest $(ARGS)

test: install-test ## Lint, check migrations, run every test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest $(ARGS)

format: install-test ## Apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

messages: install ## Update locale/*/django.po from the code and compile them (the .mo files are committed)
	DEBUG=$${DEBUG:-true} $(PY) manage.py makemessages -l de -l ru -l ko -l zh_Hans --ignore=.venv --ignore=var --ignore=bench --ignore='*.egg-info' --no-location --no-wrap
	DEBUG=$${DEBUG:-true} $(PY) manage.py compilemessages --ignore=.venv

bench: install-test ## Run every bench/*.py: outbox, webhook ingest, fan-out, review page, support queue, dashboard (BENCH_DB=sqlite|postgres|both, BENCH_DELIVERIES=N, BENCH_CONCURRENCY=C, BENCH_FANOUT_CUSTOMERS=N, BENCH_REVIEW_REQUESTS=N, BENCH_QUEUE_CASES=N, BENCH_DASHBOARD_ORDERS=N, BENCH_DASHBOARD_MESSAGES=N, BENCH_DASHBOARD_SMOKE=1); fails only on a crash, a missed budget is printed
	@found=; for script in bench/*.py; do [ -e "$$script" ] || continue; found=1; echo "== $$script"; $(PY) $$script || exit 1; done; [ -n "$$found" ] || echo "No benchmarks yet."

clean: ## Remove the virtualenv and the local database
	rm -rf $(VENV) var staticfiles

.PHONY: help install install-test setup run lint pytest test format messages bench clean
