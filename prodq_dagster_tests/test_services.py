"""The real test services work: a Dagster instance on the throwaway PostgreSQL, and pyarrow's S3
filesystem against the moto server from a separate process (as Dagster's run subprocesses will)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid

import dagster as dg
import psycopg2
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs as pafs

from .services import PostgresService, S3Service, postgres_service, s3_service  # noqa: F401  (fixtures)

DAGSTER_PG_YAML = """\
telemetry:
  enabled: false
storage:
  postgres:
    postgres_db:
      hostname: {env: DAGSTER_PG_HOST}
      port: {env: DAGSTER_PG_PORT}
      username: {env: DAGSTER_PG_USER}
      password: {env: DAGSTER_PG_PASSWORD}
      db_name: {env: DAGSTER_PG_DB}
      # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg (3); dagster-postgres ships psycopg2.
      scheme: postgresql+psycopg2
"""


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DAGSTER_PG_"))}
    env.update(extra)
    return env


def test_postgres_service_record(postgres_service: PostgresService):
    env = postgres_service.env()
    assert env["DAGSTER_PG_PORT"] == str(postgres_service.port)
    assert postgres_service.host == "127.0.0.1"
    assert postgres_service.url.startswith(f"postgresql://{postgres_service.user}:")
    with psycopg2.connect(postgres_service.url) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_user, current_database(), current_setting('server_version_num')::int")
        user, db, version = cur.fetchone()
    conn.close()
    assert (user, db) == (postgres_service.user, postgres_service.db)
    assert version // 10000 == 15


def test_dagster_instance_on_postgres(postgres_service: PostgresService, tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_PG_YAML)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    for key, value in postgres_service.env().items():
        monkeypatch.setenv(key, value)

    asset_name = f"services_probe_{uuid.uuid4().hex[:8]}"

    @dg.asset(name=asset_name)
    def probe() -> int:
        return 42

    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        result = dg.materialize([probe], instance=instance)
        assert result.success
        run = instance.get_run_by_id(result.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        event = instance.get_latest_materialization_event(dg.AssetKey(asset_name))
        assert event is not None and event.run_id == result.run_id

    # The run is in PostgreSQL itself, not in some local fallback...
    with psycopg2.connect(postgres_service.url) as conn, conn.cursor() as cur:
        cur.execute("SELECT status FROM runs WHERE run_id = %s", (result.run_id,))
        assert cur.fetchone() == ("SUCCESS",)
    conn.close()

    # ...and a separate process reaches the same instance through DAGSTER_HOME + the env.
    code = textwrap.dedent(
        """
        import sys, dagster as dg
        with dg.DagsterInstance.get() as instance:
            run = instance.get_run_by_id(sys.argv[1])
            event = instance.get_latest_materialization_event(dg.AssetKey(sys.argv[2]))
            print(run.status.value, event is not None)
        """
    )
    child = subprocess.run(
        [sys.executable, "-c", code, result.run_id, asset_name],
        env=_child_env({"DAGSTER_HOME": str(home), **postgres_service.env()}),
        capture_output=True, text=True, timeout=120,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["SUCCESS", "True"]


# Runs in a separate process with only S3Service.env(): plain s3:// URIs must reach moto.
S3_CHILD = textwrap.dedent(
    """
    import json, sys
    import pyarrow as pa, pyarrow.parquet as pq
    from pyarrow import fs as pafs

    fs, root = pafs.FileSystem.from_uri(sys.argv[1])
    out = {"type": fs.type_name, "root": root}
    out["missing"] = [i.path for i in fs.get_file_info(pafs.FileSelector(root + "/nope", allow_not_found=True))]
    fs.create_dir(root + "/staging")
    out["staging_type"] = fs.get_file_info(root + "/staging").type.name

    schema = pa.schema([("id", pa.int64()), ("name", pa.string())])
    with pq.ParquetWriter(root + "/staging/part-0.parquet", schema, filesystem=fs) as writer:
        writer.write_table(pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"]}, schema=schema))
    out["read_back"] = pq.read_table(root + "/staging/part-0.parquet", filesystem=fs).to_pydict()

    fs.move(root + "/staging/part-0.parquet", root + "/published/part-0.parquet")  # publish: copy + delete
    out["after_move"] = sorted(
        (i.path[len(root) + 1:], i.type.name)
        for i in fs.get_file_info(pafs.FileSelector(root, recursive=True))
    )
    out["published"] = pq.read_table(root + "/published/part-0.parquet", filesystem=fs).to_pydict()
    print(json.dumps(out))
    """
)


def test_s3_from_a_separate_process(s3_service: S3Service):
    prefix = f"proc-{uuid.uuid4().hex[:8]}"
    assert s3_service.uri(prefix) == f"s3://{s3_service.bucket}/{prefix}"
    child = subprocess.run(
        [sys.executable, "-c", S3_CHILD, s3_service.uri(prefix)],
        env=_child_env(s3_service.env()),
        capture_output=True, text=True, timeout=120,
    )
    assert child.returncode == 0, child.stderr
    out = json.loads(child.stdout)
    assert out["type"] == "s3"
    assert out["root"] == f"{s3_service.bucket}/{prefix}"
    assert out["missing"] == []
    assert out["staging_type"] == "Directory"
    table = {"id": [1, 2, 3], "name": ["a", "b", "c"]}
    assert out["read_back"] == table and out["published"] == table
    # The moved file is gone from staging; pyarrow keeps the emptied parent as a directory marker.
    assert ["published/part-0.parquet", "File"] in out["after_move"]
    assert not any(path.startswith("staging/part-0") for path, _ in out["after_move"])

    # What the child wrote is in the store the test process sees (no env needed here).
    fs = s3_service.filesystem()
    info = fs.get_file_info(f"{s3_service.bucket}/{prefix}/published/part-0.parquet")
    assert info.type == pafs.FileType.File and info.size > 0 and info.mtime is not None


def test_s3_self_contained_uri(s3_service: S3Service, monkeypatch):
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    prefix = f"inline-{uuid.uuid4().hex[:8]}"
    fs, root = pafs.FileSystem.from_uri(s3_service.self_contained_uri(prefix))
    assert root == f"{s3_service.bucket}/{prefix}"
    pq.write_table(pa.table({"x": [1]}), root + "/t.parquet", filesystem=fs)
    assert pq.read_table(f"{s3_service.bucket}/{prefix}/t.parquet", filesystem=s3_service.filesystem()).to_pydict() == {"x": [1]}
