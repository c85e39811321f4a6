"""deploy/: the Kubernetes instance configuration validates with dagster-k8s, the image installs like the README."""

import re
from pathlib import Path

import pytest
import yaml
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config
from dagster_aws.s3.compute_log_manager import S3ComputeLogManager
from dagster_k8s import K8sRunLauncher
from dagster_postgres import DagsterPostgresStorage

from audience_pipelines_tests.conftest import PROJECT_DIR

DEPLOY = PROJECT_DIR / "deploy"
ENV = {
    "DAGSTER_PG_HOST": "dagster-db.internal",
    "DAGSTER_PG_USER": "dagster",
    "DAGSTER_PG_PASSWORD": "not-a-real-password",
    "DAGSTER_PG_DB": "dagster",
    "DAGSTER_K8S_NAMESPACE": "dagster",
    "DAGSTER_COMPUTE_LOG_BUCKET": "audience-pipelines-dagster-logs",
}


@pytest.fixture
def instance_config(monkeypatch: pytest.MonkeyPatch) -> dict:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    config, custom_class = dagster_instance_config(str(DEPLOY), "dagster.yaml")
    assert custom_class is None
    return dict(config)


def test_the_kubernetes_instance_config_validates_with_the_pinned_dagster_k8s(instance_config):
    launcher = instance_config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    checked = process_config(K8sRunLauncher.config_type(), launcher["config"])
    assert checked.success, checked.errors
    assert checked.value["env_secrets"] == ["audience-pipelines-env"]
    logs = instance_config["compute_logs"]
    assert (logs["module"], logs["class"]) == ("dagster_aws.s3.compute_log_manager", "S3ComputeLogManager")
    checked = process_config(S3ComputeLogManager.config_type(), logs["config"])
    assert checked.success, checked.errors
    checked = process_config(DagsterPostgresStorage.config_type(), instance_config["storage"]["postgres"])
    assert checked.success, checked.errors
    database = checked.value["postgres_db"]
    assert database["scheme"] == "postgresql+psycopg2" and database["password"] == ENV["DAGSTER_PG_PASSWORD"]


def test_a_broken_run_launcher_config_is_caught(instance_config):
    broken = {**instance_config["run_launcher"]["config"], "env_secrets": "audience-pipelines-env"}
    assert not process_config(K8sRunLauncher.config_type(), broken).success, "the check can fail"


def test_the_instance_keeps_the_same_run_limits_as_one_machine(instance_config):
    local = yaml.safe_load((PROJECT_DIR / "dagster.yaml").read_text())
    assert instance_config["concurrency"] == local["concurrency"]


def test_the_helm_values_name_the_launcher_the_secrets_and_the_code_location():
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["postgresql"]["enabled"] is False and values["global"]["postgresqlSecretName"]
    assert values["computeLogManager"]["type"] == "S3ComputeLogManager"
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", "audience_pipelines.definitions"]
    assert values["dagsterDaemon"]["enabled"] is True


def pip_install(text: str) -> str:
    """The ``pip install ...`` part of the one line that installs this package (before any ``&&``)."""
    (match,) = re.findall(r"pip install (-e '\.\[[a-z0-9,]+\]')", text)
    return match


def test_the_dockerfile_installs_the_package_the_way_the_readme_production_section_does():
    readme = (PROJECT_DIR / "README.md").read_text()
    production = readme[readme.index("## Production") :]
    production = production[: production.index("\n## ", 1)]
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert pip_install(dockerfile) == pip_install(production) == "-e '.[k8s]'"
    assert "python3 -m venv .venv && .venv/bin/pip install -e '.[k8s]'" in dockerfile
    setup = Path(PROJECT_DIR / "setup.py").read_text()
    assert '"k8s": KUBERNETES' in setup
