# kb: two commands do all the set-up on a machine with only python3 and make.
#   make serve   install, build the corpus, serve it on http://127.0.0.1:8001/ (PORT=8002 for another)
#   make test    install, run the test suite, check the shipped corpus
PYTHON ?= python3
PORT ?= 8001
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-kb
# In CI the seed archive (../shared/seeds) is present: every quote must be verified there.
REQUIRE_SNAPSHOTS := $(if $(CI),--require-snapshots,)

.PHONY: install build serve check lint test bench lock docs clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt pip setuptools
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

build: install
	$(BIN)/kb build

serve: install
	$(BIN)/kb serve --port $(PORT)

check: install
	$(BIN)/kb check --strict $(REQUIRE_SNAPSHOTS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install lint
	$(BIN)/python -m pytest
	$(BIN)/kb check --strict $(REQUIRE_SNAPSHOTS)

bench: install
	$(BIN)/python benchmarks/bench.py

docs: install
	$(BIN)/python scripts/update_readme.py

lock: install
	(head -n 2 constraints.txt; $(BIN)/python -m pip freeze --all --exclude-editable) > constraints.new && mv constraints.new constraints.txt

clean:
	rm -rf $(VENV) kb.db .kb.db.* *.egg-info .pytest_cache .hypothesis
