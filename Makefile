# The two commands a newcomer needs: `make run` and `make test`. Everything else is set up by them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
WORKERS ?= 2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PORT

.PHONY: run test test-pg bench lint format translations extract-messages assets chromium wrk valgrind clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

## Compiled catalogues are build output, never committed.
translations: $(VENV)/.runtime-installed
	$(BIN)/pybabel compile -d translations --statistics

## Re-extract messages after changing user-facing text, then translate the new zh_Hans entries.
extract-messages: $(VENV)/.runtime-installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--project survey_app -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

## Plotly's JavaScript comes from the pinned plotly package and is served from our own static/.
assets: static/vendor/plotly.min.js
static/vendor/plotly.min.js: $(VENV)/.runtime-installed
	cp "$$($(BIN)/python -c 'import plotly, pathlib; print(pathlib.Path(plotly.__file__).parent / "package_data" / "plotly.min.js")')" $@

run: $(VENV)/.runtime-installed translations assets
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi seed-demo
	$(BIN)/gunicorn --workers $(WORKERS) --preload --bind 127.0.0.1:$(PORT) --access-logfile - wsgi:app

## Debian programs the tests and benchmarks drive, installed when missing: Chromium (browser
## tests), wrk (the HTTP benchmark's load), valgrind (the instruction counts' callgrind).
chromium wrk valgrind:
	@command -v $@ >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $@; }

test: $(VENV)/.dev-installed translations assets chromium
	$(BIN)/pytest

## The same suite against a throwaway PostgreSQL cluster (installed from Debian when missing).
test-pg: $(VENV)/.dev-installed translations assets chromium
	scripts/with-postgres.sh $(BIN)/pytest

## Every benchmark on SQLite and PostgreSQL, then one summary table (BENCH_ARGS=--quick: small sizes).
bench: $(VENV)/.dev-installed translations assets wrk valgrind
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache static/vendor/plotly.min.js
	find translations -name '*.mo' -delete
