"""The deployment (Dockerfile, compose.yaml, .env.example, deploy/) keeps what README and docs/OPERATIONS.md promise.

Docker may not run where the tests do (.ci/run runs `docker compose config` and `docker build` where it
does), so these read the files themselves: compose.yaml with PyYAML, the Dockerfile line by line. The
health check script runs against a live server, and the backup script dumps and restores real PostgreSQL.
No JSON schema of the Compose Specification is checked: no package on the registries we use ships it,
and it is not copied in from another project.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.db import connection

from deploy import healthcheck
from tests.conftest import service_missing

ROOT = Path(__file__).resolve().parents[1]
APP_ROLES = ("migrate", "web", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def dockerfile_stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined, comments out), one list per FROM."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        assert stages, f"an instruction before the first FROM: {line}"
        stages[-1].append(line)
    return stages


def instructions(stage: list[str], name: str) -> list[str]:
    return [line[len(name) + 1 :].strip() for line in stage if line.upper().startswith(name + " ")]


def command(service: dict) -> str:
    value = service.get("command", "")
    return " ".join(value) if isinstance(value, list) else value


def env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


# --- compose.yaml ---------------------------------------------------------------------------------


def test_compose_has_postgres_redis_migrate_web_worker_and_beat_and_backup_only_on_demand(services):
    always = {name for name, service in services.items() if not service.get("profiles")}
    assert always == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    assert services["backup"]["profiles"] == ["backup"]


def test_postgres_and_redis_keep_their_data_in_volumes_and_have_health_checks(compose, services):
    postgres, redis = services["postgres"], services["redis"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in postgres["volumes"])
    assert " ".join(redis["healthcheck"]["test"]).endswith("redis-cli ping")
    for volume in (*postgres["volumes"], *redis["volumes"]):
        assert volume.split(":")[0] in compose["volumes"]
    # The broker shares Redis with the cache: a full Redis must refuse writes, not evict queued tasks.
    assert "noeviction" in command(redis)


def test_web_worker_beat_and_migrate_run_one_image_built_from_this_dockerfile(services):
    images = {services[role]["image"] for role in APP_ROLES}
    builds = {str(services[role]["build"]) for role in APP_ROLES}
    assert len(images) == 1 and len(builds) == 1
    assert builds == {"."}
    for role in APP_ROLES:
        assert services[role]["environment"]["DJANGO_SETTINGS_MODULE"] == "portfolio.settings.production"


def test_each_role_is_chosen_by_its_command(services):
    assert command(services["migrate"]) == "python manage.py migrate --noinput"
    assert command(services["web"]).startswith("gunicorn portfolio.wsgi --bind 0.0.0.0:8000")
    assert command(services["worker"]).startswith("celery -A portfolio worker")
    assert command(services["beat"]).startswith("celery -A portfolio beat")


def test_migrate_runs_once_after_postgres_is_healthy(services):
    migrate = services["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}


@pytest.mark.parametrize("role", ["web", "worker", "beat"])
def test_web_worker_and_beat_start_only_after_migrate_succeeded(services, role):
    assert services[role]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }


def test_web_publishes_port_8000_and_is_healthy_only_when_healthz_answers(services):
    web = services["web"]
    assert web["ports"] == ["${WEB_PORT:-8000}:8000"]
    assert web["healthcheck"]["test"] == ["CMD", "python", "/app/deploy/healthcheck.py"]


def test_there_is_exactly_one_beat(services):
    beats = [name for name, service in services.items() if " beat" in command(service)]
    assert beats == ["beat"]
    assert services["beat"]["deploy"]["replicas"] == 1
    # A worker with an embedded beat (-B) would be a second scheduler.
    worker = command(services["worker"]).split()
    assert "-B" not in worker and "--beat" not in worker


def test_web_and_worker_share_the_media_volume(compose, services):
    for role in ("web", "worker"):
        assert "media:/app/media" in services[role]["volumes"]
        assert services[role]["environment"]["MEDIA_ROOT"] == "/app/media"
    assert "media" in compose["volumes"]


def test_the_backup_service_runs_the_backup_script_against_the_postgres_service(services):
    backup = services["backup"]
    assert backup["image"] == services["postgres"]["image"]  # pg_dump of the server's own version
    assert backup["environment"]["PGHOST"] == "postgres"
    assert "./deploy/backup.sh:/deploy/backup.sh:ro" in backup["volumes"]
    assert (ROOT / "deploy" / "backup.sh").is_file()


# --- .env.example ---------------------------------------------------------------------------------


def test_env_example_documents_what_compose_and_the_app_need():
    values = env_example()
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "POSTGRES_PASSWORD"):
        assert name in values, name
    commented = (ROOT / ".env.example").read_text()
    for name in ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_ROLES_CLAIM", "OIDC_SIDE_CLAIM"):
        assert f"# {name}=" in commented, name
    # An empty SECRET_KEY: production refuses to start until one is generated (never a shared example key).
    assert values["SECRET_KEY"] == ""


def test_env_example_points_the_app_at_compose_services_with_the_postgres_password():
    values = env_example()
    assert values["DATABASE_URL"] == f"postgres://portfolio:{values['POSTGRES_PASSWORD']}@postgres:5432/portfolio"
    assert values["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    assert values["REDIS_URL"].startswith("redis://redis:6379/")
    assert values["CELERY_BROKER_URL"] != values["REDIS_URL"]  # the queue and the cache in separate dbs


def test_every_variable_compose_requires_is_in_env_example():
    required = set(re.findall(r"\$\{(\w+):\?", (ROOT / "compose.yaml").read_text()))
    assert required and required <= set(env_example())


# --- Dockerfile -----------------------------------------------------------------------------------


def test_dockerfile_builds_in_stages_and_the_runtime_has_no_compiler_or_npm():
    stages = dockerfile_stages()
    assert len(stages) >= 2
    runtime = " ".join(stages[-1])
    assert "build-essential" not in runtime and "npm" not in runtime and "gcc" not in runtime
    assert "build-essential" in " ".join(stages[1])
    assert any("npm ci" in line for line in instructions(stages[0], "RUN"))
    assert any("collectstatic" in line for stage in stages[:-1] for line in instructions(stage, "RUN"))
    # The runtime takes the venv and the app (with staticfiles/) from the build stage.
    copies = instructions(stages[-1], "COPY")
    assert "--from=build /opt/venv /opt/venv" in copies
    assert "--from=build /app /app" in copies


def test_the_image_runs_as_a_user_other_than_root():
    users = instructions(dockerfile_stages()[-1], "USER")
    assert users, "the runtime stage sets no USER"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_the_image_defaults_to_production_settings_and_gunicorn_with_a_healthz_check():
    runtime = dockerfile_stages()[-1]
    assert "DJANGO_SETTINGS_MODULE=portfolio.settings.production" in " ".join(instructions(runtime, "ENV"))
    (check,) = instructions(runtime, "HEALTHCHECK")
    assert check.endswith('CMD ["python", "/app/deploy/healthcheck.py"]')
    (cmd,) = instructions(runtime, "CMD")
    assert cmd.startswith('["gunicorn", "portfolio.wsgi", "--bind", "0.0.0.0:8000"')
    assert "/healthz" in (ROOT / "deploy" / "healthcheck.py").read_text()


def test_every_path_the_dockerfile_copies_exists_and_is_not_docker_ignored():
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "!"))
    ]
    sources = []
    for stage in dockerfile_stages():
        for copy in instructions(stage, "COPY"):
            if "--from=" not in copy:
                sources.extend(part for part in copy.split()[:-1] if not part.startswith("--"))
    assert "requirements.lock" in sources and "package-lock.json" in sources
    # `COPY . .` brings the app: what the build and run steps use must be there and not ignored.
    needed = {*sources, "manage.py", "portfolio/wsgi.py", "deploy/healthcheck.py", "static", "templates"} - {"."}
    for path in sorted(needed):
        assert (ROOT / path).exists(), path
        assert not any(fnmatch.fnmatch(path, pattern) for pattern in ignored), f"{path} is in .dockerignore"


def test_the_image_installs_the_runtime_dependencies_at_the_locked_versions():
    from deploy.build_helpers import runtime_requirements

    requirements = runtime_requirements(ROOT / "pyproject.toml")
    assert any(line.startswith("gunicorn") for line in requirements)
    assert not any(line.startswith(("pytest", "playwright", "ruff")) for line in requirements)
    locked = {line.split("==")[0].lower() for line in (ROOT / "requirements.lock").read_text().splitlines()}
    for requirement in requirements:
        assert re.split(r"[\[<>=]", requirement)[0].lower() in locked, requirement


def test_the_runtime_keeps_only_the_npm_files_the_app_serves(tmp_path, settings):
    from deploy.build_helpers import copy_npm_files

    copied = copy_npm_files(Path(settings.NPM_MODULES_DIR), tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        settings.NPM_STATIC_FILES.values()
    )
    assert len(copied) == len(settings.NPM_STATIC_FILES)


# --- deploy/healthcheck.py -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed_hosts", "host"),
    [
        ("portfolio.example.com,other.example.com", "portfolio.example.com"),
        (" , portfolio.example.com", "portfolio.example.com"),
        (".example.com", "healthcheck.example.com"),
        ("*", "localhost"),
        ("", "localhost"),
    ],
)
def test_the_health_check_names_a_host_django_allows(allowed_hosts, host):
    assert healthcheck.host_header(allowed_hosts) == host


@pytest.mark.django_db(transaction=True)
def test_the_health_check_script_passes_on_a_healthy_server_and_fails_on_a_closed_port(live_server):
    port = str(live_server.url.rsplit(":", 1)[1])
    script = str(ROOT / "deploy" / "healthcheck.py")
    ok = subprocess.run(
        [sys.executable, script],
        env={**os.environ, "PORT": port, "ALLOWED_HOSTS": "localhost"},
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    # A port nothing listens on (the server's port + 1 is not guaranteed free: use a closed socket's).
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = str(probe.getsockname()[1])
    failed = subprocess.run(
        [sys.executable, script], env={**os.environ, "PORT": closed}, capture_output=True, text=True
    )
    assert failed.returncode == 1
    assert "no answer" in failed.stderr


# --- deploy/backup.sh and the restore drill (docs/OPERATIONS.md) -----------------------------------


def libpq_environment(database: str) -> dict[str, str]:
    settings = connection.settings_dict
    env = {**os.environ, "PGDATABASE": database, "PGUSER": settings["USER"] or "postgres"}
    env["PGHOST"] = settings["HOST"] or "127.0.0.1"
    env["PGPORT"] = str(settings["PORT"] or 5432)
    if settings["PASSWORD"]:
        env["PGPASSWORD"] = settings["PASSWORD"]
    return env


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_backup_script_dumps_the_database_keeps_the_retention_and_restores(tmp_path):
    from django.contrib.auth.models import Group

    tools = {
        program: shutil.which(program) for program in ("sh", "pg_dump", "pg_restore", "createdb", "dropdb", "psql")
    }
    for program, path in tools.items():
        if not path:
            service_missing(f"needs {program} (PostgreSQL's client programs)")
    database = connection.settings_dict["NAME"]
    Group.objects.get_or_create(name="backup-drill")
    old = tmp_path / f"{database}-2020-01-01T000000Z.dump"
    old.write_bytes(b"expired")
    os.utime(old, (0, 0))
    env = {**libpq_environment(database), "BACKUP_DIR": str(tmp_path), "BACKUP_RETENTION_DAYS": "14"}

    result = subprocess.run([tools["sh"], str(ROOT / "deploy" / "backup.sh")], env=env, capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    dumps = sorted(tmp_path.glob(f"{database}-*.dump"))
    assert len(dumps) == 1 and dumps[0] != old, "the expired dump is removed, the new one kept"
    assert not list(tmp_path.glob("*.partial"))

    # The restore drill: into a new database, then the same rows as the source.
    restored = f"{database}_restore_drill"
    drill = libpq_environment(restored)
    subprocess.run([tools["dropdb"], "--if-exists", restored], env=drill, check=True)
    subprocess.run([tools["createdb"], restored], env=drill, check=True)
    try:
        subprocess.run(
            [tools["pg_restore"], "--no-owner", "--exit-on-error", "--dbname", restored, str(dumps[0])],
            env=drill,
            check=True,
        )

        def count(env: dict[str, str], sql: str) -> str:
            return subprocess.run(
                [tools["psql"], "-tAc", sql], env=env, capture_output=True, text=True, check=True
            ).stdout.strip()

        for sql in (
            "SELECT count(*) FROM django_migrations",
            "SELECT count(*) FROM auth_group WHERE name = 'backup-drill'",
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
        ):
            assert count(drill, sql) == count(libpq_environment(database), sql), sql
    finally:
        subprocess.run([tools["dropdb"], "--if-exists", restored], env=drill, check=True)
