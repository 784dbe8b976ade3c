"""`manage.py demo_logins`: print the demo logins, optionally once the site answers.

    python manage.py demo_logins [--wait-for URL] [--timeout SECONDS] [--stay]

`make run` starts it beside the web server, the Celery worker and beat (Procfile), as
`demo_logins --wait-for http://127.0.0.1:8000/healthz --stay`: it prints the logins once
the site answers, after the start-up output that used to scroll them away, then stays
until Ctrl-C (honcho stops every process as soon as one of them ends).
"""

from __future__ import annotations

import signal
import threading
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.people import demo_logins_table

POLL_SECONDS = 0.5


def site_answers(url: str, *, timeout: float, poll_seconds: float = POLL_SECONDS) -> bool:
    """Wait until `url` gives any HTTP answer (a 503 is an answer too); False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            # Only http(s) URLs get here (checked in handle): a local health check, not user input.
            with urllib.request.urlopen(url, timeout=min(2.0, max(timeout, 0.1))):  # noqa: S310  # nosec B310
                return True
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_seconds)


def _stay_until_stopped() -> None:
    """Block until SIGINT or SIGTERM, then return (a clean exit, not a traceback)."""
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()


class Command(BaseCommand):
    help = "Print the demo logins; with --wait-for, once the site answers at that URL (what `make run` does)."
    requires_system_checks: list[str] = []  # the web process runs them; this one only prints

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wait-for", metavar="URL", help="Print once this http(s) URL answers.")
        parser.add_argument(
            "--timeout",
            type=float,
            default=120.0,
            help="Seconds to wait for --wait-for before printing anyway (default 120).",
        )
        parser.add_argument("--stay", action="store_true", help="Keep running after printing, until stopped.")

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["wait_for"]
        site = ""
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise CommandError(f"--wait-for needs an http(s) URL like http://127.0.0.1:8000/healthz, not {url!r}.")
            site = f"{parts.scheme}://{parts.netloc}/"
            if not site_answers(url, timeout=options["timeout"]):
                self.stderr.write(f"{url} did not answer within {options['timeout']:g} s; the logins anyway:")
        heading = f"The site is up: sign in at {site} with a demo login." if site else "Demo logins:"
        self.stdout.write(self.style.SUCCESS(heading))
        for line in demo_logins_table():
            self.stdout.write(line)
        self.stdout.flush()
        if options["stay"]:
            _stay_until_stopped()
