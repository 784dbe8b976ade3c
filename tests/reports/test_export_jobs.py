"""Large exports in the background: queued after commit, progress, download, My exports, clean-up."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from portfolio.jobs import QUEUE_UNAVAILABLE, Job, JobStatus, JobTask, QueueUnavailable
from reports import services, split_csv, tasks
from reports.journal import journal_csv_chunks
from reports.models import ExportJob
from reports.selectors import SplitExport
from reports.services import ExportQueueUnavailable, export_file_path, export_job_request, export_job_run
from reports.split_csv import split_csv_chunks
from reports.tasks import export_files_purge_task, export_job_task
from split.selectors import SplitFilters, split_rows
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def five_rows_go_to_the_background(settings, media):
    """Exports of more than five rows run as jobs (the portfolio has more), their files under `media`."""
    settings.EXPORT_ASYNC_ROWS = 5


def start(client, export_format: str, **filters):
    return client.post(reverse("reports:export_create"), {"format": export_format, **filters})


def test_a_large_export_runs_in_the_background_and_is_downloaded_from_its_page(
    export_portfolio, client, finance, django_capture_on_commit_callbacks
):
    client.force_login(finance)
    page = client.get(reverse("reports:index"), {"fiscal_year": "FY2027"}).content.decode()
    assert "Prepare XLSX" in page and reverse("reports:export_create") in page

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = start(client, "xlsx", fiscal_year="FY2027")

    job = ExportJob.objects.get()
    assert len(callbacks) == 1
    assert response.status_code == 302 and response["Location"] == reverse("reports:export_detail", args=[job.pk])
    assert (job.status, job.progress, job.requested_by) == (JobStatus.SUCCEEDED, 100, finance)
    assert job.rows_written == job.row_count == split_rows({"fiscal_year": "FY2027"}).count()
    assert job.file_name.startswith("split-report_FY2027_as-of-") and job.file_name.endswith(".xlsx")
    detail = client.get(response["Location"]).content.decode()
    assert reverse("reports:export_download", args=[job.pk]) in detail and "hx-trigger" not in detail
    download = client.get(reverse("reports:export_download", args=[job.pk]))
    assert download.status_code == 200
    assert f'filename="{job.file_name}"' in download["Content-Disposition"]
    assert b"".join(download.streaming_content) == export_file_path(job).read_bytes()


def test_the_task_is_sent_only_once_the_job_is_committed(export_portfolio, finance, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        job = export_job_request(export_format="csv", params={"lane": "fast_lane"}, by=finance)
        assert job.status == JobStatus.QUEUED and not export_file_path(job).exists()

    callbacks[0]()  # the commit: the task is sent (inline in the test settings)

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.filters == {"lane": "fast_lane"}


def test_the_task_is_sent_with_the_job_id_and_an_expiry(
    export_portfolio, finance, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(export_job_task, "apply_async", lambda **options: sent.append(options))

    with django_capture_on_commit_callbacks(execute=True):
        job = export_job_request(export_format="journal", params={}, by=finance)

    [options] = sent
    assert options["kwargs"] == {"job_id": str(job.pk)} and options["expires"] > 0


def test_an_export_is_a_job_of_the_one_lifecycle_queued_by_task_name():
    assert issubclass(ExportJob, Job) and ExportJob._meta.get_field("status").choices == JobStatus.choices
    assert isinstance(export_job_task._get_current_object(), JobTask) and export_job_task.acks_late
    assert ExportQueueUnavailable is QueueUnavailable
    # The service names its task (portfolio.jobs.enqueue_on_commit) instead of importing it.
    assert not [name for name, value in vars(services).items() if hasattr(value, "apply_async")]


def test_an_export_waiting_for_a_database_retry_says_so(finance, monkeypatch):
    job = ExportJob.objects.create(requested_by=finance, format="csv", filters={})
    monkeypatch.setattr(tasks, "export_job_run", lambda **kw: (_ for _ in ()).throw(OperationalError("down")))
    monkeypatch.setattr(export_job_task, "retry", lambda **kw: RuntimeError("retry scheduled"))

    with pytest.raises(RuntimeError, match="retry scheduled"):
        export_job_task.apply(kwargs={"job_id": str(job.pk)}).get()

    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert job.error.startswith("Database unavailable (down); retry 1 of 3 in ")


def test_after_a_database_outage_the_retry_writes_the_same_export(export_portfolio, finance, monkeypatch):
    job = ExportJob.objects.create(requested_by=finance, format="csv", filters={"lane": "fast_lane"})
    calls = []

    def database_down_once(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("down")
        return export_job_run(**kwargs)

    monkeypatch.setattr(tasks, "export_job_run", database_down_once)

    # throw=False: in eager mode Celery re-applies a retried task inline unless errors propagate at once.
    result = export_job_task.apply(kwargs={"job_id": str(job.pk)}, throw=False).get()

    job.refresh_from_db()
    assert calls == [{"job_id": str(job.pk)}] * 2
    assert result["status"] == job.status == JobStatus.SUCCEEDED and export_file_path(job).exists()


def test_a_finished_export_is_called_ready_in_the_pages_and_the_admin(finance, client):
    job = ExportJob.objects.create(requested_by=finance, format="csv", status=JobStatus.SUCCEEDED, file_name="a.csv")
    admin = UserFactory(username="admin.exports", role="admin", side="")

    client.force_login(finance)
    listing = client.get(reverse("reports:exports")).content.decode()
    client.force_login(admin)
    changelist = client.get(reverse("admin:reports_exportjob_changelist")).content.decode()

    assert job.status_label == "Ready"
    assert ">Ready</span>" in listing and "Succeeded" not in listing
    assert '<td class="field-status_shown">Ready</td>' in changelist
    assert "?status=succeeded" in changelist and "Skipped" not in changelist  # the filter: export states only


def test_background_csv_and_journal_are_the_same_files_as_the_direct_downloads(export_portfolio, finance):
    csv_job = ExportJob.objects.create(requested_by=finance, format="csv", filters={"fiscal_year": "FY2027"})
    journal_job = ExportJob.objects.create(requested_by=finance, format="journal", filters={})

    export_job_run(job_id=csv_job.pk)
    export_job_run(job_id=journal_job.pk)

    filters = SplitFilters.parse({"fiscal_year": "FY2027"})
    assert export_file_path(csv_job).read_bytes() == b"".join(split_csv_chunks(filters))
    assert export_file_path(journal_job).read_bytes() == b"".join(journal_csv_chunks(SplitFilters()))


def test_progress_is_recorded_while_the_file_is_written(export_portfolio, finance, monkeypatch):
    monkeypatch.setattr(split_csv, "CHUNK_BYTES", 256)
    monkeypatch.setattr(services, "PROGRESS_EVERY_SECONDS", 0)
    job = ExportJob.objects.create(requested_by=finance, format="csv", filters={}, row_count=split_rows().count())

    with CaptureQueriesContext(connection) as queries:
        export_job_run(job_id=job.pk)

    updates = [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and '"rows_written"' in q["sql"]]
    assert len(updates) > 3  # intermediate progress, then the final state
    job.refresh_from_db()
    assert (job.progress, job.rows_written) == (100, split_rows().count())


@pytest.mark.django_db(transaction=True)  # real commits: the task is sent while the view runs
def test_an_unreachable_broker_says_try_again_and_loses_nothing(export_portfolio, client, finance, monkeypatch):
    def broker_down(**options):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(export_job_task, "apply_async", broker_down)
    client.force_login(finance)

    response = start(client, "xlsx", lane="core_stack")

    assert response.status_code == 302 and response["Location"] == reverse("reports:index") + "?lane=core_stack"
    page = client.get(response["Location"]).content.decode()
    assert "task queue is unavailable" in page and "try again" in page
    job = ExportJob.objects.get()
    assert job.status == JobStatus.FAILED and job.error.startswith(QUEUE_UNAVAILABLE)
    assert job.filters == {"lane": "core_stack"}

    monkeypatch.undo()  # the broker is back: "Try again" on the job runs it with its filters
    client.post(reverse("reports:export_retry", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and export_file_path(job).exists()


def test_the_service_raises_queue_unavailable_for_other_callers(
    export_portfolio, finance, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(export_job_task, "apply_async", lambda **o: (_ for _ in ()).throw(BrokerError("down")))

    with (
        pytest.raises(ExportQueueUnavailable, match="try again"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        export_job_request(export_format="csv", params={}, by=finance)

    assert ExportJob.objects.get().status == JobStatus.FAILED


def test_a_failed_export_is_recorded_and_leaves_no_partial_file(export_portfolio, finance, monkeypatch, media):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(services, "write_split_xlsx", disk_full)
    job = ExportJob.objects.create(requested_by=finance, format="xlsx", filters={})

    result = export_job_task.apply(kwargs={"job_id": str(job.pk)}).get()

    job.refresh_from_db()
    assert result["status"] == "failed"
    assert job.status == JobStatus.FAILED and "No space left on device" in job.error
    assert list((media / "exports").iterdir()) == []


def test_a_failed_export_page_offers_to_try_again(finance, client):
    job = ExportJob.objects.create(requested_by=finance, format="csv", status="failed", error="Failed: boom")
    client.force_login(finance)

    html = client.get(reverse("reports:export_detail", args=[job.pk])).content.decode()

    assert "Failed: boom" in html and reverse("reports:export_retry", args=[job.pk]) in html


def test_a_redelivered_message_leaves_a_finished_export_alone(export_portfolio, finance):
    job = ExportJob.objects.create(requested_by=finance, format="csv", filters={})
    first = export_job_run(job_id=job.pk)

    again = export_job_run(job_id=job.pk)

    assert again.finished_at == first.finished_at and again.status == JobStatus.SUCCEEDED


def test_the_progress_card_polls_while_running_and_stops_when_done(finance, client):
    job = ExportJob.objects.create(
        requested_by=finance, format="xlsx", status="running", progress=42, rows_written=420, row_count=1000
    )
    client.force_login(finance)
    panel_url = reverse("reports:export_panel", args=[job.pk])

    running = client.get(panel_url).content.decode()
    ExportJob.objects.filter(pk=job.pk).update(status="succeeded", progress=100, file_name="x.xlsx")
    done = client.get(panel_url).content.decode()

    assert f'hx-get="{panel_url}"' in running and "hx-trigger" in running
    assert "420 of 1,000 rows written" in running and 'aria-valuenow="42"' in running
    assert "hx-trigger" not in done and reverse("reports:export_download", args=[job.pk]) in done


def test_my_exports_lists_only_my_own_newest_first(finance, client, django_assert_num_queries):
    colleague = UserFactory(username="finance.two", role="finance", side="")
    old = ExportJob.objects.create(requested_by=finance, format="csv", status="succeeded", file_name="old.csv")
    ExportJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=2))
    new = ExportJob.objects.create(requested_by=finance, format="xlsx", status="running", filters={"lane": "fast_lane"})
    theirs = ExportJob.objects.create(requested_by=colleague, format="journal")
    client.force_login(finance)

    with django_assert_num_queries(5):
        response = client.get(reverse("reports:exports"))

    assert [job.pk for job in response.context["jobs"]] == [new.pk, old.pk]
    html = response.content.decode()
    assert "Fast lane" in html and str(theirs.pk) not in html
    assert 'hx-get="' + reverse("reports:exports_panel") in html  # a running export: the table follows it


def test_nobody_else_can_see_or_download_my_export(finance, client):
    job = ExportJob.objects.create(requested_by=finance, format="csv", status="succeeded")
    colleague = UserFactory(username="finance.two", role="finance", side="")
    client.force_login(colleague)

    for name in ("reports:export_detail", "reports:export_panel", "reports:export_download"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404
    assert client.post(reverse("reports:export_retry", args=[job.pk])).status_code == 404


def test_pms_may_not_start_or_list_exports(client, pm):
    client.force_login(pm)

    assert start(client, "csv").status_code == 403
    assert client.get(reverse("reports:exports")).status_code == 403
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize("role", ["executive_marketing", "executive_it"])
def test_executives_may_start_and_list_their_exports(request, client, role):
    client.force_login(request.getfixturevalue(role))

    response = start(client, "csv")

    job = ExportJob.objects.get()
    assert response.status_code == 302 and job.requested_by == request.getfixturevalue(role)
    assert client.get(reverse("reports:exports")).status_code == 200


def test_bad_filters_start_nothing(client, finance):
    client.force_login(finance)

    response = start(client, "csv", quarter="Q9")

    assert response.status_code == 302 and not ExportJob.objects.exists()
    assert "not a quarter" in client.get(response["Location"]).content.decode()


def test_exports_older_than_seven_days_are_removed_with_their_files(export_portfolio, finance, media):
    old = ExportJob.objects.create(requested_by=finance, format="csv", filters={})
    recent = ExportJob.objects.create(requested_by=finance, format="csv", filters={})
    export_job_run(job_id=old.pk)
    export_job_run(job_id=recent.pk)
    ExportJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=7, minutes=1))
    ExportJob.objects.filter(pk=recent.pk).update(created_at=timezone.now() - dt.timedelta(days=6, hours=23))
    old_file, recent_file = export_file_path(ExportJob.objects.get(pk=old.pk)), export_file_path(recent)

    result = export_files_purge_task.apply().get()

    assert result == {"removed": 1}
    assert list(ExportJob.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not old_file.exists() and recent_file.exists()


def test_the_clean_up_runs_nightly_with_an_expiry_and_the_tasks_are_registered(settings):
    from portfolio.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["export-files-purge-nightly"]

    assert entry["task"] == export_files_purge_task.name == "reports.tasks.export_files_purge_task"
    assert entry["options"]["expires"] > 0
    app.loader.import_default_modules()  # what a worker does at start-up: autodiscovery finds reports.tasks
    assert {"reports.tasks.export_job_task", "reports.tasks.export_files_purge_task"} <= set(app.tasks)


def test_the_page_shows_the_export_of_a_large_selection_as_prepare_buttons(export_portfolio, client, finance):
    client.force_login(finance)

    html = client.get(reverse("reports:index")).content.decode()

    assert html.count(reverse("reports:export_create")) == 5  # split CSV, XLSX, journal; forecast CSV, XLSX
    assert "prepared in the background" in html
    assert f"{SplitExport.prepare({}).row_count():,}" in html


def test_an_export_whose_worker_died_is_marked_failed_and_can_be_tried_again(finance, client, settings):
    """A killed worker records nothing: past the task's hard time limit, a `running` export is dead."""
    long_ago = timezone.now() - dt.timedelta(seconds=services.EXPORT_TIME_LIMIT_SECONDS + 120)
    dead = ExportJob.objects.create(requested_by=finance, format="csv", status="running", started_at=long_ago)
    alive = ExportJob.objects.create(requested_by=finance, format="csv", status="running", started_at=timezone.now())

    assert tasks.export_jobs_recover_task.apply().get() == {"closed": 1}

    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.status, dead.error) == (JobStatus.FAILED, services.INTERRUPTED)
    assert dead.finished_at is not None
    assert alive.status == JobStatus.RUNNING  # a live worker may still be writing it
    entry = settings.CELERY_BEAT_SCHEDULE["exports-recover"]
    assert entry["task"] == tasks.export_jobs_recover_task.name and 0 < entry["options"]["expires"] < 5 * 60
    assert export_job_task.time_limit == services.EXPORT_TIME_LIMIT_SECONDS  # the limit the check relies on
