"""Real services for tests, started from this machine's packages (no mocks of client code).

Two session-scoped pytest fixtures, each yielding a small frozen record:

* ``postgres_service`` -> :class:`PostgresService`: a throwaway PostgreSQL 15 server (``initdb`` +
  ``pg_ctl``) listening on a free 127.0.0.1 TCP port, with database ``dagster`` owned by a password
  user ``dagster`` (who may also ``CREATE DATABASE``, for tests that want a database of their own).
  As root (CI) the server runs as the ``postgres`` system user, since PostgreSQL refuses root.
* ``s3_service`` -> :class:`S3Service`: moto's S3-compatible server in a child process on a free
  127.0.0.1 port, with bucket ``prodq-test``. Reachable over HTTP from any process, e.g. Dagster
  runs launched as subprocesses, given ``S3Service.env()``.

Use them from a test module with ``from .services import postgres_service, s3_service`` (or
re-export them from conftest.py). Under pytest-xdist each worker starts its own servers.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

LOOPBACK = "127.0.0.1"

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------

PG_BIN_FALLBACK_DIRS = ("/usr/lib/postgresql/15/bin",)
PG_SYSTEM_USER = "postgres"
PG_INSTALL_HINT = (
    "the PostgreSQL server binaries initdb, pg_ctl, postgres and psql are needed for the tests that "
    "use a real PostgreSQL: install them with `apt-get install postgresql-15` "
    "(they land in /usr/lib/postgresql/15/bin; put that directory on PATH or leave it there)"
)
PG_TOOLS = ("initdb", "pg_ctl", "postgres", "psql")


@dataclass(frozen=True)
class PostgresService:
    """Where the throwaway PostgreSQL listens and how to log in (TCP, password auth)."""

    host: str
    port: int
    user: str
    password: str
    db: str

    @property
    def url(self) -> str:
        return f"postgresql://{quote(self.user, safe='')}:{quote(self.password, safe='')}@{self.host}:{self.port}/{quote(self.db, safe='')}"

    def env(self) -> dict[str, str]:
        """Env vars read by a ``dagster.yaml`` whose ``postgres_db`` fields use ``{env: DAGSTER_PG_*}``."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USER": self.user,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": self.db,
        }


def _find_pg_bin_dir() -> Path | None:
    candidates: list[Path] = []
    for tool in ("pg_ctl", "initdb"):
        found = shutil.which(tool)
        if found:
            candidates.append(Path(found).resolve().parent)  # /usr/local/bin links into the real bin dir
    candidates += [Path(d) for d in PG_BIN_FALLBACK_DIRS]
    for directory in candidates:
        if all(os.access(directory / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return directory
    return None


def _psql_path(bin_dir: Path) -> str | None:
    if os.access(bin_dir / "psql", os.X_OK):
        return str(bin_dir / "psql")
    return shutil.which("psql")


class _PgRunner:
    """Runs the PostgreSQL tools as the current user, or as ``postgres`` when we are root."""

    def __init__(self, bin_dir: Path, psql: str, workdir: Path) -> None:
        self.bin_dir = bin_dir
        self.psql = psql
        self.workdir = workdir
        self.account: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self.account = pwd.getpwnam(PG_SYSTEM_USER)
            except KeyError:
                pytest.fail(
                    f"running as root, PostgreSQL must run as the '{PG_SYSTEM_USER}' system user, which does "
                    f"not exist; {PG_INSTALL_HINT} (the package creates that user)",
                    pytrace=False,
                )
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}  # no stray PGHOST/PGPORT/...
        env.update(HOME=str(workdir), LC_ALL="C", LANG="C")
        self.env = env

    def chown(self, path: Path) -> None:
        if self.account is not None:
            os.chown(path, self.account.pw_uid, self.account.pw_gid)

    def run(self, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        extra: dict = {}
        if self.account is not None:  # same effect as `runuser -u postgres --`, without needing runuser
            extra = {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}
        return subprocess.run(
            args,
            cwd=self.workdir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **extra,
        )


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def _pg_make_workdir() -> Path:
    # Under root the 'postgres' user must traverse every parent: a fresh dir straight under /tmp
    # (1777) does, whatever TMPDIR says. The short path also keeps the unix socket path < 107 bytes.
    base = "/tmp" if os.geteuid() == 0 else None
    workdir = Path(tempfile.mkdtemp(prefix="prodq-pg-", dir=base))
    os.chmod(workdir, 0o755)
    return workdir


@pytest.fixture(scope="session")
def postgres_service() -> Iterator[PostgresService]:
    """A throwaway PostgreSQL 15 on 127.0.0.1:<free port>; stopped and deleted after the session."""
    bin_dir = _find_pg_bin_dir()
    psql = _psql_path(bin_dir) if bin_dir else None
    if bin_dir is None or psql is None:
        pytest.fail(f"PostgreSQL not found: {PG_INSTALL_HINT}", pytrace=False)

    workdir = _pg_make_workdir()
    data, sockdir, log = workdir / "data", workdir / "sock", workdir / "postgres.log"
    started = False
    try:
        runner = _PgRunner(bin_dir, psql, workdir)
        runner.chown(workdir)
        sockdir.mkdir(mode=0o755)
        runner.chown(sockdir)

        init = runner.run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", PG_SYSTEM_USER, "-E", "UTF8", "--locale=C",
             "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "--no-instructions"],
            timeout=120,
        )
        if init.returncode != 0:
            pytest.fail(f"initdb failed (exit {init.returncode}):\n{init.stdout}\n{init.stderr}", pytrace=False)

        port = 0
        for _attempt in range(5):  # another process may grab the probed port first: retry on a new one
            port = _free_port()
            options = (
                f"-c listen_addresses={LOOPBACK} -p {port} -k {sockdir} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"  # throwaway data: speed over safety
            )
            start = runner.run(
                [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"],
                timeout=90,
            )
            if start.returncode == 0:
                started = True
                break
            if "already in use" not in _tail(log) and "could not bind" not in _tail(log):
                break
        if not started:
            pytest.fail(
                f"pg_ctl start failed:\n{start.stdout}\n{start.stderr}\n--- server log ---\n{_tail(log)}",
                pytrace=False,
            )

        service = PostgresService(host=LOOPBACK, port=port, user="dagster", password=secrets.token_hex(16), db="dagster")
        # Over the unix socket the superuser is trusted; the service user logs in over TCP with a password.
        # (two -c: CREATE DATABASE may not share a transaction with anything else)
        created = runner.run(
            [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(sockdir), "-p", str(port),
             "-U", PG_SYSTEM_USER, "-d", "postgres",
             "-c", f"CREATE ROLE {service.user} LOGIN CREATEDB PASSWORD '{service.password}'",
             "-c", f"CREATE DATABASE {service.db} OWNER {service.user}"],
        )
        if created.returncode != 0:
            pytest.fail(f"creating the test user/database failed:\n{created.stdout}\n{created.stderr}", pytrace=False)

        yield service
    finally:
        if started:
            runner.run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop"], timeout=90)
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# S3 (moto server)
# ---------------------------------------------------------------------------------------------

S3_BUCKET = "prodq-test"
S3_REGION = "us-east-1"
S3_ACCESS_KEY = "prodq-test-key"
S3_SECRET_KEY = "prodq-test-secret"
MOTO_INSTALL_HINT = "moto's server mode is needed: install the dev extras (`pip install -e '.[dev]'`, which pins moto[server])"

# Child process: bind moto on port 0 (the kernel picks a free port, so no probe/bind race under
# xdist), report the port on stdout, serve until our stdin closes. The parent holds that pipe,
# so the server also goes away if the test process dies without running its teardown.
_MOTO_LAUNCHER = """
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address=sys.argv[1], port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
"""


@dataclass(frozen=True)
class S3Service:
    """An S3-compatible endpoint (moto) with one bucket, and how a process reaches it."""

    endpoint_url: str
    bucket: str
    access_key: str
    secret_key: str
    region: str

    @property
    def endpoint_host_port(self) -> str:
        """``127.0.0.1:PORT``: the endpoint without its scheme, as pyarrow's ``endpoint_override`` wants it."""
        return self.endpoint_url.split("://", 1)[1].rstrip("/")

    def env(self) -> dict[str, str]:
        """Env vars for a process (pyarrow, boto3, ...) to reach this store with plain ``s3://`` URIs."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint_url,  # honoured by pyarrow >= 15 (AWS SDK) and botocore
            "AWS_ENDPOINT_URL_S3": self.endpoint_url,  # the S3-specific one wins if set: keep it pointing here too
            "AWS_EC2_METADATA_DISABLED": "true",  # never wait on the EC2 metadata service
            "AWS_ALLOW_HTTP": "true",  # for object_store-based readers (polars, delta-rs); pyarrow ignores it
        }

    def uri(self, prefix: str = "") -> str:
        """``s3://<bucket>/<prefix>``: resolves to this store in a process that has :meth:`env` set."""
        return f"s3://{self.bucket}/{prefix.strip('/')}"

    def self_contained_uri(self, prefix: str = "") -> str:
        """A URI that reaches this store with no env at all (credentials, endpoint, scheme inline)."""
        return (
            f"s3://{quote(self.access_key, safe='')}:{quote(self.secret_key, safe='')}@{self.bucket}/{prefix.strip('/')}"
            f"?endpoint_override={self.endpoint_host_port}&scheme=http&region={self.region}"
        )

    def filesystem(self):
        """A ``pyarrow.fs.S3FileSystem`` bound to this store, for use inside the test process."""
        from pyarrow import fs as pafs

        return pafs.S3FileSystem(
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
            endpoint_override=self.endpoint_host_port,
            scheme="http",
        )


def _create_bucket(endpoint_url: str, bucket: str, timeout: float = 30) -> None:
    # moto does not check signatures: a plain PUT creates a bucket in us-east-1.
    deadline = time.monotonic() + timeout
    while True:
        try:
            request = urllib.request.Request(f"{endpoint_url}/{bucket}", method="PUT", data=b"")
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError:
            raise  # the server answered: a refusal is not worth retrying
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


@pytest.fixture(scope="session")
def s3_service() -> Iterator[S3Service]:
    """moto's S3 server on 127.0.0.1:<free port> in a child process, with bucket ``prodq-test``."""
    try:
        import moto.server  # noqa: F401  (checked here so a missing install fails with a clear message)
        import flask  # noqa: F401  (only present with the [server] extra)
    except ImportError as exc:
        pytest.fail(f"{exc}: {MOTO_INSTALL_HINT}", pytrace=False)

    workdir = Path(tempfile.mkdtemp(prefix="prodq-s3-"))
    log_path = workdir / "moto.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", _MOTO_LAUNCHER, LOOPBACK],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            cwd=workdir,
        )
    try:
        line = proc.stdout.readline().decode().strip() if proc.stdout else ""
        if not line.isdigit():
            proc.kill()
            proc.wait(10)
            pytest.fail(f"moto server did not start (exit {proc.returncode}):\n{_tail(log_path)}", pytrace=False)
        endpoint = f"http://{LOOPBACK}:{int(line)}"
        _create_bucket(endpoint, S3_BUCKET)
        yield S3Service(
            endpoint_url=endpoint,
            bucket=S3_BUCKET,
            access_key=S3_ACCESS_KEY,
            secret_key=S3_SECRET_KEY,
            region=S3_REGION,
        )
    finally:
        if proc.poll() is None:
            try:
                proc.stdin.close()  # the launcher's cue to stop
                proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
