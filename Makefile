# kb: two commands do all the set-up on a machine with only python3 (3.11+) and make.
#   make serve   install, build the corpus, serve it on http://127.0.0.1:8001/
#                (make serve PORT=8002 HOST=0.0.0.0 for another address)
#   make test    install, run the test suite, check the shipped corpus
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-kb
HOST ?= 127.0.0.1
PORT ?= 8001
# constraints.txt pins what is installed (-c) and, since pip's -c does not reach the isolated
# environment that builds kb, the build backend too (--build-constraint: setuptools).
PIP := $(BIN)/python -m pip --disable-pip-version-check
PINNED := -c constraints.txt --build-constraint constraints.txt
# setuptools says "Editable installation ... be careful with folders named like your package"
# on every editable install: a note, not a problem of this project, so it is not shown.
QUIET_EDITABLE := PYTHONWARNINGS="ignore:Editable installation"
# In CI the seed archive (../shared/seeds) is present: every quote must be verified there.
REQUIRE_SNAPSHOTS := $(if $(CI),--require-snapshots,)

.PHONY: install build serve check lint test bench lock docs clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "kb needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) -V 2>/dev/null || echo 'not found') (try: make PYTHON=python3.12)" >&2; exit 1; }
	@test -x $(BIN)/python || { echo "==> creating $(VENV) with $$($(PYTHON) -V)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> installing the pinned pip and setuptools (constraints.txt)"
	@$(PIP) install --quiet -c constraints.txt pip setuptools
	@echo "==> installing kb and its test tools into $(VENV) (about a minute the first time)"
	@$(QUIET_EDITABLE) $(PIP) install --quiet $(PINNED) -e '.[test]'
	@touch $(STAMP)
	@echo "==> installed: $(BIN)/kb ($$($(BIN)/kb --version)); put $(BIN) on PATH or run: source $(BIN)/activate"

build: install
	$(BIN)/kb build

serve: install
	$(BIN)/kb serve --host $(HOST) --port $(PORT)

check: install
	$(BIN)/kb check --strict $(REQUIRE_SNAPSHOTS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install lint
	$(BIN)/python -m pytest
	$(BIN)/kb check --strict $(REQUIRE_SNAPSHOTS)
	$(BIN)/kb check-draft --strict examples/money-trap.md

bench: install
	@$(PIP) install --quiet $(PINNED) -e ".[test,bench]"
	$(BIN)/python benchmarks/bench.py
	KB_LOAD_REQUESTS=2000 $(BIN)/python -m pytest tests/test_public_probes.py -k bounded_load -q -s

docs: install
	$(BIN)/python scripts/update_readme.py

lock: install
	(head -n 2 constraints.txt; $(BIN)/python -m pip freeze --all --exclude-editable) > constraints.new && mv constraints.new constraints.txt

clean:
	rm -rf $(VENV) kb.db .kb.db.* *.egg-info .pytest_cache .hypothesis
