# Right-Speed Portfolio — the two commands are `make run` and `make test` (README.md).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# Django 6.1 needs Python 3.12+: take the first interpreter on this machine that is.
PYTHON ?= $(shell for p in python3.12 python3.13 python3.14 $(HOME)/.pyenv/versions/3.12*/bin/python3 $(HOME)/.pyenv/versions/3.13*/bin/python3 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then command -v $$p; break; fi; done)

.PHONY: install run test lint bench load clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is required (Django 6.1)."; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.lock $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	touch $@

# Front-end packages (package.json, pinned by package-lock.json) from the npm registry; the app serves
# the files it needs itself (portfolio/staticfiles.py), so pages work with no internet.
node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm is required to install the front-end packages (Debian: apt-get install npm)."; exit 1; }
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error

install: $(VENV)/.installed node_modules/.package-lock.json

# Ctrl-C ends `make run` with status 0, not "make: *** Error 130": on a terminal honcho runs as the
# foreground job (set -m), so the interrupt reaches honcho alone, which stops every process and exits
# 130, the normal end here. Ctrl-Z is ignored: a stopped honcho would strand the processes it started.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py recompute_split  # so the dashboard has figures before the first night
	@echo "Serving on http://127.0.0.1:8000 with a Celery worker and beat — Ctrl-C stops all of it."
	@if [ -t 0 ]; then set -m; fi; trap '' TSTP; \
	$(BIN)/honcho start -f Procfile; status=$$?; [ $$status -eq 130 ] && exit 0; exit $$status

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -r portfolio initiatives budgets split dashboard reports scenarios outcomes demo -ll -x '*/migrations/*'
	$(BIN)/lint-imports --no-cache

test: lint
	DJANGO_SETTINGS_MODULE=portfolio.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m bench

load: install
	$(BIN)/python -m load

clean:
	rm -rf $(VENV) node_modules .celery staticfiles db.sqlite3*
