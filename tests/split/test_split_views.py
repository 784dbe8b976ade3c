"""/split/runs/: who sees it, the "Recompute now" button, progress polling, errors as flash messages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from kombu.exceptions import OperationalError as BrokerError

from split.models import SplitRun
from split.tasks import split_recompute_task
from split.views import duration_text
from tests.factories import BudgetLineFactory

pytestmark = pytest.mark.django_db
RUNS = reverse("split:runs")
PANEL = reverse("split:runs_panel")
RECOMPUTE = reverse("split:recompute")


@pytest.mark.parametrize(
    ("who", "sees_page", "sees_button"),
    [
        ("finance", True, True),
        ("executive_marketing", True, False),
        ("executive_it", True, False),
        ("pm", False, False),
    ],
)
def test_who_sees_the_runs_and_the_button(client, request, who, sees_page, sees_button):
    client.force_login(request.getfixturevalue(who))

    response = client.get(RUNS)

    assert response.status_code == (200 if sees_page else 403)
    if sees_page:
        assert (b"Recompute now</button>" in response.content) is sees_button


@pytest.mark.parametrize("who", ["executive_marketing", "pm"])
def test_only_finance_may_start_a_recompute(client, request, who):
    client.force_login(request.getfixturevalue(who))

    response = client.post(RECOMPUTE)

    assert response.status_code == 403
    assert not SplitRun.objects.exists()


def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get(RUNS)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_recompute_now_queues_a_run_and_says_so(client, finance, django_capture_on_commit_callbacks):
    BudgetLineFactory(month=dt.date(2026, 1, 1))
    client.force_login(finance)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RECOMPUTE, follow=True)

    assert response.redirect_chain == [(RUNS, 302)]
    assert "Recompute queued" in response.content.decode()
    run = SplitRun.objects.get()
    assert (run.trigger, run.requested_by, run.status) == ("ui", finance, "succeeded")  # inline in tests


def test_recompute_needs_a_post(client, finance):
    client.force_login(finance)
    assert client.get(RECOMPUTE).status_code == 405


# No test transaction around the view: on_commit runs at once, as live.
@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_is_a_flash_message_not_a_500(client, finance, monkeypatch):
    def broker_down(**options):
        raise BrokerError("Connection refused")

    monkeypatch.setattr(split_recompute_task, "apply_async", broker_down)
    client.force_login(finance)

    response = client.post(RECOMPUTE, follow=True)

    assert response.status_code == 200
    page = response.content.decode()
    assert "the task queue is unavailable. Try again in a minute." in page
    assert "alert-danger" in page
    assert "Queue unavailable, try again." in page  # the failed run in the list says why


def test_runs_list_shows_status_as_of_duration_rows_and_errors(client, finance):
    SplitRun.objects.create(
        status="succeeded",
        trigger="schedule",
        started_at=dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC),
        finished_at=dt.datetime(2026, 3, 1, 2, 0, 4, tzinfo=dt.UTC),
        duration_ms=4321,
        row_count=480000,
    )
    SplitRun.objects.create(status="failed", trigger="ui", requested_by=finance, error="Failed: disk full")
    client.force_login(finance)

    page = client.get(RUNS).content.decode()

    assert "Succeeded" in page and "Failed" in page
    assert "1 Mar 2026, 02:00:04" in page  # as of
    assert "4.32 s" in page and "480,000" in page
    assert "Failed: disk full" in page
    assert "Nightly schedule" in page and "Recompute now" in page


def test_the_panel_polls_only_while_a_run_is_queued_or_running(client, finance):
    client.force_login(finance)
    SplitRun.objects.create(status="succeeded", trigger="schedule", finished_at=dt.datetime.now(dt.UTC))
    assert "hx-trigger" not in client.get(PANEL).content.decode()

    SplitRun.objects.create(status="running", trigger="ui", started_at=dt.datetime.now(dt.UTC))
    panel = client.get(PANEL, headers={"HX-Request": "true"}).content.decode()

    assert 'hx-trigger="every 2s"' in panel and PANEL in panel
    assert "Running…" in panel
    assert "<html" not in panel  # a partial, not the whole page
    assert "Recompute now</button>" not in panel  # no second start while one is running


def test_runs_page_runs_a_fixed_number_of_queries_whatever_the_runs(client, finance, django_assert_num_queries):
    def runs(count: int) -> None:
        for _ in range(count):
            SplitRun.objects.create(status="succeeded", trigger="ui", requested_by=finance, row_count=1, duration_ms=5)
        SplitRun.objects.create(status="failed", trigger="schedule", error="Failed: boom")

    runs(2)
    client.force_login(finance)
    with django_assert_num_queries(7):
        client.get(RUNS)
    runs(30)
    with django_assert_num_queries(7):
        response = client.get(RUNS)

    page = response.content.decode()
    assert page.count("Split table replaced.") + page.count("Failed: boom") == 25  # the 25 latest
    assert "Failed: boom" in page


@pytest.mark.parametrize(
    ("milliseconds", "text"), [(None, ""), (0, "0.00 s"), (1234, "1.23 s"), (59_994, "59.99 s"), (83_000, "1 min 23 s")]
)
def test_duration_text(milliseconds, text):
    assert duration_text(milliseconds) == text
