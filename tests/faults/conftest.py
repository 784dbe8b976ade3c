"""Fixtures of the fault tests: servers of their own that the tests may break.

The machine's shared Redis and main PostgreSQL cluster serve everyone's tests, so
nothing here stops or freezes them. Instead:

- `own_redis`: a `redis-server` on a free port, started for the test and shut
  down, frozen or restarted by it; always stopped at the end.
- `broker_at` / `cache_at`: point Celery's producer (and the Django cache, if the
  settings use Redis) at such a server, and back afterwards.
- `faults_cluster`: a PostgreSQL cluster of its own (`pg_createcluster <ver>
  faults`, port 5439), created once and reused, started for the session.
- `app_server`: the app under gunicorn, a real server process, for the tests that
  restart the database under it.

Every wait is bounded and every process started here is stopped in a finally.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

from portfolio.celery import app as celery_app
from tests.conftest import service_missing

ROOT = Path(settings.BASE_DIR)
FAULTS_CLUSTER = "faults"
FAULTS_CLUSTER_PORT = 5439
FAULTS_DATABASE = "portfolio_faults"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], object], *, timeout: float, what: str, interval: float = 0.2) -> object:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def stop_process(process: subprocess.Popen, *, grace: float = 10) -> None:
    """SIGTERM the process group (started with `start_new_session`), SIGKILL it if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def tool(name: str) -> str:
    """The full path of a command-line tool the test needs (a missing one is a missing service)."""
    path = shutil.which(name)
    if path is None:
        service_missing(f"needs `{name}` on PATH")
    return path


# --- HTTP -------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str
    seconds: float

    @property
    def is_json(self) -> bool:
        return self.headers.get("content-type", "").startswith("application/json")


def fetch(port: int, path: str, *, headers: dict[str, str] | None = None, timeout: float = 15) -> Reply:
    """GET http://127.0.0.1:<port><path> with a hard timeout; a hang raises instead of waiting forever."""
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        return Reply(
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            body,
            time.monotonic() - started,
        )
    finally:
        connection.close()


# --- Redis ------------------------------------------------------------------------------------


@dataclass
class RedisServer:
    """A redis-server process of the test's own: shut it down, freeze it, start it again."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    frozen: bool = False

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        log = open(self.workdir / f"redis-{self.port}.log", "a")  # noqa: SIM115 - closed with the process
        with log:
            self.process = subprocess.Popen(
                [
                    *(tool("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(lambda: self.ping(), timeout=15, what=f"redis-server on port {self.port}")

    def ping(self) -> bool:
        return self.command("PING") == "PONG"

    def command(self, *args: str, db: int = 0) -> str | None:
        """One redis-cli command against this server; None if it does not answer within 3 s."""
        try:
            done = subprocess.run(
                [tool("redis-cli"), "-p", str(self.port), "-n", str(db), *args],
                capture_output=True,
                text=True,
                timeout=3,
            )
        except subprocess.TimeoutExpired:
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    def queue_length(self, db: int, queue: str = "celery") -> int:
        return int(self.command("LLEN", queue, db=db) or 0)

    def shutdown(self) -> None:
        """`redis-cli shutdown nosave`: Redis goes away as it would on a crash or a restart."""
        subprocess.run([tool("redis-cli"), "-p", str(self.port), "shutdown", "nosave"], capture_output=True, timeout=10)
        if self.process is not None:
            self.process.wait(10)
        wait_for(lambda: not listening(self.port), timeout=10, what=f"port {self.port} to close")

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections, but nothing answers (a hung server)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        if self.frozen and self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
        self.frozen = False

    def stop(self) -> None:
        self.thaw()
        if self.process is not None:
            stop_process(self.process, grace=5)


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisServer]:
    """A Redis server of this test's own on a free port (never the machine's shared one)."""
    server = RedisServer(workdir=tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _drop_broker_connections() -> None:
    """Forget pooled broker connections, so the next publish connects to the configured URL.

    kombu keeps its connection and producer pools in process-wide registries keyed by the
    broker URL: closing the app's pool alone leaves a closed pool there, which the next
    test to publish to that URL would get ("Acquire on closed pool"). `pools.reset()`
    closes and forgets them all.
    """
    from kombu import pools

    with contextlib.suppress(Exception):
        pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker_at(monkeypatch) -> Iterator[Callable[[str], None]]:
    """`broker_at(url)`: this process sends tasks to the broker at `url`, for real (not eagerly).

    Only the URL changes; the transport options, retry policy and timeouts stay the
    app's own, so the test sees what production would.
    """
    saved = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)

    def point(url: str) -> None:
        _drop_broker_connections()
        # Celery reads CELERY_BROKER_URL from the environment before its configuration.
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        celery_app.conf.broker_url = url
        celery_app.conf.task_always_eager = False

    try:
        yield point
    finally:
        _drop_broker_connections()
        monkeypatch.undo()
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = saved


@pytest.fixture
def cache_at(settings) -> Callable[[str], None]:
    """`cache_at(url)`: if the app caches in Redis, its cache moves to the Redis at `url`.

    The backend class and its options stay the app's own. With a local-memory cache
    (REDIS_URL unset) nothing changes: the cache does not depend on Redis then.
    """

    def point(url: str) -> None:
        configured = settings.CACHES["default"]
        if "redis" in configured["BACKEND"].lower():
            settings.CACHES = {**settings.CACHES, "default": {**configured, "LOCATION": url}}

    return point


# --- PostgreSQL: a cluster of the fault tests' own -----------------------------------------------


@dataclass
class Cluster:
    """The `faults` PostgreSQL cluster: a server the tests may stop and restart."""

    version: str
    port: int

    def url(self, database: str = FAULTS_DATABASE) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def ctl(self, action: str, *options: str) -> None:
        subprocess.run(
            [tool("pg_ctlcluster"), "--skip-systemctl-redirect", self.version, FAULTS_CLUSTER, action, *options],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def ready(self) -> bool:
        done = subprocess.run(
            [tool("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"], capture_output=True, timeout=10
        )
        return done.returncode == 0

    def start(self) -> None:
        if not self.ready():
            try:
                self.ctl("start")
            except subprocess.CalledProcessError as error:
                if b"already running" not in error.stderr:
                    pytest.fail(f"the {FAULTS_CLUSTER} cluster did not start: {error.stderr.decode(errors='replace')}")
        wait_for(self.ready, timeout=30, what=f"the {FAULTS_CLUSTER} cluster on port {self.port}")

    def stop(self) -> None:
        self.ctl("stop", "-m", "fast")

    def restart(self) -> None:
        self.ctl("restart", "-m", "fast")
        wait_for(self.ready, timeout=30, what=f"the {FAULTS_CLUSTER} cluster to come back")

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = subprocess.run(
            [tool("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database, "-tAc", sql],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return done.stdout.strip()


def _existing_cluster(version: str) -> int | None:
    listing = subprocess.run([tool("pg_lsclusters"), "--no-header"], capture_output=True, text=True, timeout=30).stdout
    for line in listing.splitlines():
        columns = line.split()
        if len(columns) >= 3 and columns[0] == version and columns[1] == FAULTS_CLUSTER:
            return int(columns[2])
    return None


@pytest.fixture(scope="session")
def faults_cluster() -> Iterator[Cluster]:
    """The `faults` cluster, created if missing (idempotent), started, with a migrated database.

    Needs postgresql-common's pg_createcluster/pg_ctlcluster and root (or the postgres
    user), as on the CI machine. The cluster is left stopped at the end of the session.
    """
    if not (shutil.which("pg_createcluster") and Path("/etc/postgresql").is_dir()):
        service_missing("needs postgresql-common (pg_createcluster) to create a PostgreSQL cluster of its own")
    version = sorted(os.listdir("/etc/postgresql"), key=lambda v: tuple(int(p) for p in v.split(".")))[-1]
    port = _existing_cluster(version)
    if port is None:
        created = subprocess.run(
            [
                *(tool("pg_createcluster"), version, FAULTS_CLUSTER, "--port", str(FAULTS_CLUSTER_PORT)),
                *("--start-conf", "manual"),  # a test server: not started at boot
                *("-o", "shared_buffers=32MB", "-o", "max_connections=40", "-o", "fsync=off"),
                *("--", "--auth-local=trust", "--auth-host=trust"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if created.returncode != 0:
            service_missing(f"could not create the {FAULTS_CLUSTER} cluster (run as root): {created.stderr.strip()}")
        port = FAULTS_CLUSTER_PORT
    cluster = Cluster(version=version, port=port)
    cluster.start()
    try:
        if cluster.psql(f"SELECT 1 FROM pg_database WHERE datname = '{FAULTS_DATABASE}'") != "1":
            cluster.psql(f'CREATE DATABASE "{FAULTS_DATABASE}"')
        manage("migrate", "--noinput", "-v", "0", database_url=cluster.url())
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            cluster.stop()


def manage(*args: str, database_url: str, timeout: float = 300) -> str:
    """`manage.py <args>` on another database (base settings); returns its output."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portfolio.settings.base", "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


# --- the app as a real server process --------------------------------------------------------


@dataclass
class AppServer:
    port: int
    process: subprocess.Popen
    log: Path

    def get(self, path: str, *, headers: dict[str, str] | None = None, timeout: float = 15) -> Reply:
        return fetch(self.port, path, headers=headers, timeout=timeout)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


@pytest.fixture
def app_server(tmp_path) -> Iterator[Callable[..., AppServer]]:
    """`app_server(env)`: gunicorn serving the app with `env` on a free port; stopped at the end.

    One sync worker: the requests of a test share one worker and so one persistent
    database connection (CONN_MAX_AGE), which is what a database restart breaks.
    """
    started: list[AppServer] = []

    def start(env: dict[str, str]) -> AppServer:
        port = free_port()
        log = tmp_path / f"gunicorn-{port}.log"
        command = [sys.executable, "-m", "gunicorn", "portfolio.wsgi", "--bind", f"127.0.0.1:{port}"]
        command += ["--workers", "1", "--timeout", "30", "--graceful-timeout", "5", "--access-logfile", "-"]
        with open(log, "w") as output:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        server = AppServer(port, process, log)
        started.append(server)
        wait_for(lambda: listening(port) or process.poll() is not None, timeout=30, what=f"gunicorn on port {port}")
        assert process.poll() is None, f"gunicorn exited:\n{server.log_tail()}"
        return server

    try:
        yield start
    finally:
        for server in started:
            stop_process(server.process)
