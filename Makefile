# gatewatch: two commands do all set-up on a fresh machine, `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium

export YOLO_OFFLINE := 1

.PHONY: install run test test-fast lint typecheck bench browser screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Starts the service on the embedded default (SQLite and files under ./var) with the sample footage
# imported and indexed, an admin user created, and the URL printed.
run: install
	$(BIN)/gatewatch demo --host $(HOST) --port $(PORT)

# Debian's chromium drives the web page tests (Playwright never downloads a browser here).
browser:
	@test -x $(CHROMIUM) || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

test: install browser
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# mypy over footage/, detection/ and api/ alone (config in pyproject.toml; `test` and `lint` run it too).
typecheck: install
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/index.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/scale.py

# Refreshes the README's pictures of the web page from the browser tests.
screenshots: install browser
	GATEWATCH_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/test_web.py tests/test_web_use.py

clean:
	rm -rf var .pytest_cache
