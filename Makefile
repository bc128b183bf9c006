# BERT Lens: `make setup` once, then `make run`; `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: setup run test bench translations

setup: $(BIN)/activate
	$(BIN)/pip install -q -r requirements-dev.txt

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

run:
	HF_HUB_OFFLINE=$${HF_HUB_OFFLINE:-0} $(BIN)/streamlit run app/serve.py

test:
	$(BIN)/python -m pytest

# make bench BENCH_ARGS=--quick for the one-minute run; see `python benchmarks/run.py --help`.
bench:
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# Extract every _()/N_()/ngettext() string, merge it into the catalogues, compile them (.mo is committed).
LOCALES = explain/locale
translations:
	PYTHONPATH=. $(BIN)/pybabel -q extract -F babel.cfg -k _ -k N_ -k ngettext:1,2 --no-location --sort-output \
		--project "BERT Lens" -o $(LOCALES)/bertlens.pot .
	$(BIN)/pybabel -q update -i $(LOCALES)/bertlens.pot -d $(LOCALES) -D bertlens --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel -q compile -d $(LOCALES) -D bertlens --statistics
