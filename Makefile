# BERT Lens: `make setup` once, then `make run`; `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: setup run test bench

setup: $(BIN)/activate
	$(BIN)/pip install -q -r requirements-dev.txt

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

run:
	HF_HUB_OFFLINE=$${HF_HUB_OFFLINE:-0} $(BIN)/streamlit run app/main.py

test:
	$(BIN)/python -m pytest

bench:
	$(BIN)/python -m explain.bench
