# Set-up and everyday tasks. Everything installs into a local virtual
# environment (.venv), so a fresh machine needs only Python 3.11.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint bench fonts clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

## Start the replica site, crawl it into a fresh archive, print a summary.
demo: install
	$(BIN)/uir-news demo

## The test suite: crawls the replica over loopback HTTP, real WARC and SQLite.
test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache  # the layer rules in .importlinter

## Benchmarks (minutes; loopback only). Method and figures: BENCHMARKS.md.
bench: install
	$(BIN)/python bench/bench_extract.py
	$(BIN)/python bench/bench_extract.py --corpus replica --reps 5
	$(BIN)/python bench/bench_warc.py
	$(BIN)/python bench/bench_crawl.py --articles 2000 --reps 3
	$(BIN)/python bench/bench_crawl.py --articles 1000 --reps 3 --latency-ms 20

## A CJK font so `uir-news stats --plot` draws Chinese names (Debian, as root).
fonts:
	apt-get install -y fonts-wqy-microhei || (apt-get update && apt-get install -y fonts-wqy-microhei)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
