# Two commands on a fresh machine: `make run` (the whole service) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test bench bench-all config-check clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "callrouter needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

run: $(VENV)/.installed
	$(PY) -m webhooks.serve

test: $(VENV)/.installed
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(PY) bench/webhooks.py

bench-all: $(VENV)/.installed
	$(PY) bench/webhooks.py; $(PY) bench/streams.py; $(PY) bench/routing.py; $(PY) bench/erlang.py

config-check: $(VENV)/.installed
	FLASK_APP=wsgi $(VENV)/bin/flask config-check $(or $(CONFIG),config/demo.yaml)

clean:
	rm -rf $(VENV) .pytest_cache
