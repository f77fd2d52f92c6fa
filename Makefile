# Two commands on a fresh machine: `make run` and `make test`. Everything else is installed by them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint format bench diagrams clean

install: $(STAMP)

$(STAMP): pyproject.toml client/pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]' -e ./client
	touch $(STAMP)

run: install
	$(BIN)/threadline serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check threadline client tests bench
	$(BIN)/ruff format --check threadline client tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix threadline client tests bench
	$(BIN)/ruff format threadline client tests bench

# Three workers on two cores: most tests wait on I/O (databases, servers, streams). docs/testing.md.
test: lint
	$(BIN)/pytest -n 3 --dist loadgroup

test-fast: install
	$(BIN)/pytest -x -q -m "not e2e and not scaffold"

bench: install
	$(BIN)/python -m bench

# The architecture diagram: docs/architecture.diag is the source, the SVG beside it is committed.
diagrams: install
	$(BIN)/pip install --quiet -c constraints.txt -e '.[docs]'
	$(BIN)/blockdiag -Tsvg docs/architecture.diag -o docs/architecture.svg

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache threadline.db threadline.db-wal threadline.db-shm
