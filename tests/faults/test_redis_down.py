"""Redis down: reads keep working, recomputes and background exports answer "queue unavailable, try again".

Nothing is lost: each refused request leaves a failed run or export job with the
reason (an export can be retried as it was), never one stuck as queued.

Redis is the Celery broker and, when REDIS_URL is set, the cache (API throttles,
the dashboard's cached figures). Each test points both at a Redis server of its
own and breaks that one: shut down (`redis-cli shutdown nosave`), frozen
(SIGSTOP: connections are accepted but nothing answers), or never there (a port
nothing listens on). The machine's shared Redis is never touched.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
import traceback
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone
from rest_framework.authtoken.models import Token

from initiatives.models import Notification
from initiatives.notifications import RESEND_AFTER, notifications_resend_due
from portfolio.jobs import QUEUE_UNAVAILABLE as EXPORT_QUEUE_UNAVAILABLE
from reports.models import ExportJob
from split.models import SplitRow, SplitRun
from split.services import QUEUE_UNAVAILABLE, SplitQueueUnavailable, split_recompute, split_recompute_request
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory

from .conftest import free_port

pytestmark = [
    pytest.mark.broker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

BROKER_DB, CACHE_DB = 1, 2
# A person is waiting for the answer: a request must get it within this, not hang.
ANSWER_SECONDS = 10
# Past this, requests to a frozen Redis are taken to hang (the server is thawed to release them).
HUNG_GIVE_UP_SECONDS = 60
QUEUE_MESSAGE = re.compile(r"queue.*unavailable.*try again", re.IGNORECASE | re.DOTALL)


def portfolio_with_a_split() -> list[str]:
    """Three initiatives with budgets and actuals, and a split recomputed from them; their codes."""
    codes = []
    for share in ("60.00", "25.00", "100.00"):
        initiative = InitiativeFactory(status="approved", marketing_share_pct=Decimal(share))
        BudgetLineFactory(initiative=initiative, month=dt.date(2026, 1, 1), amount=Decimal("1000.00"))
        ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 1, 9), amount=Decimal("420.00"))
        codes.append(initiative.code)
    assert split_recompute(trigger="command").status == "succeeded"
    return codes


def split_snapshot() -> list[tuple]:
    return list(SplitRow.objects.order_by("initiative_id", "month").values_list("initiative_id", "month", "true_up"))


def read_paths(codes: list[str]) -> list[str]:
    """Pages and API reads: none of them needs Redis to answer."""
    return [
        "/initiatives/",
        f"/initiatives/{codes[0]}/",
        "/dashboard/",
        "/split/runs/",
        "/api/initiatives/",
        f"/api/initiatives/{codes[0]}/",
        "/api/split/",
        "/api/split/summary/",
        "/api/recompute/",
    ]


def get(client, path: str, token: Token):
    """A page with the browser session; an API read with the token, as an integration sends it."""
    if path.startswith("/api/"):
        return client.get(path, HTTP_AUTHORIZATION=f"Token {token.key}")
    return client.get(path)


@pytest.fixture
def finance_client(client, finance):
    client.force_login(finance)
    return client, Token.objects.create(user=finance)


@pytest.fixture
def redis_for_the_app(own_redis, broker_at, cache_at):
    """The app's broker and cache on a Redis of the test's own."""
    broker_at(own_redis.url(BROKER_DB))
    cache_at(own_redis.url(CACHE_DB))
    return own_redis


def assert_reads_answer(client, token, paths: list[str]) -> None:
    for path in paths:
        started = time.monotonic()
        response = get(client, path, token)
        seconds = time.monotonic() - started
        assert response.status_code == 200, f"{path} answered {response.status_code} with Redis down"
        assert seconds < ANSWER_SECONDS, f"{path} took {seconds:.1f} s with Redis down"


def assert_failed_for_the_queue(run: SplitRun) -> None:
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error.startswith(QUEUE_UNAVAILABLE)
    assert run.finished_at is not None


def test_reads_keep_working_and_recomputes_are_refused_clearly_when_redis_shuts_down(redis_for_the_app, finance_client):
    client, token = finance_client
    codes = portfolio_with_a_split()
    before = split_snapshot()
    paths = read_paths(codes)
    assert_reads_answer(client, token, paths)  # Redis up: the dashboard fills the cache, the API counts requests

    redis_for_the_app.shutdown()

    assert_reads_answer(client, token, paths)

    started = time.monotonic()
    response = client.post("/api/recompute/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert time.monotonic() - started < ANSWER_SECONDS
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    assert QUEUE_MESSAGE.search(response.json()["detail"])

    started = time.monotonic()
    page = client.post("/split/runs/recompute/", follow=True)
    assert time.monotonic() - started < ANSWER_SECONDS
    assert page.status_code == 200 and page.redirect_chain[-1][0] == "/split/runs/"
    flashed = [str(message) for message in page.context["messages"]]
    assert any(QUEUE_MESSAGE.search(text) for text in flashed), flashed

    # Nothing lost, nothing half done: both requests are recorded as failed runs with the
    # reason, none is left queued or running, and the split is the one computed before.
    api_run, ui_run = SplitRun.objects.exclude(trigger="command").order_by("queued_at")
    assert (api_run.trigger, ui_run.trigger) == ("api", "ui")
    for run in (api_run, ui_run):
        assert_failed_for_the_queue(run)
    assert not SplitRun.objects.filter(status__in=["queued", "running"]).exists()
    assert split_snapshot() == before


def test_background_exports_are_refused_clearly_and_kept_for_a_retry_while_redis_is_down(
    redis_for_the_app, finance_client
):
    client, token = finance_client
    portfolio_with_a_split()
    redis_for_the_app.shutdown()

    assert_reads_answer(client, token, ["/reports/", "/reports/exports/"])
    started = time.monotonic()
    page = client.post("/reports/exports/new/", {"format": "csv"}, follow=True)
    assert time.monotonic() - started < ANSWER_SECONDS
    assert page.status_code == 200
    flashed = [str(message) for message in page.context["messages"]]
    assert any(QUEUE_MESSAGE.search(text) for text in flashed), flashed
    job = ExportJob.objects.get()  # kept, with its filters, for a retry
    assert job.status == "failed" and job.error.startswith(EXPORT_QUEUE_UNAVAILABLE)

    redis_for_the_app.start()
    client.post(f"/reports/exports/{job.pk}/retry/")

    job.refresh_from_db()
    assert job.status == "queued"
    assert redis_for_the_app.queue_length(BROKER_DB) == 1


def test_a_transition_stands_while_redis_is_down_and_its_emails_are_queued_once_it_is_back(redis_for_the_app, client):
    initiative = InitiativeFactory(status="submitted")
    client.force_login(initiative.marketing_sponsor)
    redis_for_the_app.shutdown()

    started = time.monotonic()
    page = client.post(f"/initiatives/{initiative.code}/approve/", {"reason": ""}, follow=True)
    assert time.monotonic() - started < ANSWER_SECONDS
    assert page.status_code == 200 and page.redirect_chain[-1][0] == f"/initiatives/{initiative.code}/"
    initiative.refresh_from_db()
    assert initiative.marketing_approved_at is not None
    # Nothing lost: the owner's and the IT sponsor's e-mails are recorded, failed for the queue.
    rows = list(Notification.objects.order_by("to_address"))
    assert [n.to_address for n in rows] == sorted([initiative.owner.email, initiative.it_sponsor.email])
    assert all(n.status == "failed" and n.error.startswith(QUEUE_UNAVAILABLE) for n in rows), rows

    redis_for_the_app.start()
    Notification.objects.update(created_at=timezone.now() - 2 * RESEND_AFTER)  # the periodic re-send comes by

    assert notifications_resend_due() == 2
    assert redis_for_the_app.queue_length(BROKER_DB) == 2


def test_a_broker_port_with_nothing_listening_fails_the_request_fast_and_records_the_run(
    broker_at, finance, finance_client
):
    client, token = finance_client
    broker_at(f"redis://127.0.0.1:{free_port()}/0")

    started = time.monotonic()
    with pytest.raises(SplitQueueUnavailable, match="queue is unavailable"):
        split_recompute_request(by=finance, trigger="ui")
    assert time.monotonic() - started < ANSWER_SECONDS

    response = client.post("/api/recompute/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 503
    assert QUEUE_MESSAGE.search(response.json()["detail"])

    runs = list(SplitRun.objects.all())
    assert len(runs) == 2
    for run in runs:
        assert_failed_for_the_queue(run)


def test_recomputes_queue_again_once_redis_is_back_without_restarting_the_app(redis_for_the_app, finance_client):
    client, token = finance_client
    redis_for_the_app.shutdown()
    refused = client.post("/api/recompute/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert refused.status_code == 503

    redis_for_the_app.start()  # the same port, an empty Redis: as after a restart without persistence

    accepted = client.post("/api/recompute/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert accepted.status_code == 202, accepted.content
    run = SplitRun.objects.get(pk=accepted.json()["id"])
    assert run.status == "queued"  # waiting for a worker: the message is in the broker
    assert redis_for_the_app.queue_length(BROKER_DB) == 1


def test_a_hung_redis_does_not_hang_reads_or_recompute_requests(redis_for_the_app, finance_client):
    """SIGSTOP: the port accepts connections but never answers. Only socket timeouts end the wait."""
    client, token = finance_client
    codes = portfolio_with_a_split()
    assert_reads_answer(client, token, read_paths(codes))

    answers: dict[str, tuple[int, float]] = {}  # request → (status, seconds)
    errors: list[BaseException] = []

    def timed(name: str, send) -> None:
        started = time.monotonic()
        status = send().status_code
        answers[name] = (status, time.monotonic() - started)

    def requests_while_frozen() -> None:
        try:
            for path in ("/api/initiatives/", "/dashboard/", f"/initiatives/{codes[0]}/"):
                timed(path, lambda path=path: get(client, path, token))
            timed(
                "POST /api/recompute/",
                lambda: client.post("/api/recompute/", HTTP_AUTHORIZATION=f"Token {token.key}"),
            )
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()  # this thread's database connection

    redis_for_the_app.freeze()
    try:
        worker = threading.Thread(target=requests_while_frozen, daemon=True)
        started = time.monotonic()
        worker.start()
        worker.join(HUNG_GIVE_UP_SECONDS)
        seconds = time.monotonic() - started
        hung = worker.is_alive()
    finally:
        redis_for_the_app.thaw()  # also releases a request stuck on the frozen server
    worker.join(30)

    assert not hung, (
        f"requests were still waiting for the frozen Redis after {seconds:.0f} s (answered so far: {answers}); "
        "the cache and the broker need socket timeouts"
    )
    assert not errors, "a request raised with Redis frozen:\n" + "".join(traceback.format_exception(errors[0]))
    assert {name: status for name, (status, _) in answers.items()} == {
        "/api/initiatives/": 200,
        "/dashboard/": 200,
        f"/initiatives/{codes[0]}/": 200,
        "POST /api/recompute/": 503,
    }
    slow = {name: round(seconds, 1) for name, (_, seconds) in answers.items() if seconds >= ANSWER_SECONDS}
    assert not slow, f"with Redis hung these took too long (s): {slow}"
    assert_failed_for_the_queue(SplitRun.objects.get(trigger="api"))
