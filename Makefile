# Two commands do all set-up on a fresh machine (Python 3.11):
#   make demo   - install, embed ml-100k offline, train LightGCN and DaRecLightGCN, print the table
#   make test   - install, run the test suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DEPS_STAMP := $(VENV)/.deps-installed

.PHONY: install test demo clean

# torch first and pinned: with no torch present, a looser requirement pulls a multi-GB CUDA build.
$(DEPS_STAMP): setup.py Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check torch==2.13.0
	# RecBole without its ray<=2.6.3 cap; setup.py lists what it really needs (docs/install.md).
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps recbole==1.2.1
	# Eager: an older .venv moves to the stack a fresh one gets (numpy 2, pandas 3), torch kept at its pin.
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade --upgrade-strategy eager ".[test]" torch==2.13.0
	touch $(DEPS_STAMP)

# Reinstalled every time (seconds, no dependencies): site-packages must hold the current
# recbole_darec.pth hook that lets Ray workers and spawn children find our models.
install: $(DEPS_STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --force-reinstall .

test: install
	$(BIN)/python -m pytest -q

demo: install
	$(BIN)/python run_scripts/demo.py

clean:
	rm -rf $(VENV) build *.egg-info log log_tensorboard saved
