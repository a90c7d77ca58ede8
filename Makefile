# Genchi: `make demo` serves a demo installation, `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha256sum < pyproject.toml | cut -c1-12)

.PHONY: demo test lint format system-packages clean-demo

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 が必要です (python3.11 が見つかりません)"; exit 2; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Debian packages the suite uses (age, Chromium, poppler, Japanese fonts); installed when missing and root.
system-packages:
	@sh scripts/system-packages.sh

demo: $(STAMP)
	$(BIN)/genchi demo

test: $(STAMP) system-packages
	$(BIN)/pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean-demo:
	rm -rf var/
