# Two commands matter: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
PORT   ?= 8000
AXE    := tests/browser/node_modules/.installed-$(shell cksum < tests/browser/package-lock.json | cut -d' ' -f1)

.PHONY: demo test lint serve scheduler clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-* && touch $@

# axe-core for the browser tests' accessibility audit; without npm those tests skip and say why.
$(AXE): tests/browser/package-lock.json
	@if command -v npm >/dev/null; then \
	  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the browser tests' accessibility audit will skip."; fi

demo: $(STAMP)          ## the service on the bundled sample site, embedded Redis, http://127.0.0.1:$(PORT)
	PORT=$(PORT) $(BIN)/syndication demo

test: $(STAMP) $(AXE)   ## the whole test suite (embedded Redis; SYNDICATION_TEST_REDIS_URL for another)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)          ## ruff, then the type checker (mypy, configured in pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/python -m mypy

serve: $(STAMP)         ## web + scheduler on feeds/ (no sample site)
	PORT=$(PORT) $(BIN)/syndication serve

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis .mypy_cache
