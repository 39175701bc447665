# One-command set-up and runs. `make demo` installs everything (idempotent:
# a second run only checks the stamp file) and runs the full local pipeline on
# MovieLens-100K; `make test` installs everything and runs the default tests.
SHELL := /bin/bash
VENV ?= .venv
PYTHON := $(VENV)/bin/python
PY310 ?= $(shell PYENV_VERSION=3.10.13 pyenv which python3.10 2>/dev/null || command -v python3.10)
STAMP := $(VENV)/.relvid-installed
# Airflow tasks, DAG parsing and the tests keep Airflow's own files here.
export AIRFLOW_HOME ?= $(CURDIR)/$(VENV)/airflow

.PHONY: setup wheelhouse demo demo-media test test-packaging test-all serve test-tools bench-tools clean-outputs

setup: $(STAMP)

# The one dependency list is setup.py; constraints.txt pins every package.
# tools/build_wheelhouse.py first builds the few PyPI wheels whose published
# metadata needs a correction (see constraints.txt), where the lock finds them.
$(STAMP): constraints.txt setup.py pyproject.toml tools/build_wheelhouse.py
	@test -n "$(PY310)" || { echo "Python 3.10 not found: install it (pyenv install 3.10.13) or set PY310=/path/to/python3.10"; exit 1; }
	test -x $(PYTHON) || $(PY310) -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade "pip<25"
	$(PYTHON) tools/build_wheelhouse.py
	$(PYTHON) -m pip install -q -c constraints.txt -e ".[test,airflow]"
	$(PYTHON) -m pip check
	touch $@

wheelhouse:
	python3 tools/build_wheelhouse.py

demo: setup
	$(VENV)/bin/relvid run $(ARGS)

# The demo catalog with real video clips and photos, visual features on.
demo-media: setup
	$(VENV)/bin/relvid run --config configs/demo_media.yaml $(ARGS)

serve: setup
	$(VENV)/bin/relvid serve $(ARGS)

# The default suite on TEST_WORKERS processes (pytest-xdist), each test
# file on one of them, so a file's module-scoped pipeline run is made once.
# Most tests spend their time in one Python thread (Beam's in-process
# runner, TFX's orchestration), so two processes use both cores of the CI
# machine; more need more memory than speed they bring there.
TEST_WORKERS ?= 2
test: setup test-tools
	$(PYTHON) -m pytest -q -n $(TEST_WORKERS) --dist loadfile tests

# The built wheel installed into a clean venv with the lock, as users do.
test-packaging: setup
	$(PYTHON) -m pytest -q -m packaging tests/test_packaging.py

test-all: setup test-tools
	$(PYTHON) -m pytest -q -m "slow or not slow or packaging" tests

# Debian tools, as command:package: the headless browser the page test
# drives (test-tools, part of `make test`) and the REST load generator the
# serving benchmark drives (bench-tools). Idempotent: installs only what is
# missing (apt-get; sudo when not root).
TEST_TOOLS := chromium:chromium chromedriver:chromium-driver
BENCH_TOOLS := wrk:wrk
define install_missing
	@missing=""; for pair in $(1); do command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing (apt-get)"; \
	  sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$sudo apt-get install -y -q --no-install-recommends$$missing || \
	    { $$sudo apt-get update -q && $$sudo apt-get install -y -q --no-install-recommends$$missing; }; \
	fi
endef

test-tools:
	$(call install_missing,$(TEST_TOOLS))

bench-tools:
	$(call install_missing,$(BENCH_TOOLS))

clean-outputs:
	rm -rf outputs
