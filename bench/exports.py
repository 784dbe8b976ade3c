"""Benchmark: the finance exports at full scale, beside PostgreSQL's own COPY of the same rows.

    .venv/bin/python -m bench.exports        (or `make bench` for every benchmark)

On the bench database (PostgreSQL, 20,000 initiatives × 24 months of the split):

* the whole split CSV downloaded over HTTP from a real server — gunicorn
  (`portfolio.wsgi`, production settings, one sync worker) — as a finance user:
  wall time from request to last byte, beside `COPY (SELECT … the same rows, same
  order …) TO STDOUT WITH CSV` read by a client in the same run (target ≤ 3×);
* the worker's peak memory while serving it (VmHWM from /proc/<pid>/status,
  target < 200 MB), beside its memory before the download;
* the XLSX of the whole split written by the background task's service
  (`export_job_run`, progress recorded as it goes) in a child process: wall time
  (target < 2 min) and peak RSS (target < 200 MB). Its baselines, measured in the
  same run: for the time, what the library alone costs — a child process that
  fetches the same rows in the same order with plain psycopg2 (a server-side
  cursor; fiscal year and month as text and amounts as floats done by PostgreSQL)
  and writes them with xlsxwriter in constant_memory mode, one sheet, plain
  `write_string` / `write_number`, no formats, no Django; for the memory,
  `manage.py check` (a process with Django loaded doing nothing), same settings.

COPY and download alternate, `REPEATS` times each; medians are reported. The
downloaded body is checked: exact header, one line per split row.
"""

from __future__ import annotations

import http.client
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import environ
from psycopg2.extensions import make_dsn

from bench.database import ROOT, connect, ensure_bench_database, manage, split_table_written, table_counts

REPEATS = 3
TARGET_RATIO = 3.0
TARGET_MB = 200
TARGET_XLSX_SECONDS = 120
HEADER = (
    b"fiscal_year,month,initiative_code,initiative_title,lane,status,marketing_share_pct,planned_total,"
    b"planned_marketing,planned_it,actual_total,actual_marketing,actual_it,paid_marketing,paid_it,true_up,variance\n"
)
# PostgreSQL's own CSV of the same rows in the same order: the floor of any CSV export.
COPY_FLOOR = """
COPY (
    SELECT fiscal_year, month, initiative_code, initiative_title, lane, status, marketing_share_pct,
           planned_total, planned_marketing, planned_it, actual_total, actual_marketing, actual_it,
           paid_marketing, paid_it, true_up, variance
    FROM budgets_splitrow
    ORDER BY fiscal_year, month, initiative_code
) TO STDOUT WITH CSV
"""
SESSION_SCRIPT = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
user = get_user_model().objects.filter(groups__name="finance", is_active=True).order_by("pk").first()
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key)
"""
XLSX_SCRIPT = """
import time
from django.contrib.auth import get_user_model
from reports.services import export_file_path, export_job_run
from reports.models import ExportJob
finance = get_user_model().objects.filter(groups__name="finance", is_active=True).order_by("pk").first()
job = ExportJob.objects.create(requested_by=finance, format="xlsx", filters={})
started = time.perf_counter()
job = export_job_run(job_id=job.pk)
print(job.rows_written, time.perf_counter() - started, job.file_size)
export_file_path(job).unlink()
job.delete()
"""


# The floor of the XLSX: the same cells (text as the workbook shows it, amounts as floats,
# converted by PostgreSQL), fetched without Django and written by xlsxwriter without formats,
# with its typed calls (write_string, write_number: measured ~15% cheaper than write_row's
# dispatch on the type of each value, so the floor is the lower of the two).
XLSX_FLOOR_TEXT_COLUMNS = 6  # fiscal year, month, code, title, lane, status; then 11 numbers
XLSX_FLOOR_SELECT = """
SELECT 'FY' || fiscal_year, to_char(month, 'YYYY-MM'), initiative_code, initiative_title, lane, status,
       marketing_share_pct::float8, planned_total::float8, planned_marketing::float8, planned_it::float8,
       actual_total::float8, actual_marketing::float8, actual_it::float8, paid_marketing::float8,
       paid_it::float8, true_up::float8, variance::float8
FROM budgets_splitrow
ORDER BY fiscal_year, month, initiative_code
"""
XLSX_FLOOR_SCRIPT = f"""
import os, sys
import psycopg2
import xlsxwriter
path = sys.argv[1]
connection = psycopg2.connect(os.environ["BENCH_LIBPQ_DSN"])
workbook = xlsxwriter.Workbook(path, {{"constant_memory": True}})
sheet = workbook.add_worksheet("Split")
sheet.write_row(0, 0, {HEADER.decode().strip().split(",")!r})
row = 0
write_string, write_number = sheet.write_string, sheet.write_number
texts, numbers = range({XLSX_FLOOR_TEXT_COLUMNS}), range({XLSX_FLOOR_TEXT_COLUMNS}, {HEADER.count(b",") + 1})
with connection.cursor(name="bench_xlsx_floor") as cursor:
    cursor.itersize = 5000
    cursor.execute({XLSX_FLOOR_SELECT!r})
    for values in cursor:
        row += 1
        for col in texts:
            write_string(row, col, values[col])
        for col in numbers:
            write_number(row, col, values[col])
workbook.close()
connection.close()
print(row, os.path.getsize(path))
"""


class _Counter:
    """A file that only counts what COPY writes to it."""

    def __init__(self) -> None:
        self.bytes = 0
        self.rows = 0

    def write(self, data: bytes) -> None:
        self.bytes += len(data)
        self.rows += 1


def server_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "portfolio.settings.production",
        "SECRET_KEY": BENCH_SECRET_KEY,
        "DEBUG": "False",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "False",
        "LOG_LEVEL": "WARNING",
    }


BENCH_SECRET_KEY = secrets.token_urlsafe(48)


def ensure_split(url: str) -> int:
    """The split table, recomputed once if no run has succeeded yet; returns its row count."""
    if not split_table_written(url):
        print("exports: computing the split once (recompute_split)", flush=True)
        manage("recompute_split", url=url, quiet=True)
    with connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM budgets_splitrow")
        return cursor.fetchone()[0]


def finance_session(url: str) -> str:
    output = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SESSION_SCRIPT],
        cwd=ROOT,
        env=server_env(url),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return output.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(url: str, port: int) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [
            str(gunicorn),
            "portfolio.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "--timeout",
            "300",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=server_env(url),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            if server.poll() is not None:
                raise RuntimeError("gunicorn exited while starting") from None
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not start within a minute")


def worker_pid(master: int) -> int:
    """The gunicorn worker: the master's only child."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("no gunicorn worker appeared")


def memory_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not found for {pid}")


def download(port: int, path: str, session_key: str) -> tuple[float, int, int, bytes]:
    """(seconds to the last byte, bytes, lines, the first bytes) of one GET."""
    started = time.perf_counter()
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    client.request("GET", path, headers={"Cookie": f"sessionid={session_key}"})
    response = client.getresponse()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {response.read()[:500]!r}")
    size = lines = 0
    head = b""
    while chunk := response.read(1 << 20):
        if len(head) < 4096:
            head += chunk[:4096]
        size += len(chunk)
        lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    client.close()
    return elapsed, size, lines, head


def copy_floor(url: str) -> tuple[float, int, int]:
    """Seconds, bytes and rows of PostgreSQL's own COPY … TO STDOUT WITH CSV of the split rows."""
    connection = connect(url)
    sink = _Counter()
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.copy_expert(COPY_FLOOR, sink)
        elapsed = time.perf_counter() - started
    connection.close()
    return elapsed, sink.bytes, sink.rows


def run_child(args: list[str], env: dict[str, str]) -> tuple[str, float, float]:
    """Run `python args` in a child process: (its stdout, wall seconds, peak RSS in MB from wait4)."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"python {' '.join(args[:2])} failed: {output[-2000:]}")
    return output, elapsed, usage.ru_maxrss / 1024  # Linux reports kilobytes


def xlsx_env(url: str, media_root: str) -> dict[str, str]:
    return {**server_env(url), "DJANGO_SETTINGS_MODULE": "portfolio.settings.base", "MEDIA_ROOT": media_root}


def measure_xlsx(url: str) -> tuple[float, float, int, int]:
    """Wall seconds, peak RSS (MB), rows and file size of the whole-split XLSX, in a child process."""
    with tempfile.TemporaryDirectory() as folder:
        output, elapsed, peak_mb = run_child(["manage.py", "shell", "-c", XLSX_SCRIPT], xlsx_env(url, folder))
    rows, _, size = output.split()[-3:]
    return elapsed, peak_mb, int(rows), int(size)


def libpq_dsn(url: str) -> str:
    """The bench database as a libpq connection string, for a child that imports nothing but psycopg2."""
    config = environ.Env.db_url_config(url)
    return make_dsn(
        dbname=config["NAME"],
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
    )


def measure_xlsx_floor(url: str) -> tuple[float, float, int, int]:
    """Wall seconds, peak RSS (MB), rows and file size of the same rows written by xlsxwriter alone, no Django."""
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "floor.xlsx")
        env = {**os.environ, "BENCH_LIBPQ_DSN": libpq_dsn(url)}
        output, elapsed, peak_mb = run_child(["-c", XLSX_FLOOR_SCRIPT, path], env)
    rows, size = output.split()[-2:]
    return elapsed, peak_mb, int(rows), int(size)


def measure_django_idle(url: str) -> float:
    """Peak RSS (MB) of `manage.py check`: a process with Django loaded, doing nothing, same settings."""
    with tempfile.TemporaryDirectory() as folder:
        _, _, peak_mb = run_child(["manage.py", "check"], xlsx_env(url, folder))
    return peak_mb


def run() -> list[dict]:
    url = ensure_bench_database()
    counts = table_counts(url)
    split_rows = ensure_split(url)
    print(
        f"exports: {counts['initiatives_initiative']:,} initiatives, {counts['budgets_expense']:,} expenses, "
        f"{split_rows:,} split rows",
        flush=True,
    )
    session_key = finance_session(url)
    port = free_port()
    server = start_server(url, port)
    try:
        worker = worker_pid(server.pid)
        download(port, "/reports/split.csv?initiative=INI-0001", session_key)  # warm: imports, connection
        idle_mb = memory_mb(worker, "VmRSS")
        floors, downloads = [], []
        for attempt in range(1, REPEATS + 1):
            seconds, floor_bytes, floor_rows = copy_floor(url)
            floors.append(seconds)
            print(f"exports: [{attempt}/{REPEATS}] COPY floor {seconds:.2f} s ({floor_bytes / 1e6:.0f} MB)", flush=True)
            seconds, size, lines, head = download(port, "/reports/split.csv", session_key)
            downloads.append(seconds)
            print(f"exports: [{attempt}/{REPEATS}] HTTP CSV {seconds:.2f} s ({size / 1e6:.0f} MB)", flush=True)
            if not head.startswith(HEADER) or lines != split_rows + 1 or floor_rows != split_rows:
                raise RuntimeError(f"the download is not the split: {lines} lines for {split_rows} rows")
        peak_mb = memory_mb(worker, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=30)
    xlsx_seconds, xlsx_mb, xlsx_rows, xlsx_size = measure_xlsx(url)
    print(f"exports: XLSX {xlsx_seconds:.1f} s, peak {xlsx_mb:.0f} MB, {xlsx_size / 1e6:.0f} MB file", flush=True)
    if xlsx_rows != split_rows:
        raise RuntimeError(f"the XLSX has {xlsx_rows} rows, the split {split_rows}")
    floor_seconds, floor_mb, floor_rows, floor_size = measure_xlsx_floor(url)
    print(
        f"exports: XLSX floor (psycopg2 + xlsxwriter, no formats, no Django) {floor_seconds:.1f} s, "
        f"peak {floor_mb:.0f} MB, {floor_size / 1e6:.0f} MB file",
        flush=True,
    )
    if floor_rows != split_rows:
        raise RuntimeError(f"the XLSX floor has {floor_rows} rows, the split {split_rows}")
    django_mb = measure_django_idle(url)
    print(f"exports: manage.py check (Django loaded, no work) peak {django_mb:.0f} MB", flush=True)

    floor = statistics.median(floors)
    wall = statistics.median(downloads)
    scale = f"{split_rows:,} rows, {size / 1e6:.0f} MB"
    return [
        {
            "name": f"split CSV over HTTP (gunicorn, finance user): wall time ({scale})",
            "value": round(wall, 2),
            "unit": "s",
            "baseline_name": "COPY (SELECT … same rows) TO STDOUT WITH CSV (same run)",
            "baseline_value": round(floor, 2),
            "ratio": round(wall / floor, 2),
            "target": f"≤ {TARGET_RATIO:g}× COPY",
            "met": wall / floor <= TARGET_RATIO,
        },
        {
            "name": "split CSV over HTTP: peak memory of the gunicorn worker (VmHWM)",
            "value": round(peak_mb),
            "unit": "MB",
            "baseline_name": "the worker before the download (VmRSS)",
            "baseline_value": round(idle_mb),
            "ratio": round(peak_mb / idle_mb, 2),
            "target": f"< {TARGET_MB} MB",
            "met": peak_mb < TARGET_MB,
        },
        {
            "name": f"split XLSX (constant_memory, 4 sheets): wall time ({xlsx_rows:,} rows, {xlsx_size / 1e6:.0f} MB)",
            "value": round(xlsx_seconds, 1),
            "unit": "s",
            "baseline_name": "floor: same rows via plain psycopg2 into xlsxwriter (constant_memory, one sheet, "
            "no formats, no Django), whole process (same run)",
            "baseline_value": round(floor_seconds, 1),
            "ratio": round(xlsx_seconds / floor_seconds, 2),
            "target": f"< {TARGET_XLSX_SECONDS} s",
            "met": xlsx_seconds < TARGET_XLSX_SECONDS,
        },
        {
            "name": "split XLSX: peak memory of the process (ru_maxrss)",
            "value": round(xlsx_mb),
            "unit": "MB",
            "baseline_name": "manage.py check (Django loaded, no work), same settings (same run)",
            "baseline_value": round(django_mb),
            "ratio": round(xlsx_mb / django_mb, 2),
            "target": f"< {TARGET_MB} MB",
            "met": xlsx_mb < TARGET_MB,
        },
    ]


if __name__ == "__main__":
    for result in run():
        print(result)
