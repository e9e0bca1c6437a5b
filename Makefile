# Set-up and everyday tasks. Everything installs into a local virtual
# environment (.venv), so a fresh machine needs only Python 3.11, 3.12 or 3.13.

# The first of python3.13, python3.12, python3.11, python3 that is 3.11-3.13;
# `make PYTHON=/path/to/python3.12 ...` picks another (then `make clean` first).
PYTHON ?= $(shell sh .ci/find-python 2>/dev/null)
VENV ?= .venv
BIN := $(VENV)/bin
# test-newest: a second venv with the newest Python 3.11-3.13 on PATH or in pyenv.
NEWEST_VENV ?= .venv-newest

.PHONY: install demo test test-fast test-newest lint bench fonts browser clean egg

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { sh .ci/find-python >/dev/null; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

## Start the replica site, crawl it into a fresh archive, print a summary.
demo: install
	$(BIN)/uir-news demo

## The test suite: crawls the replica over loopback HTTP, real WARC and SQLite;
## drives headless Chromium through the research pages (installed by `make browser`).
test: install browser
	$(BIN)/python -m pytest

## The tests that do not crawl the replica end to end (pytest marker e2e).
test-fast: install
	$(BIN)/python -m pytest -m "not e2e"

## The suite again in $(NEWEST_VENV) on the newest Python found, when .venv runs an older one.
test-newest: install
	@newest=$$(sh .ci/find-python --newest) || exit 1; \
	version='import sys; print("%d.%d" % sys.version_info[:2])'; \
	main=$$($(BIN)/python -c "$$version"); new=$$("$$newest" -c "$$version"); \
	if [ "$$main" = "$$new" ]; then \
		echo "test-newest: $(VENV) runs Python $$main, the newest here; nothing more to test"; \
	else \
		echo "test-newest: Python $$new ($$newest) in $(NEWEST_VENV); $(VENV) runs $$main"; \
		$(MAKE) --no-print-directory test VENV=$(NEWEST_VENV) PYTHON="$$newest"; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache  # the layer rules in .importlinter

## The egg scrapyd runs (dist/uir_news-*.egg), built from pyproject.toml; deploy it with
## `scrapyd-deploy TARGET --egg dist/uir_news-*.egg` (docs/scale-out.md).
egg: install
	$(BIN)/python deploy/build_egg.py --output dist

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

## Headless Chromium, its driver and a CJK font for tests/test_serve_browser.py (Debian).
## Installs only what is missing (as root, or with sudo); without them that test fails,
## unless UIR_NEWS_NO_BROWSER=1 (then it is skipped, saying so).
BROWSER_PACKAGES := chromium chromium-driver fonts-wqy-microhei
browser:
	@if [ "$$UIR_NEWS_NO_BROWSER" = 1 ]; then exit 0; fi; \
	if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then \
		echo "make browser: not a Debian system; install Chromium, its driver and a CJK font" \
			"yourself, or set UIR_NEWS_NO_BROWSER=1 to skip the browser test"; exit 0; fi; \
	missing=$$(for p in $(BROWSER_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		echo "installing $$missing"; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi

clean:
	rm -rf $(VENV) $(NEWEST_VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
