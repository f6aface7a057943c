# Every target installs what it needs first; `make setup` is idempotent.
VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
PYTHON3 ?= python3

.PHONY: setup demo test bench lint chromium worker-toolchain clean

setup: $(STAMP) chromium worker-toolchain

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Debian's chromium for the browser journeys (playwright cannot download its own browser here).
chromium:
	@test -x /usr/bin/chromium || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The Node toolchain for `tiersync run --worker` (miniflare, esbuild; pinned in harness/worker/package-lock.json),
# installed with npm into ~/.cache/tiersync/node/, never globally. Skipped with a note where Node is missing.
worker-toolchain: $(STAMP)
	@if command -v npm >/dev/null; then $(PY) -m tiersync.worker.toolchain >/dev/null; \
	else echo "make setup: no npm: tiersync run --worker will not work here (install nodejs and npm)"; fi

demo: setup
	$(VENV)/bin/tiersync demo

test: setup
	$(PY) -m pytest -n 2

bench: setup
	$(PY) bench/run.py

lint: setup
	$(VENV)/bin/ruff check harness receiver scenarios tests bench

clean:
	rm -rf $(VENV)
