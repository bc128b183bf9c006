# BERT Lens: `make setup` once, then `make run`; `make test` runs every test, `make test-fast` the quick loop.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: setup run test test-fast bench wheel translations

# The package in editable mode with the test tools (run-time pins: requirements.txt; extras: pyproject.toml).
setup: $(BIN)/activate
	$(BIN)/pip install -q -e ".[dev]"

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

run:
	$(BIN)/bert-lens serve

# Everything CI runs: unit, library, AppTest, real Chromium, Ray (when installed), the wheel.
test:
	$(BIN)/python -m pytest --durations=20

# The quick loop (37 s on a quiet 2-core machine): no browser, no AppTest of a real model, no Ray, nothing slow.
test-fast:
	$(BIN)/python -m pytest -q -m "not (browser or app or ray or slow)"

# make bench BENCH_ARGS=--quick for the shorter run (its data-set parts take longest); see `python benchmarks/run.py --help`.
bench:
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# dist/bert_lens-<version>-py3-none-any.whl (and the sdist)
wheel:
	$(BIN)/python -m build --outdir dist .

# Extract every _()/N_()/ngettext() string, merge it into the catalogues, compile them (.mo is committed).
LOCALES = explain/locale
translations:
	PYTHONPATH=. $(BIN)/pybabel -q extract -F babel.cfg -k _ -k N_ -k ngettext:1,2 --no-location --sort-output \
		--project "BERT Lens" -o $(LOCALES)/bertlens.pot .
	$(BIN)/pybabel -q update -i $(LOCALES)/bertlens.pot -d $(LOCALES) -D bertlens --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel -q compile -d $(LOCALES) -D bertlens --statistics
