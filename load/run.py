"""`make load` → `python -m load`: 50 concurrent users for 60 s against gunicorn, PostgreSQL and Redis.

1. The bench database (bench/database.py: `DATABASE_URL` if it is PostgreSQL, else
   portfolio_bench; 20,000 initiatives and 1,000,000 expenses, seeded once) with its
   split recomputed, so the dashboard and the split API have data.
2. Production settings (DEBUG off, manifest static files, secure cookies), a random
   SECRET_KEY, plain http on 127.0.0.1 (`SECURE_SSL_REDIRECT=False`), the Redis
   cache (`REDIS_URL`, default redis://127.0.0.1:6379/1), static files collected.
3. Virtual users — load users of each role (load.pm.01 …), created once — with a
   session made directly in the session store (no login form: the secure session
   cookie is sent as a header) and an API token.
4. gunicorn (`-w 4 --threads 4` unless told otherwise) on 127.0.0.1; every action
   once as a preflight; then the users run the mix of load/scenario.py for the
   duration; the drafts they filed are deleted at the end.
5. The baseline, measured in the same run against the same server just before the
   load: one user of each role at a time requests each of its endpoints
   `--baseline-rounds` times with no think time (the idle-server latency).

Prints requests per second, p50/p95/p99 per endpoint beside the idle-server p50 and
the error count, and writes the same table into docs/BENCHMARKS.md (between the
load markers; `--no-docs` to skip); exits 1 if there was any error.

    .venv/bin/python -m load [--users 50] [--duration 60] [--think 0.5 2] [--workers 4] [--threads 4]
"""

from __future__ import annotations

import argparse
import math
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from bench.database import ROOT, connect, ensure_bench_database, manage

from . import scenario

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"
LOAD_USER_PREFIX = "load."
SERVER_START_SECONDS = 60
DOC_START, DOC_END = "<!-- load:results:start -->", "<!-- load:results:end -->"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="concurrent virtual users (default 50)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    parser.add_argument(
        "--think", type=float, nargs=2, default=(0.5, 2.0), metavar=("MIN", "MAX"), help="think time, s"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default 4)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument("--port", type=int, default=0, help="port of the server (default: a free one)")
    parser.add_argument(
        "--baseline-rounds", type=int, default=5, help="idle-server requests per endpoint and role (default 5)"
    )
    parser.add_argument("--no-docs", action="store_true", help="print the report only")
    return parser.parse_args(argv)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- preparing ---------------------------------------------------------------------------------


def ensure_split(url: str) -> None:
    """The dashboard and the split API read the latest successful recompute: run one if there is none."""
    with connect(url) as connection, connection.cursor() as cursor:
        # seed_demo's past runs (trigger "seed") are history only: they wrote no split table.
        cursor.execute("SELECT count(*) FROM budgets_splitrun WHERE status = 'succeeded' AND trigger <> 'seed'")
        if cursor.fetchone()[0]:
            return
    print("load: no successful recompute yet: running recompute_split", flush=True)
    manage("recompute_split", url=url, quiet=True)


def server_environment(database_url: str, secret_key: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portfolio.settings.production",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secret_key,
        "DEBUG": "False",
        "SECURE_SSL_REDIRECT": "False",  # plain http on 127.0.0.1; everything else as in production
        "ALLOWED_HOSTS": "127.0.0.1",
        "REDIS_URL": os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def setup_django(env: dict[str, str]) -> None:
    """This process uses the server's settings (same SECRET_KEY: the sessions it makes must be valid there)."""
    os.environ.update(env)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare(users: int) -> tuple[list[tuple[str, str, str]], dict]:
    """Load users of each role with a session and a token; the data the scenario picks from."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group, User
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from initiatives.models import Initiative, Profile

    call_command("collectstatic", "--noinput", verbosity=0)
    cleanup()  # what an interrupted run may have left
    credentials = []
    counters: dict[str, int] = {}
    for role in scenario.roles_for(users):
        counters[role] = counters.get(role, 0) + 1
        number = counters[role]
        side = "" if role == "finance" else ("marketing" if number % 2 else "it")  # PMs and executives alternate
        user, _ = User.objects.get_or_create(
            username=f"{LOAD_USER_PREFIX}{role}.{number:02d}",
            defaults={"first_name": "Load", "last_name": f"{role.title()} {number}", "email": "load@example.com"},
        )
        user.groups.set([Group.objects.get_or_create(name=role)[0]])
        Profile.objects.update_or_create(user=user, defaults={"side": side})
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        token, _ = Token.objects.get_or_create(user=user)
        credentials.append((role, session.session_key, token.key))

    visible = Initiative.objects.exclude(status="draft")
    codes = list(visible.order_by("?").values_list("code", flat=True)[:2000])

    def executives(side: str) -> list[int]:
        return list(
            User.objects.filter(groups__name="executive", profile__side=side, is_active=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )

    # Pages everyone can reach: a PM does not see other PMs' drafts, and the API answers 404 past the end.
    total = visible.count()
    data = {
        "codes": codes,
        "marketing_sponsors": executives("marketing"),
        "it_sponsors": executives("it"),
        "list_pages": max(1, math.ceil(total / 25)),
        "api_pages": max(1, math.ceil(total / 50)),
    }
    if not (codes and data["marketing_sponsors"] and data["it_sponsors"]):
        raise SystemExit("load: the database has no initiatives or no executives to sponsor drafts")
    return credentials, data


def cleanup(session_keys: Iterable[str] = ()) -> int:
    """Delete what the load users filed (drafts: they do nothing else) and their sessions; the draft count."""
    from django.contrib.sessions.models import Session

    from initiatives.models import Initiative

    drafts = Initiative.objects.filter(owner__username__startswith=LOAD_USER_PREFIX, status="draft")
    ids = list(drafts.values_list("pk", flat=True))
    drafts.delete()
    Initiative.history.filter(id__in=ids).delete()
    Session.objects.filter(session_key__in=list(session_keys)).delete()
    return len(ids)


# --- the server --------------------------------------------------------------------------------


def start_server(env: dict[str, str], port: int, workers: int, threads: int, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "portfolio.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--threads", str(threads), "--keep-alive", "5", "--timeout", "120"]
    with open(log, "w") as output:
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + SERVER_START_SECONDS
    while not scenario.server_answers("127.0.0.1", port):
        if server.poll() is not None or time.monotonic() > deadline:
            stop_server(server)
            raise SystemExit(f"load: gunicorn did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return server


def stop_server(server: subprocess.Popen) -> None:
    import signal

    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)


# --- the run and its report ----------------------------------------------------------------------


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile of `samples` (pct in 0–100)."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def report(stats: scenario.Stats, baseline: scenario.Stats, seconds: float, args: argparse.Namespace) -> str:
    """The table: per endpoint, the load's figures beside the idle-server p50 (baseline) and their ratio."""
    names = sorted(set(stats.latencies_ms) | set(stats.errors))
    every = [ms for values in stats.latencies_ms.values() for ms in values]
    every_idle = [ms for values in baseline.latencies_ms.values() for ms in values]
    errors = sum(stats.errors.values())
    total = len(every) + errors
    header = (
        f"{'endpoint':<24}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'errors':>8}{'idle p50':>10}{'p50/idle':>10}"
    )

    def row(name: str, values: list[float], failed: int, idle: list[float]) -> str:
        count = len(values) + failed
        idle_p50 = percentile(idle, 50) if idle else None
        idle_cells = f"{idle_p50:>10.0f}" if idle_p50 else f"{'—':>10}"
        if not values:
            dashes = f"{'—':>9}" * 4
            return f"{name:<24}{count:>9}{count / seconds:>8.1f}{dashes}{failed:>8}{idle_cells}{'—':>10}"
        p50 = percentile(values, 50)
        ratio = f"{p50 / idle_p50:>9.1f}×" if idle_p50 else f"{'—':>10}"
        return (
            f"{name:<24}{count:>9}{count / seconds:>8.1f}{p50:>9.0f}"
            f"{percentile(values, 95):>9.0f}{percentile(values, 99):>9.0f}{max(values):>9.0f}{failed:>8}"
            f"{idle_cells}{ratio}"
        )

    lines = [
        f"load: {args.users} users, {seconds:.0f} s, think {args.think[0]:g}–{args.think[1]:g} s, "
        f"gunicorn {args.workers} workers × {args.threads} threads",
        header,
        "-" * len(header),
    ]
    for name in names:
        lines.append(
            row(name, stats.latencies_ms.get(name, []), stats.errors.get(name, 0), baseline.latencies_ms.get(name, []))
        )
    lines += ["-" * len(header), row("all", every, errors, every_idle), ""]
    lines.append(f"requests per second: {total / seconds:.1f}   errors: {errors}")
    lines += [f"  error: {sample}" for sample in stats.samples]
    return "\n".join(lines)


def write_doc(table: str, args: argparse.Namespace) -> None:
    """The latest `make load` table in docs/BENCHMARKS.md, between the load markers (text around them kept)."""
    import datetime as dt

    from bench.__main__ import DOC, machine

    about = machine()
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_average = os.getloadavg()[0]
    body = (
        f"{DOC_START}\n"
        f"Latest run: {date} — {about['cores']} cores, {about['memory_gb']} GB RAM, {about['cpu']}; "
        f"PostgreSQL {about['postgresql']}; load average (1 min) when it ended: {load_average:.2f}. "
        f"The baseline (`idle p50`) is measured in the same run against the same server just before the "
        f"load: one user at a time, {args.baseline_rounds} requests per endpoint and role, no think time.\n\n"
        f"```\n{table}\n```\n{DOC_END}"
    )
    text = DOC.read_text()
    if DOC_START in text and DOC_END in text:
        before, rest = text.split(DOC_START, 1)
        _, after = rest.split(DOC_END, 1)
        text = f"{before}{body}{after}"
    else:
        text = text.rstrip() + f"\n\n## Load (`make load`)\n\n{body}\n"
    DOC.write_text(text)
    print(f"load: updated {DOC.relative_to(ROOT)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database_url = ensure_bench_database()
    ensure_split(database_url)
    env = server_environment(database_url, secret_key=secrets.token_urlsafe(50))
    setup_django(env)
    credentials, data = prepare(args.users)
    port = args.port or free_port()
    context = scenario.Context(host="127.0.0.1", port=port, **data)
    users = [
        scenario.VirtualUser(
            number=number, role=role, session_key=session_key, token=token, context=context, seed=number
        )
        for number, (role, session_key, token) in enumerate(credentials, start=1)
    ]

    log = Path(tempfile.gettempdir()) / f"portfolio-load-gunicorn-{port}.log"
    print(f"load: gunicorn on 127.0.0.1:{port} (log: {log})", flush=True)
    server = start_server(env, port, args.workers, args.threads, log)
    try:
        warmup = scenario.Stats()
        for role in scenario.MIX:
            user = next(u for u in users if u.role == role)
            scenario.preflight(user)
            warmup.merge(user.stats)
            user.stats = scenario.Stats()
            user.close()
        if warmup.errors:
            print("load: the preflight failed, not starting the run:")
            for sample in warmup.samples:
                print(f"  {sample}")
            return 1

        print(f"load: baseline: each endpoint {args.baseline_rounds} times, one request at a time …", flush=True)
        baseline = scenario.Stats()
        for role in scenario.MIX:
            user = next(u for u in users if u.role == role)
            scenario.solo_baseline(user, rounds=args.baseline_rounds)
            baseline.merge(user.stats)
            user.stats = scenario.Stats()
            user.close()

        print(f"load: {args.users} users for {args.duration:g} s …", flush=True)
        started = time.monotonic()
        until = started + args.duration
        results: list[scenario.Stats] = []
        lock = threading.Lock()

        def drive(user: scenario.VirtualUser) -> None:
            try:
                stats = scenario.run_user(user, until=until, think=tuple(args.think))
            except Exception as error:  # a bug in the scenario must show, not shrink the run silently
                stats = user.stats
                stats.error("(virtual user crashed)", f"{type(error).__name__}: {error}")
            with lock:
                results.append(stats)

        threads = [threading.Thread(target=drive, args=(user,), daemon=True) for user in users]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(args.duration + scenario.REQUEST_TIMEOUT_SECONDS + 30)
        seconds = time.monotonic() - started
    finally:
        stop_server(server)
        removed = cleanup([session_key for _, session_key, _ in credentials])
        print(f"load: server stopped; {removed} drafts filed by the load users removed", flush=True)

    stats = scenario.Stats()
    for result in results:
        stats.merge(result)
    table = report(stats, baseline, seconds, args)
    print(f"\n{table}", flush=True)
    errors = sum(stats.errors.values()) + sum(baseline.errors.values())
    if baseline.errors:
        print("load: the baseline had errors:\n  " + "\n  ".join(baseline.samples))
    if errors:
        print(f"\nserver log (last lines): {log}\n{log.read_text(errors='replace')[-3000:]}")
    if not args.no_docs:
        write_doc(table, args)
    return 1 if errors or not stats.latencies_ms else 0
