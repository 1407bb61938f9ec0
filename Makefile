# Fresh-machine entry points. Every target creates the virtual environment it needs.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.skelaug-installed

.PHONY: demo test lint typecheck pytest docs bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned: the pin takes the local CPU build instead of several GB of CUDA wheels.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[dev,llm,reference]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m skelaug demo --out out/demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

test: lint pytest docs

docs: $(STAMP)
	$(BIN)/sphinx-build -W -q -b html docs docs/_build/html

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) out docs/_build
