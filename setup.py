"""Related-video recommendation pipeline (arXiv 2507.09403) on TFX + TFRS."""
import setuptools

setuptools.setup(
    name="relvid",
    version="0.1.0",
    description=("Related-video recommendation balancing semantic relevance and "
                 "engagement: a TFX pipeline with a TFRS two-tower trainer."),
    license="Apache-2.0",
    python_requires=">=3.10,<3.11",
    packages=setuptools.find_packages(include=[
        "pipeline", "pipeline.*", "components", "components.*",
        "trainer", "trainer.*", "serving", "serving.*"]),
    package_data={"pipeline": ["schemas/*/schema.pbtxt"]},
    install_requires=[
        "tfx==1.16.0",
        "tensorflow==2.16.2",
        "tf-keras==2.16.0",
        "tensorflow-recommenders==0.7.7",
        "tensorflow-text==2.16.1",
        "tensorflow-hub==0.16.1",
        "scann==1.3.2",
        "apache-beam==2.74.0",
        "dill==0.3.1.1",
        "setuptools<70",
        "safetensors",
        "pyyaml",
        "tqdm",
        "matplotlib",
        "fastapi",
        "uvicorn",
        "requests",
        "opencv-python-headless",
        "kfp-pipeline-spec==0.2.2",
    ],
    extras_require={"test": ["pytest", "httpx"]},
    entry_points={"console_scripts": [
        "relvid=pipeline.cli:main",
        "related=serving.client:main",
        "relvid-serve=serving.server:main",
    ]},
)
