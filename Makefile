# The two commands: `make run` (set up and serve on SQLite with the seed data) and
# `make test` (the whole suite). Everything else here supports them.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The developer setup is the one place DEBUG is turned on.
DEV := DEBUG=true

.PHONY: run serve test test-fast fuzz-large lint superuser reseed clean bench fuzz-api stress

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# pyiati carries the IATI 2.03 schemas the IATI export is validated against
# (tests/projects/test_iati.py). --no-deps: only its data files are used; it pins
# old releases of lxml, PyYAML and jsonschema that must not replace ours.
$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps pyiati==0.4.1
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(DEV) $(PY) manage.py migrate --noinput
	$(DEV) $(PY) manage.py seed
	@echo
	@echo "The tracker is starting at http://$(HOST):$(PORT)/ (admin: http://$(HOST):$(PORT)/admin/)."
	@echo "To create the first admin user, run in another terminal:  make superuser"
	@echo
	$(DEV) $(PY) manage.py runserver $(HOST):$(PORT)

superuser: $(VENV)/.installed-run
	$(DEV) $(PY) manage.py createsuperuser

# Deletes all tracker data (not users) and loads the seed data again, on purpose.
reseed: $(VENV)/.installed-run
	$(DEV) $(PY) manage.py seed --reload

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

# The OpenAPI schema (as /api/v1/schema/ serves it) through three other tools:
# openapi-spec-validator (the OpenAPI 3.0 specification), Spectral's spectral:oas
# (.spectral.yaml) and Redocly's recommended (redocly.yaml). Each runs; any error fails,
# warnings are shown. The npm tools are pinned in package.json and package-lock.json.
.PHONY: schema-lint
schema-lint: $(VENV)/.installed-dev
	@[ -x node_modules/.bin/spectral ] && [ -x node_modules/.bin/redocly ] || SCARF_ANALYTICS=false npm ci --no-audit --no-fund
	@dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && schema="$$dir/schema.json" && \
	$(DEV) $(PY) manage.py spectacular --format openapi-json --file "$$schema" && \
	failed="" && \
	{ $(VENV)/bin/openapi-spec-validator --validation-errors all "$$schema" || failed="$$failed openapi-spec-validator"; } && \
	{ node_modules/.bin/spectral lint --ruleset .spectral.yaml --fail-severity error "$$schema" || failed="$$failed spectral"; } && \
	{ REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
	  node_modules/.bin/redocly lint --config redocly.yaml --format stylish "$$schema" || failed="$$failed redocly"; } && \
	if [ -n "$$failed" ]; then echo "schema-lint: errors from$$failed" >&2; exit 1; fi

# The suite runs on every core (pytest-xdist, one database per worker), then the few
# tests marked `serial` on their own. PYTEST_ARGS goes to both runs (CI's SQLite pass
# gives --second-engine: see tests/conftest.py). Exit status 5 is "no test selected".
PYTEST_ARGS ?=
WORKERS ?= auto
test: lint
	SECRET_KEY=makemigrations-check-only $(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest -n $(WORKERS) -m "not serial" $(PYTEST_ARGS)
	$(VENV)/bin/pytest -p no:xdist -m serial $(PYTEST_ARGS) || [ $$? -eq 5 ]

# The inner loop: SQLite, every core, without the browser, fuzz and serial tests.
test-fast: $(VENV)/.installed-dev
	$(VENV)/bin/pytest -n $(WORKERS) -m "not serial and not browser" --ignore=tests/fuzz $(PYTEST_ARGS)

# The hypothesis fuzz suites at ten times CI's size (FUZZ_SCALE=1 in `make test`).
FUZZ_SCALE ?= 10
fuzz-large: $(VENV)/.installed-dev
	FUZZ_SCALE=$(FUZZ_SCALE) $(VENV)/bin/pytest -n $(WORKERS) tests/fuzz $(PYTEST_ARGS)

# The performance benchmark against the raw limit of the stack (bench/run.py; needs
# wrk, PostgreSQL's binaries or DATABASE_URL, and Redis on 127.0.0.1:6379, db 5).
# Full scale takes a while; `make bench ARGS=--quick` runs 10,000 projects in under two minutes.
bench: $(VENV)/.installed-dev
	$(PY) bench/run.py $(ARGS)

# Fuzz the live API with schemathesis from its OpenAPI schema: every check, every phase,
# two fixed seeds, 300 examples per operation, as an editor and anonymously, on PostgreSQL
# (DATABASE_URL's server, or a throwaway cluster). Configuration: schemathesis.toml.
# CI runs a smaller size (.ci/run); ARGS="--max-examples 60 --seeds 1" for your own.
fuzz-api: $(VENV)/.installed-dev
	$(PY) bench/fuzz_api.py $(ARGS)

# Concurrent editors (bench/stress.py): N clients read one project and write it back
# with If-Match, round after round, on PostgreSQL (DATABASE_URL's server, or a throwaway
# cluster), served by gunicorn on 127.0.0.1. Exits non-zero on any lost update.
STRESS_CLIENTS ?= 8
STRESS_ROUNDS ?= 1000
stress: $(VENV)/.installed-dev
	$(PY) bench/stress.py --clients $(STRESS_CLIENTS) --rounds $(STRESS_ROUNDS) $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles
