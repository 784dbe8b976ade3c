"""`make run` as a newcomer sees it (issue 14): the demo logins once the site answers, a quiet
request log, and Ctrl-C ending it cleanly."""

from __future__ import annotations

import http.server
import io
import logging
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.error
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from demo.management.commands import demo_logins
from demo.people import DEMO_PASSWORD, DEMO_USERS
from tests.conftest import service_missing

ROOT = Path(__file__).resolve().parents[1]


# --- the demo logins, printed once the site answers ------------------------------------------


def test_the_logins_wait_until_the_site_answers(monkeypatch):
    attempts = []

    def urlopen(url, timeout):
        attempts.append(url)
        if len(attempts) < 3:  # the web server is still starting
            raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))
        return io.BytesIO(b'{"status": "ok"}')

    printed_after = []

    class Screen(io.StringIO):
        def write(self, text):
            printed_after.append(len(attempts))
            return super().write(text)

    monkeypatch.setattr(demo_logins.urllib.request, "urlopen", urlopen)
    monkeypatch.setattr(demo_logins.time, "sleep", lambda seconds: None)
    out = Screen()
    call_command("demo_logins", wait_for="http://127.0.0.1:8000/healthz", stdout=out, stderr=io.StringIO())

    assert attempts == ["http://127.0.0.1:8000/healthz"] * 3
    assert set(printed_after) == {3}  # nothing was printed before the site answered
    text = out.getvalue()
    assert "sign in at http://127.0.0.1:8000/" in text
    for user in DEMO_USERS:
        assert f"  {user.username:<16}{DEMO_PASSWORD}" in text
        assert f"{user.first_name} {user.last_name}, {user.title}" in text


def test_an_error_page_is_an_answer_too(monkeypatch):
    # /healthz says 503 while, say, the broker is down: the site is up, the logins are useful.
    class Server(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert demo_logins.site_answers(f"http://127.0.0.1:{server.server_port}/healthz", timeout=5)
    finally:
        server.shutdown()
        server.server_close()


def test_the_logins_are_printed_anyway_when_the_site_never_answers(monkeypatch):
    clock = iter(range(0, 1000, 10))  # each look at the clock is ten seconds later
    monkeypatch.setattr(demo_logins.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(demo_logins.time, "sleep", lambda seconds: None)
    out, err = io.StringIO(), io.StringIO()

    call_command("demo_logins", wait_for="http://127.0.0.1:1/healthz", timeout=30, stdout=out, stderr=err)

    assert "did not answer within 30 s" in err.getvalue()
    assert "finance" in out.getvalue()


def test_only_an_http_url_is_waited_for():
    with pytest.raises(CommandError, match="http"):
        call_command("demo_logins", wait_for="file:///etc/passwd", stdout=io.StringIO())


def test_staying_ends_cleanly_on_sigterm():
    # honcho stops every process as soon as one ends, so the logins process stays until told to stop.
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        demo_logins._stay_until_stopped()  # returns instead of dying of the signal
    finally:
        timer.cancel()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def test_the_procfile_runs_the_logins_process_and_quiet_celery_banners():
    from honcho.environ import parse_procfile

    processes = parse_procfile((ROOT / "Procfile").read_text()).processes
    assert processes["logins"] == (
        ".venv/bin/python manage.py demo_logins --wait-for http://127.0.0.1:8000/healthz --stay"
    )
    assert "runserver 127.0.0.1:8000" in processes["web"]
    # Without -q the worker's and beat's banners (40 lines) came after the logins and pushed them away.
    assert processes["worker"].startswith(".venv/bin/celery -A portfolio -q worker")
    assert processes["beat"].startswith(".venv/bin/celery -A portfolio -q beat")


# --- a quiet request log ---------------------------------------------------------------------


def _served(path: str, status: int) -> logging.LogRecord:
    """A request line as runserver logs it (django.core.servers.basehttp.WSGIRequestHandler.log_message)."""
    return logging.getLogger("django.server").makeRecord(
        "django.server",
        logging.INFO if status < 400 else logging.WARNING,
        __file__,
        0,
        '"%s" %s %s',
        (f"GET {path} HTTP/1.1", str(status), "1234"),
        None,
        extra={"status_code": status, "server_time": "07/Dec/2026 09:00:00", "request": None},
    )


def test_the_dev_server_log_leaves_out_static_files_served_fine():
    logger = logging.getLogger("django.server")
    written = []

    class Keep(logging.Handler):
        def emit(self, record):
            written.append(record.getMessage())

    keep = Keep()
    logger.addHandler(keep)
    try:
        for path, status in (
            ("/static/css/app.css?v=3", 200),
            ("/static/js/ui.js", 304),
            ("/initiatives/", 200),
            ("/static/css/missing.css", 404),
            ("/healthz", 503),
        ):
            logger.handle(_served(path, status))
    finally:
        logger.removeHandler(keep)

    assert written == [
        '"GET /initiatives/ HTTP/1.1" 200 1234',
        '"GET /static/css/missing.css HTTP/1.1" 404 1234',
        '"GET /healthz HTTP/1.1" 503 1234',
    ]


# --- Ctrl-C ends `make run` cleanly ----------------------------------------------------------

FAKE_HONCHO = """#!/bin/bash
# Stands in for honcho: runs until SIGINT, then stops like honcho does (status 130).
trap 'echo "SIGINT received"; exit 130' INT
echo "honcho: processes started"
while true; do sleep 0.05; done
"""


def _fake_venv(root: Path) -> Path:
    """A virtual environment whose python does nothing and whose honcho behaves like honcho on Ctrl-C."""
    bin_dir = root / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name, script in (("python", "#!/bin/bash\nexit 0\n"), ("honcho", FAKE_HONCHO)):
        path = bin_dir / name
        path.write_text(script)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    (root / "venv" / ".installed").touch()  # newer than requirements.lock: nothing to install
    return root / "venv"


def test_ctrl_c_ends_make_run_with_status_0(tmp_path):
    if shutil.which("make") is None or shutil.which("setsid") is None or sys.platform != "linux":
        service_missing("needs make, and util-linux setsid to give make a terminal")  # a failure under CI=true
    import pty

    venv = _fake_venv(tmp_path)
    terminal, its_end = pty.openpty()
    # make on a terminal of its own (setsid --ctty), as in a shell; -o: never reinstall the shared
    # node_modules; VENV: the fake environment above.
    argv = ["make", "-s", "-o", "node_modules/.package-lock.json", f"VENV={venv}", "run"]
    make = subprocess.Popen(
        [shutil.which("setsid"), "--ctty", *argv],
        cwd=ROOT,
        env={key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")},
        stdin=its_end,
        stdout=its_end,
        stderr=its_end,
    )
    os.close(its_end)
    output = b""

    def read_for(seconds: float, until: bytes = b"") -> None:
        nonlocal output
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not (until and until in output):
            if select.select([terminal], [], [], 0.1)[0]:
                try:
                    output += os.read(terminal, 4096)
                except OSError:  # the terminal closed: make has ended
                    return
            elif make.poll() is not None:
                return

    try:
        read_for(30, until=b"honcho: processes started")
        assert b"honcho: processes started" in output, output
        os.write(terminal, b"\x03")  # Ctrl-C: the terminal interrupts its foreground job
        read_for(15)
        status = make.wait(timeout=5)
    finally:
        if make.poll() is None:  # still running: stop it, and whatever it started, before failing
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
        os.close(terminal)
    assert b"SIGINT received" in output
    assert b"Error" not in output and b"Interrupt" not in output, output
    assert status == 0, output
