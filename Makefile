# The README's two commands: `make demo` and `make test`. Both create/refresh .venv first.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format browser alertmanager clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; set PYTHON=python3.X (3.11 or newer)" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The demo is pinned to one moment (the example data's last day), so every rerun builds the same
# site; the site is built to work opened as files (file://) as well as served.
DEMO_NOW ?= 2026-11-24T12:00:00Z

demo: $(STAMP)
	$(BIN)/govkit check --governance governance --today $(firstword $(subst T, ,$(DEMO_NOW)))
	$(BIN)/govkit events generate --governance governance --out .govkit/demo-events.parquet --now $(DEMO_NOW)
	$(BIN)/govkit monitor run --governance governance --events .govkit/demo-events.parquet --state .govkit/monitor.db --now $(DEMO_NOW) --write-reviews
	$(BIN)/govkit build --governance governance --site-dir site --state .govkit/monitor.db --now $(DEMO_NOW) --offline
	@echo
	@echo "Monitor state: $(CURDIR)/.govkit/monitor.db (snapshot: .govkit/monitor.json)"
	@echo "The handbook is at: $(CURDIR)/site/index.html (open it as a file, no server needed)"
	@echo "Serve it with live reload: $(BIN)/govkit serve --today $(firstword $(subst T, ,$(DEMO_NOW)))   (then open http://127.0.0.1:8000/)"

test: $(STAMP) browser alertmanager
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/govkit check --governance governance --strict
	@for cases in governance/policies/*.tests.yaml; do \
	  $(BIN)/govkit policy test "$${cases%.tests.yaml}.yaml" "$$cases" --governance governance || exit 1; \
	done
	$(BIN)/python -m pytest -q

# Headless Chromium for the browser tests, from Debian's package (Playwright's own download cannot
# run here). Skipped quietly where apt is not available; the browser tests then skip themselves.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium (Debian package) for the browser tests"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found and cannot be installed here: browser tests will be skipped"; fi; }

# Alertmanager and promtool for the ops-stack tests, from Debian's packages, likewise (the tests
# start their own Alertmanager on a free port: the packages' system services are not left
# running); where they cannot be installed those tests skip themselves, saying why.
alertmanager:
	@{ command -v prometheus-alertmanager || command -v alertmanager; } >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing prometheus-alertmanager and prometheus (Debian packages) for the ops-stack tests"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-alertmanager prometheus >/dev/null; \
	    systemctl disable --now prometheus-alertmanager prometheus >/dev/null 2>&1 || true; \
	  else echo "alertmanager or promtool not found and cannot be installed here: those tests will be skipped"; fi; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) site .govkit .pytest_cache .ruff_cache build dist *.egg-info
