"""/split/runs/: who sees it, the "Recompute now" button, progress polling, errors as flash messages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from split.models import SplitRun
from split.tasks import split_recompute_task
from split.views import duration_text
from tests.factories import BudgetLineFactory, UserFactory

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


def test_recompute_now_follows_the_run_and_shows_its_result_once_done(
    client, finance, django_capture_on_commit_callbacks
):
    """The notice is about the run and lives in the polled panel: it turns into the result, never stays "queued"."""
    BudgetLineFactory(month=dt.date(2026, 1, 1))
    client.force_login(finance)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(RECOMPUTE)
    run = SplitRun.objects.get()
    assert response["Location"] == f"{RUNS}?run={run.pk}"
    queued_page = client.get(response["Location"]).content.decode()
    assert "Recompute queued." in queued_page and "This page follows it until it finishes." in queued_page
    assert f'hx-get="{PANEL}?run={run.pk}"' in queued_page

    callbacks[0]()  # the commit sends the task; it runs inline in the tests
    polled = client.get(PANEL, {"run": str(run.pk)}, headers={"HX-Request": "true"}).content.decode()
    reloaded = client.get(response["Location"]).content.decode()

    run.refresh_from_db()
    assert (run.trigger, run.requested_by, run.status) == ("ui", finance, "succeeded")
    for page in (polled, reloaded):
        assert "Recompute finished." in page
        assert f"The split is now as of {timezone.localtime(run.finished_at):%-d %b %Y, %H:%M:%S}: 1 row in" in page
        assert "This page follows it" not in page and "Recompute queued" not in page
        assert "hx-trigger" not in page  # done: nothing polls any more


@pytest.mark.parametrize(
    ("status", "fields", "says", "alert"),
    [
        ("queued", {}, "Recompute queued.</strong>\n      It starts as soon as a worker is free", "alert-info"),
        ("running", {"started_at": dt.datetime(2026, 3, 1, 9, 5, 7, tzinfo=dt.UTC)}, "since 09:05:07", "alert-info"),
        ("failed", {"error": "Failed: disk full"}, "did not finish.</strong> Failed: disk full", "alert-danger"),
        ("interrupted", {"error": "Interrupted: worker gone"}, "Interrupted: worker gone", "alert-danger"),
    ],
)
def test_the_followed_run_says_where_it_is(client, finance, status, fields, says, alert):
    run = SplitRun.objects.create(status=status, trigger="ui", requested_by=finance, **fields)
    client.force_login(finance)

    panel = client.get(PANEL, {"run": str(run.pk)}).content.decode()

    notice = panel[panel.index('id="followed-run"') - 80 : panel.index("</div>", panel.index('id="followed-run"'))]
    assert says in notice and alert in notice
    assert "joined" not in notice  # finance's own run
    if status in ("queued", "running"):
        assert f'hx-get="{PANEL}?run={run.pk}"' in panel  # the polling keeps following it


def test_a_followed_run_that_was_interrupted_and_retried_points_to_the_new_split(client, finance):
    died = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    run = SplitRun.objects.create(status="interrupted", trigger="ui", finished_at=died, error="Interrupted: gone.")
    client.force_login(finance)
    assert "You can start it again below." in client.get(RUNS, {"run": str(run.pk)}).content.decode()

    SplitRun.objects.create(status="succeeded", trigger="retry", finished_at=died + dt.timedelta(seconds=40))
    page = client.get(RUNS, {"run": str(run.pk)}).content.decode()

    assert "A later run has recomputed the split since: it is as of 1 Mar 2026, 09:00:40." in page
    assert "You can start it again below." not in page


def test_a_request_that_joined_a_waiting_run_says_so_and_that_it_starts_after_the_running_one(client, finance):
    SplitRun.objects.create(status="running", trigger="schedule", started_at=dt.datetime.now(dt.UTC))
    other = UserFactory(first_name="Fiona", last_name="Feld")
    waiting = SplitRun.objects.create(status="queued", trigger="api", requested_by=other)
    client.force_login(finance)

    page = client.get(RUNS, {"run": str(waiting.pk)}).content.decode()

    assert "It starts as soon as the running recompute finishes" in page
    assert "Your request joined the run Fiona Feld had already queued." in page
    assert "A follow-up run is queued: it starts when this one finishes" in page


@pytest.mark.parametrize("value", ["not-a-uuid", "%00", "00000000-0000-0000-0000-000000000000", ""])
def test_an_odd_or_unknown_followed_run_is_ignored(client, finance, value):
    client.force_login(finance)

    response = client.get(RUNS, {"run": value})

    assert response.status_code == 200
    assert 'id="followed-run"' not in response.content.decode()


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
    assert "Recompute now</button>" not in panel
    # During a run finance may ask for one more, which starts when it ends (requests coalesce).
    assert "Recompute again after it</button>" in panel

    SplitRun.objects.create(status="queued", trigger="api")
    panel = client.get(PANEL).content.decode()
    assert "A follow-up run is queued" in panel
    assert "</button>" not in panel  # another request would only join the queued run


def test_runs_page_runs_a_fixed_number_of_queries_whatever_the_runs(client, finance, django_assert_num_queries):
    def runs(count: int) -> None:
        for _ in range(count):
            SplitRun.objects.create(status="succeeded", trigger="ui", requested_by=finance, row_count=1, duration_ms=5)
        SplitRun.objects.create(status="failed", trigger="schedule", error="Failed: boom")

    runs(27)
    followed = SplitRun.objects.order_by("queued_at").first()  # not among the 25 latest: read on its own
    client.force_login(finance)
    with django_assert_num_queries(8):
        client.get(RUNS, {"run": str(followed.pk)})
    runs(30)
    with django_assert_num_queries(8):
        response = client.get(RUNS, {"run": str(followed.pk)})

    page = response.content.decode()
    assert page.count("Split table replaced.") + page.count("Failed: boom") == 25  # the 25 latest
    assert "Failed: boom" in page
    assert "Recompute finished." in page


@pytest.mark.parametrize(
    ("milliseconds", "text"), [(None, ""), (0, "0.00 s"), (1234, "1.23 s"), (59_994, "59.99 s"), (83_000, "1 min 23 s")]
)
def test_duration_text(milliseconds, text):
    assert duration_text(milliseconds) == text
