"""deploy/: the instance config for a shared machine and the Helm values for a cluster."""

from __future__ import annotations

import re
import shutil
import tomllib

import pytest
import yaml

from .conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
INSTANCE_YAML = DEPLOY / "dagster.yaml"
HELM_VALUES = DEPLOY / "helm" / "values.yaml"

PG_FIELDS = {
    "hostname": "DAGSTER_PG_HOST",
    "port": "DAGSTER_PG_PORT",
    "username": "DAGSTER_PG_USER",
    "password": "DAGSTER_PG_PASSWORD",
    "db_name": "DAGSTER_PG_DB",
}
DUMMY_PG_ENV = {
    "DAGSTER_PG_HOST": "db.test.invalid",
    "DAGSTER_PG_PORT": "6543",
    "DAGSTER_PG_USER": "prodq",
    "DAGSTER_PG_PASSWORD": "not-a-secret",
    "DAGSTER_PG_DB": "dagster_test",
}
# The run queue limits prodq relies on (same as dagster.yaml.template).
EXPECTED_TAG_LIMITS = {
    ("dagster/partition", "per-unique-value", 1),
    ("prodq/master_chain", None, 1),
}


def _load(path):
    return yaml.safe_load(path.read_text())


def _tag_limits(limits) -> set[tuple]:
    """Tag concurrency limits as comparable (key, value, limit) triples."""
    out = set()
    for item in limits:
        value = item.get("value")
        if isinstance(value, dict):
            assert value == {"applyLimitPerUniqueValue": True}, item
            value = "per-unique-value"
        out.add((item["key"], value, item["limit"]))
    return out


def _settings_named_in_readme() -> set[str]:
    """PRODQ_* variables prodq knows: one per field of its settings class."""
    from prodq_dagster.settings import ENV_PREFIX, ProdqSettings

    names = {ENV_PREFIX + name.upper() for name in ProdqSettings.model_fields}
    assert {"PRODQ_RAW_DIR", "PRODQ_OUT_DIR", "PRODQ_REPORTS_DIR", "PRODQ_PARTITIONS_START"} <= names, names
    return names


def _validate_instance_dir(home):
    """Validate ``home/dagster.yaml`` the way Dagster reads an instance, without connecting.

    Uses ``dagster_instance_config`` (internal: the function ``DagsterInstance`` uses to load
    and check ``$DAGSTER_HOME/dagster.yaml`` against the instance schema, including the
    ``storage: postgres:`` block) and ``InstanceRef.from_dir`` (turns the file into class
    references without opening storage). The run coordinator and run launcher are then
    built from their references (public ``ConfigurableClassData.rehydrate``), which checks
    their ``config`` sections against their own schemas; neither touches the database.
    The storage config is resolved (``{env: ...}``) against the storage class's schema and
    turned into a connection URL, never opened.
    """
    from dagster._config import process_config, resolve_to_config_type
    from dagster._core.errors import DagsterInvalidConfigError
    from dagster._core.instance.config import dagster_instance_config
    from dagster._core.instance.ref import InstanceRef
    from dagster._serdes.config_class import class_from_code_pointer

    dagster_instance_config(str(home))
    ref = InstanceRef.from_dir(str(home))
    coordinator = ref.run_coordinator_data.rehydrate()
    launcher = ref.run_launcher_data.rehydrate()

    storage_class = class_from_code_pointer(ref.storage_data.module_name, ref.storage_data.class_name)
    result = process_config(resolve_to_config_type(storage_class.config_type()), ref.storage_data.config_dict)
    if not result.success:
        raise DagsterInvalidConfigError("storage config", result.errors, ref.storage_data.config_dict)
    return ref, coordinator, launcher, result.value


@pytest.fixture
def pg_env(monkeypatch):
    for name, value in DUMMY_PG_ENV.items():
        monkeypatch.setenv(name, value)


# ---------------------------------------------------------------- deploy/dagster.yaml


def test_instance_storage_is_postgres_with_every_field_from_env():
    storage = _load(INSTANCE_YAML)["storage"]
    assert list(storage) == ["postgres"]
    db = storage["postgres"]["postgres_db"]
    assert {field: db.get(field) for field in PG_FIELDS} == {field: {"env": var} for field, var in PG_FIELDS.items()}
    # The only other key names the psycopg2 driver (dagster-postgres' dependency): SQLAlchemy
    # 2.1 reads a bare "postgresql" scheme as psycopg 3, which is not installed with it.
    assert set(db) - set(PG_FIELDS) == {"scheme"}
    assert db["scheme"] == "postgresql+psycopg2"


def test_instance_queues_runs_with_prodqs_tag_limits():
    config = _load(INSTANCE_YAML)
    coordinator = config["run_coordinator"]
    assert coordinator["class"] == "QueuedRunCoordinator"
    assert coordinator["config"]["max_concurrent_runs"] >= 1
    assert _tag_limits(coordinator["config"]["tag_concurrency_limits"]) == EXPECTED_TAG_LIMITS
    assert config["run_launcher"]["class"] == "DefaultRunLauncher"
    assert config["run_retries"]["enabled"] is True
    assert config["run_monitoring"]["enabled"] is True
    assert config["telemetry"] == {"enabled": False}


def test_instance_limits_match_the_local_template():
    template = yaml.safe_load((REPO_ROOT / "dagster.yaml.template").read_text())
    deploy = _load(INSTANCE_YAML)
    assert _tag_limits(deploy["run_coordinator"]["config"]["tag_concurrency_limits"]) == _tag_limits(
        template["run_coordinator"]["config"]["tag_concurrency_limits"]
    )
    assert deploy["retention"] == template["retention"]
    assert deploy["run_retries"] == template["run_retries"]


def test_instance_needs_only_dagster_and_dagster_postgres():
    """Every class the file names lives in dagster or dagster-postgres (no dagster-k8s/-aws)."""
    modules = []

    def walk(node):
        if isinstance(node, dict):
            if "module" in node:
                modules.append(node["module"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            assert "dagster_k8s" not in node and "dagster_aws" not in node, node

    walk(_load(INSTANCE_YAML))
    assert modules and all(m.split(".")[0] == "dagster" for m in modules), modules


def test_instance_config_passes_dagsters_schema(tmp_path, pg_env):
    shutil.copy(INSTANCE_YAML, tmp_path / "dagster.yaml")
    ref, coordinator, launcher, storage = _validate_instance_dir(tmp_path)

    from dagster._core.launcher import DefaultRunLauncher
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_postgres.utils import pg_url_from_config

    assert ref.storage_data.module_name == "dagster_postgres"
    assert isinstance(coordinator, QueuedRunCoordinator)
    assert coordinator.dequeue_use_threads is True
    assert _tag_limits(coordinator.get_run_queue_config().tag_concurrency_limits) == EXPECTED_TAG_LIMITS
    assert isinstance(launcher, DefaultRunLauncher)
    # The env vars are what the connection is built from (the port as an integer).
    assert storage["postgres_db"]["port"] == 6543
    assert pg_url_from_config(storage) == "postgresql+psycopg2://prodq:not-a-secret@db.test.invalid:6543/dagster_test"
    # DagsterInstance refuses run monitoring with resume attempts on a launcher that cannot resume.
    monitoring = ref.settings["run_monitoring"]
    assert launcher.supports_resume_run or monitoring.get("max_resume_run_attempts", 0) == 0


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda c: c.update(telemetri={"enabled": False}), id="unknown-top-level-key"),
        pytest.param(lambda c: c["run_monitoring"].update(start_timeout=300), id="unknown-run-monitoring-key"),
        pytest.param(lambda c: c["run_coordinator"]["config"].update(dequeue_use_thread=True), id="unknown-queue-key"),
        pytest.param(lambda c: c["run_coordinator"]["config"]["tag_concurrency_limits"][1].pop("limit"), id="tag-limit-without-limit"),
        pytest.param(lambda c: c["storage"]["postgres"]["postgres_db"].pop("hostname"), id="postgres-without-host"),
    ],
)
def test_schema_validation_rejects_a_broken_copy(tmp_path, pg_env, mutate):
    """The validation above has teeth: a typo in any block of the file is an error."""
    from dagster._core.errors import DagsterInvalidConfigError

    config = _load(INSTANCE_YAML)
    mutate(config)
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(DagsterInvalidConfigError):
        _validate_instance_dir(tmp_path)


def test_unset_postgres_env_var_is_an_error(tmp_path, pg_env, monkeypatch):
    from dagster._core.errors import DagsterInvalidConfigError

    monkeypatch.delenv("DAGSTER_PG_HOST")
    shutil.copy(INSTANCE_YAML, tmp_path / "dagster.yaml")
    with pytest.raises(DagsterInvalidConfigError, match="DAGSTER_PG_HOST"):
        _validate_instance_dir(tmp_path)


# ---------------------------------------------------------------- deploy/helm/values.yaml


def _prodq_deployment(values):
    deployments = values["dagster-user-deployments"]["deployments"]
    matches = [d for d in deployments if d.get("dagsterApiGrpcArgs") == ["-m", "prodq_dagster.definitions"]]
    assert len(matches) == 1, deployments
    return matches[0]


def test_helm_launches_runs_as_kubernetes_jobs_with_env():
    launcher = _load(HELM_VALUES)["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    k8s = launcher["config"]["k8sRunLauncher"]
    assert [s["name"] for s in k8s["envSecrets"]]
    assert isinstance(k8s["envConfigMaps"], list)


def test_helm_user_deployment_serves_prodqs_code_location():
    values = _load(HELM_VALUES)
    assert values["dagster-user-deployments"]["enabled"] is True
    deployment = _prodq_deployment(values)
    module = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", module]
    assert deployment["port"] == 3030
    assert deployment["image"]["repository"]
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True
    assert [s["name"] for s in deployment["envSecrets"]]


def test_helm_env_names_only_settings_prodq_knows():
    named = set(re.findall(r"PRODQ_[A-Z_]+", HELM_VALUES.read_text()))
    assert named, "values.yaml names no PRODQ_* setting"
    assert named <= _settings_named_in_readme(), sorted(named - _settings_named_in_readme())


def test_helm_env_points_data_at_object_storage():
    env = _prodq_deployment(_load(HELM_VALUES))["env"]
    # The chart's schema wants strings for env values (numbers must be quoted).
    assert all(isinstance(v, str) for v in env.values()), env
    for name in ("PRODQ_RAW_DIR", "PRODQ_OUT_DIR", "PRODQ_REPORTS_DIR"):
        assert env[name].startswith("s3://"), (name, env[name])
    assert "PRODQ_PARTITIONS_START" in env


def test_helm_queue_limits_match_the_instance_config():
    daemon = _load(HELM_VALUES)["dagsterDaemon"]
    coordinator = daemon["runCoordinator"]
    assert coordinator["enabled"] is True
    assert coordinator["type"] == "QueuedRunCoordinator"
    queued = coordinator["config"]["queuedRunCoordinator"]
    helm_limits = _tag_limits(queued["tagConcurrencyLimits"])
    instance_limits = _tag_limits(_load(INSTANCE_YAML)["run_coordinator"]["config"]["tag_concurrency_limits"])
    assert helm_limits == instance_limits == EXPECTED_TAG_LIMITS
    assert daemon["runMonitoring"]["enabled"] is True
    assert daemon["runRetries"]["enabled"] is True


def test_helm_uses_an_external_postgresql():
    values = _load(HELM_VALUES)
    pg = values["postgresql"]
    assert pg["enabled"] is False
    assert pg["postgresqlHost"]
    assert pg["postgresqlUsername"] and pg["postgresqlDatabase"]
    assert "postgresqlPassword" not in pg  # read from a Secret created outside the chart
    assert pg["postgresqlScheme"] == _load(INSTANCE_YAML)["storage"]["postgres"]["postgres_db"]["scheme"]
    assert values["generatePostgresqlPasswordSecret"] is False


def test_helm_telemetry_off():
    assert _load(HELM_VALUES)["telemetry"] == {"enabled": False}
