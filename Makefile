# KetaClinic: the handful of commands a developer needs. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/ketaclinic
DEMO_ENV := DEBUG=true DEMO_SHOW_TOTP=$${DEMO_SHOW_TOTP:-true}

.PHONY: demo serve install install-dev test test-postgres test-browser lint typecheck migrations-check check-deploy bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "KetaClinic needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## demo: install, migrate an SQLite database, seed the demo clinic if empty, serve on 127.0.0.1:8000
demo: install
	$(DEMO_ENV) $(BIN)/python manage.py migrate --no-input -v0
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo --if-empty
	@$(DEMO_ENV) $(BIN)/python manage.py demo_signins
	@echo ""
	@echo "Open http://127.0.0.1:$(PORT)/accounts/login/  (Ctrl-C stops the server)"
	@# A task worker runs beside the web server so queued emails and texts really go out (to the
	@# file backends under var/outbox/); it stops with the server.
	@$(DEMO_ENV) $(BIN)/python manage.py db_worker --interval 1 > var/worker.log 2>&1 & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(DEMO_ENV) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

## test: install dev dependencies and run the whole suite on SQLite (browser tests: make test-browser)
test: install-dev
	$(BIN)/pytest -m "not browser" -q

test-postgres: install-dev
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -m "not browser" -q

test-browser: install-dev
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(BIN)/pytest -m browser -q

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy .

migrations-check: install-dev
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run

check-deploy: install
	SECRET_KEY=$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))') ALLOWED_HOSTS=clinic.example.org \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

bench: install-dev
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) var/*.sqlite3* var/static
