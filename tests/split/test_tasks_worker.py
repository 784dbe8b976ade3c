"""End to end: a real Celery worker process consumes the recompute from Redis and writes the table."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from portfolio.celery import app as celery_app
from split.models import SplitRow, SplitRun
from split.services import split_recompute_request
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory

pytestmark = [
    pytest.mark.broker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

WAIT_SECONDS = 60
WORKER_COMMAND = [sys.executable, "-m", "celery", "-A", "portfolio", "worker", "--pool=solo", "--loglevel=info"]
WORKER_COMMAND += ["--without-mingle", "--without-gossip", "--without-heartbeat"]


def test_database_url() -> str:
    """DATABASE_URL of the test database, for the worker process."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


@pytest.fixture
def worker(tmp_path):
    """`celery -A portfolio worker --pool=solo` on the real broker and the test database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portfolio.settings.base",  # not the test settings: no eager mode
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    log = tmp_path / "worker.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [*WORKER_COMMAND, f"--hostname=test-{os.getpid()}@%h"],
            cwd=Path(settings.BASE_DIR),
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process, log
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture
def not_eager():
    """The test settings run tasks inline; this test sends them to the broker for real."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = eager


def test_a_worker_consumes_the_recompute_from_redis_and_writes_the_split(worker, not_eager, finance):
    process, log = worker
    initiative = InitiativeFactory(marketing_share_pct=Decimal("60.00"))
    BudgetLineFactory(initiative=initiative, month=dt.date(2026, 1, 1), amount=Decimal("1333.33"))
    ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 1, 5), amount=Decimal("670.00"), paid_by="it")

    run = split_recompute_request(by=finance, trigger="ui")
    assert run.status == "queued"  # sent, not executed in this process

    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in ("succeeded", "failed", "skipped") or process.poll() is not None:
            break
        time.sleep(0.5)

    # The run is recorded as succeeded when its transaction commits; the worker logs the task's
    # success only once the task returns (after refreshing statistics and warming the cache).
    while time.monotonic() < deadline and "succeeded in" not in log.read_text() and process.poll() is None:
        time.sleep(0.2)
    output = log.read_text()
    assert run.status == "succeeded", f"run is {run.status} {run.error!r}; worker log:\n{output[-3000:]}"
    assert "split.tasks.split_recompute_task" in output and "succeeded in" in output
    row = SplitRow.objects.get()
    assert (row.planned_marketing, row.actual_marketing, row.true_up) == (
        Decimal("800.00"),
        Decimal("402.00"),
        Decimal("402.00"),
    )
    assert SplitRun.objects.get(pk=run.pk).row_count == 1
