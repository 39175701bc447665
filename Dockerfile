# Project image for pipeline runs: the local runner (ENTRYPOINT), every
# component on Kubeflow/Vertex (`relvid compile` sets orchestration.image to
# it and overrides the entrypoint with TFX's executor) and the Beam workers on
# Dataflow/Flink/Spark (beam.sdk_container_image). Not buildable on the
# development machines (no Docker engine there).
#   docker build -t relvid .
#   docker run --rm -v $PWD/outputs:/app/outputs relvid            # full demo
FROM python:3.10-slim-bookworm
# TF_USE_LEGACY_KERAS: TFX's executor entrypoint imports TensorFlow before
# any relvid package can select Keras 2.
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 TF_USE_LEGACY_KERAS=1
WORKDIR /app
# The same install as `make setup` and `pip install .`: setup.py is the one
# dependency list, constraints.txt the lock, tools/build_wheelhouse.py the
# wheels whose published metadata the lock corrects.
COPY constraints.txt setup.py pyproject.toml ./
COPY tools ./tools
RUN pip install "pip<25" && python tools/build_wheelhouse.py
COPY relvid ./relvid
COPY pipeline ./pipeline
COPY components ./components
COPY trainer ./trainer
COPY serving ./serving
COPY configs ./configs
RUN pip install -c constraints.txt . && pip check
ENTRYPOINT ["relvid", "run"]
