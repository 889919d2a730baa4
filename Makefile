# Two commands on a fresh machine: `make run` (the whole service) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

# The agent console's browser bundle (console/ -> webhooks/static/dist/, git-ignored): the Twilio
# Voice JS SDK from npm and the page's script, built with esbuild; rebuilt when its sources change.
NPM ?= npm
CONSOLE_SRC := $(wildcard console/src/*.js) console/build.mjs
BUNDLE := webhooks/static/dist/.built

.PHONY: run demo test faults bench bench-all config-check clean console

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "callrouter needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -e . --no-deps   # the packages importable from any directory
	@touch $@

console/node_modules/.installed: console/package.json console/package-lock.json
	@command -v $(NPM) >/dev/null || { echo "the agent console needs Node.js 20+ and npm (e.g. apt-get install nodejs npm)" >&2; exit 1; }
	cd console && $(NPM) ci --no-audit --no-fund --ignore-scripts   # esbuild ships its binary as a package
	@touch $@

$(BUNDLE): console/node_modules/.installed $(CONSOLE_SRC)
	cd console && $(NPM) run build
	@touch $@

console: $(BUNDLE)

run: $(VENV)/.installed $(BUNDLE)
	$(PY) -m service.serve

# The service with the simulator as Twilio: callers arriving, a simulated crew, one agent left to you.
demo: $(VENV)/.installed $(BUNDLE)
	$(PY) -m twiliosim demo $(DEMO_ARGS)

test: $(VENV)/.installed $(BUNDLE)
	$(PY) -m pytest -q $(PYTEST_ARGS)

# The fault suite (tests/faults): the real service through Redis killed and paused, SQL away for a
# minute, hang-ups crossing menu answers; its own Redis on 6397 and PostgreSQL database. Minutes.
faults: $(VENV)/.installed $(BUNDLE)
	$(PY) -m pytest -q tests/faults

bench: $(VENV)/.installed
	$(PY) -m bench.webhooks

bench-all: $(VENV)/.installed
	$(PY) -m bench.webhooks; $(PY) -m bench.streams; $(PY) -m bench.routing; $(PY) -m bench.screenpop; $(PY) -m bench.erlang

config-check: $(VENV)/.installed
	FLASK_APP=wsgi $(VENV)/bin/flask config-check $(or $(CONFIG),config/demo.yaml)

clean:
	rm -rf $(VENV) .pytest_cache console/node_modules webhooks/static/dist
