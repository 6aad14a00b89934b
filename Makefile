# Essaim — the two commands of the README are `make run` and `make test`; the rest serve them.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
ESSAIM := $(BIN)/essaim
STAMP := $(VENV)/.installed

.PHONY: run test setup compiled lint typecheck check-ci demo-data clean messages

## run: set everything up, fill the demo base, print the logins and start every process
run: export DEMO := 1
run: setup
	@$(ESSAIM) migrate --noinput -v0
	@$(ESSAIM) createcachetable
	@$(ESSAIM) collectstatic --noinput -v0
	@$(ESSAIM) demo --contacts $${DEMO_CONTACTS:-2000}
	@# The port the web process listens on, as .env gives it (make does not read .env).
	@$(BIN)/python -c 'import os, essaim.env; print(f"Essaim runs at http://127.0.0.1:{os.environ.get("PORT") or 8000} — logins (new passwords each start):")'
	@$(ESSAIM) bootstrap_users
	@# honcho's own reading of .env cuts values at spaces ("Campagne Essaim <…>"): every process
	@# reads .env itself (essaim/env.py), so honcho gets none, only the web port.
	@PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start --env /dev/null \
		--port "$$($(BIN)/python -c 'import os, essaim.env; print(os.environ.get("PORT") or 8000)')"

## test: set everything up and run the whole test suite (DATABASE_URL/REDIS_URL pick the backends)
test: setup
	@scripts/install-system-packages
	$(BIN)/pytest $(PYTEST_ARGS)

## setup: virtualenv, Python and npm packages, a .env with a fresh secret key, the compiled
## hot modules (idempotent)
setup: $(STAMP) node_modules/.package-lock.json .env compiled

## compiled: the sender's hot modules compiled with mypyc into build/compiled/; the script
## rebuilds only those whose sources changed. A failed build falls back to Python with a
## warning, except for `make test` and in CI (--strict): a test checks the compiled build runs.
test: COMPILE_FLAGS := --strict
COMPILE_FLAGS ?= $(if $(CI),--strict)
compiled: $(STAMP)
	@$(BIN)/python scripts/compile-hot-modules $(COMPILE_FLAGS)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $$(scripts/find-python) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.env:
	@sed "s/^SECRET_KEY=.*/SECRET_KEY=$$(head -c 48 /dev/urandom | base64 | tr -d '/+=\n')/" .env.example > .env
	@echo "wrote .env (edit it to configure Essaim)"

## messages: after changing strings, refresh essaim/locale/en (.po) and compile it (.mo, committed);
## then translate every new or fuzzy entry of the .po and run it again (a test fails otherwise)
I18N_IGNORE := --ignore='node_modules/*' --ignore='.venv/*' --ignore='var/*' --ignore='bench/*'
messages: $(STAMP)
	DEBUG=1 $(ESSAIM) makemessages -l en $(I18N_IGNORE) -e html,txt,py
	DEBUG=1 $(ESSAIM) compilemessages -l en --ignore=.venv --ignore=node_modules

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy essaim

clean:
	rm -rf $(VENV) node_modules var build
