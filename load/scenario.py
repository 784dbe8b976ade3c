"""What the virtual users do: the endpoint mix of the load test, per role.

To add an endpoint, write a function `(user) -> None` that calls `user.get(...)` or
`user.post(...)` with the endpoint's name, and give it a weight in `MIX`. Each
virtual user is one person (a PM, an executive or someone in finance) with a
browser session and an API token; it loops over its role's actions, picked at
random by weight, with a think time between them, until the run ends.

A request counts as an error if it raises (refused connection, timeout, …) or if
its status is not the expected one (200, or the redirect after filing a draft).
"""

from __future__ import annotations

import contextlib
import http.client
import random
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

REQUEST_TIMEOUT_SECONDS = 60
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CSRF_COOKIE = re.compile(r"csrftoken=([^;]+)")


@dataclass
class Context:
    """What the virtual users share: the server, codes to open, sponsors to pick."""

    host: str
    port: int
    codes: list[str]  # initiatives every role may see (not drafts)
    marketing_sponsors: list[int]
    it_sponsors: list[int]
    list_pages: int  # pages of the initiative list at its default page size
    api_pages: int  # pages of /api/initiatives/ at its default page size


@dataclass
class Stats:
    """Per endpoint: latencies of the requests that succeeded, and the errors (with a few samples)."""

    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)

    def ok(self, name: str, ms: float) -> None:
        self.latencies_ms.setdefault(name, []).append(ms)

    def error(self, name: str, detail: str) -> None:
        self.errors[name] = self.errors.get(name, 0) + 1
        if len(self.samples) < 20:
            self.samples.append(f"{name}: {detail}")

    def merge(self, other: Stats) -> None:
        for name, values in other.latencies_ms.items():
            self.latencies_ms.setdefault(name, []).extend(values)
        for name, count in other.errors.items():
            self.errors[name] = self.errors.get(name, 0) + count
        self.samples.extend(other.samples[: max(0, 20 - len(self.samples))])


class Failed(Exception):
    """The request did not get the expected answer; already counted as an error."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str


class VirtualUser:
    """One person: a keep-alive HTTP connection, a session cookie, an API token, a role."""

    def __init__(self, *, number: int, role: str, session_key: str, token: str, context: Context, seed: int):
        self.number, self.role, self.context = number, role, context
        self.cookies = {"sessionid": session_key}
        self.token = token
        self.random = random.Random(seed)  # noqa: S311 - picking pages, not secrets
        self.stats = Stats()
        self._connection: http.client.HTTPConnection | None = None

    # --- HTTP ------------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Response:
        """One request on the kept-alive connection; a connection the server closed meanwhile is reopened once."""
        for attempt in (1, 2):
            reused = self._connection is not None
            if self._connection is None:
                self._connection = http.client.HTTPConnection(
                    self.context.host, self.context.port, timeout=REQUEST_TIMEOUT_SECONDS
                )
            try:
                self._connection.request(method, path, body=body, headers=headers)
                reply = self._connection.getresponse()
                payload = reply.read().decode("utf-8", "replace")
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if reused and attempt == 1:
                    continue  # the server closed an idle keep-alive connection: not an error
                raise
            except (OSError, http.client.HTTPException):
                self.close()
                raise
            headers_out = {name.lower(): value for name, value in reply.getheaders()}
            if headers_out.get("connection", "").lower() == "close":
                self.close()
            return Response(reply.status, headers_out, payload)
        raise AssertionError("unreachable")

    def _send(
        self, name: str, method: str, path: str, *, expect: int, body: bytes | None = None, api: bool = False
    ) -> Response:
        headers = {"Host": f"{self.context.host}:{self.context.port}", "User-Agent": "portfolio-load"}
        if api:
            headers.update({"Authorization": f"Token {self.token}", "Accept": "application/json"})
        else:
            headers["Cookie"] = "; ".join(f"{key}={value}" for key, value in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            response = self._request(method, path, body, headers)
        except (OSError, http.client.HTTPException) as error:
            self.stats.error(name, f"{method} {path}: {type(error).__name__}: {error}")
            raise Failed from error
        ms = (time.perf_counter() - started) * 1000
        if response.status != expect:
            snippet = re.sub(r"\s+", " ", response.body[:300])
            self.stats.error(name, f"{method} {path}: {response.status} (expected {expect}) {snippet}")
            raise Failed
        self.stats.ok(name, ms)
        return response

    def get(self, name: str, path: str, *, api: bool = False) -> Response:
        return self._send(name, "GET", path, expect=200, api=api)

    def post_form(self, name: str, path: str, data: dict[str, str], *, expect: int) -> Response:
        return self._send(name, "POST", path, expect=expect, body=urlencode(data).encode())

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(OSError):
                self._connection.close()
            self._connection = None

    # --- picking ---------------------------------------------------------------------------

    def any_code(self) -> str:
        return self.random.choice(self.context.codes)

    def page_number(self, pages: int) -> int:
        """Mostly the first pages, as people read them; now and then a deep one."""
        if self.random.random() < 0.8:
            return self.random.randint(1, min(5, pages))
        return self.random.randint(1, max(1, pages))


# --- the actions -------------------------------------------------------------------------------


def dashboard(user: VirtualUser) -> None:
    user.get("dashboard", "/dashboard/")


def initiative_list(user: VirtualUser) -> None:
    filters = user.random.choice(["", "&lane=fast_lane", "&lane=core_stack", "&status=in_progress", "&health=red"])
    user.get("initiative list", f"/initiatives/?page={user.page_number(user.context.list_pages)}{filters}")


def initiative_detail(user: VirtualUser) -> None:
    user.get("initiative detail", f"/initiatives/{user.any_code()}/")


# The lane assessment's answers that recommend the fast lane, so no justification is needed.
FAST_LANE_ANSWERS = {
    "assessment_customer_facing": "yes",
    "assessment_maturity": "experiment",
    "assessment_quick_time_to_market": "yes",
    "assessment_systems_of_record": "no",
    "assessment_regulated_data": "no",
    "assessment_lifespan": "short",
}


def file_a_draft(user: VirtualUser) -> None:
    """A PM opens the filing form, files a new draft, and lands on its page."""
    form = user.get("filing form (GET)", "/initiatives/new/")
    token = CSRF_INPUT.search(form.body)
    cookie = CSRF_COOKIE.search(form.headers.get("set-cookie", ""))
    if cookie:
        user.cookies["csrftoken"] = cookie.group(1)
    if token is None or "csrftoken" not in user.cookies:
        user.stats.error("filing (POST draft)", "no CSRF token in the filing form")
        raise Failed
    context = user.context
    data = {
        "csrfmiddlewaretoken": token.group(1),
        "title": f"Load test draft {user.number}-{user.random.randint(1, 10**9)}",
        "summary": "Created by the load test (make load); removed when the run ends.",
        "marketing_sponsor": str(user.random.choice(context.marketing_sponsors)),
        "it_sponsor": str(user.random.choice(context.it_sponsors)),
        "start_date": "2026-07-01",
        "end_date": "2026-12-31",
        "marketing_share_pct": str(user.random.choice([25, 50, 60, 75])),
        "estimated_cost": str(user.random.choice([50000, 250000, 500000])),
        "health": "green",
        "lane": "fast_lane",
        "lane_justification": "",
        "platforms": "",
        **FAST_LANE_ANSWERS,
    }
    created = user.post_form("filing (POST draft)", "/initiatives/new/", data, expect=302)
    location = created.headers.get("location", "")
    if location.startswith("/initiatives/"):
        user.get("initiative detail", location)


def api_initiatives(user: VirtualUser) -> None:
    user.get("api: initiatives", f"/api/initiatives/?page={user.page_number(user.context.api_pages)}", api=True)


def api_initiative(user: VirtualUser) -> None:
    user.get("api: initiative", f"/api/initiatives/{user.any_code()}/", api=True)


def api_split_summary(user: VirtualUser) -> None:
    group_by = user.random.choice(["lane", "side", "quarter", "month"])
    user.get("api: split summary", f"/api/split/summary/?group_by={group_by}", api=True)


def api_split(user: VirtualUser) -> None:
    user.get("api: split", "/api/split/", api=True)


def api_expenses(user: VirtualUser) -> None:
    user.get("api: expenses", "/api/expenses/", api=True)


Action = Callable[[VirtualUser], None]

# Role → (action, weight). PMs file and read; executives watch the dashboard; finance reads the split.
MIX: dict[str, list[tuple[Action, int]]] = {
    "pm": [
        (initiative_list, 3),
        (initiative_detail, 4),
        (file_a_draft, 2),
        (api_initiatives, 2),
        (api_initiative, 2),
    ],
    "executive": [
        (dashboard, 4),
        (initiative_list, 2),
        (initiative_detail, 3),
        (api_split_summary, 2),
        (api_initiatives, 1),
    ],
    "finance": [
        (dashboard, 2),
        (initiative_list, 1),
        (initiative_detail, 2),
        (api_split, 2),
        (api_split_summary, 1),
        (api_expenses, 1),
    ],
}
# Of 50 users: half PMs, 30 % executives, 20 % finance.
ROLE_SHARES = (("pm", 0.5), ("executive", 0.3), ("finance", 0.2))


def roles_for(users: int) -> list[str]:
    """The role of each virtual user, in the proportions of ROLE_SHARES."""
    roles: list[str] = []
    for role, share in ROLE_SHARES:
        roles += [role] * round(users * share)
    roles = (roles + ["pm"] * users)[:users]
    return roles


def preflight(user: VirtualUser) -> None:
    """Every action of the user's role once, before the clock starts (also warms the caches)."""
    for action, _ in MIX[user.role]:
        with contextlib.suppress(Failed):
            action(user)


def solo_baseline(user: VirtualUser, *, rounds: int) -> None:
    """Every action of the user's role `rounds` times, one request at a time with no think time.

    What each endpoint costs on an idle server — the baseline the loaded latencies
    are compared with, measured in the same run against the same server.
    """
    for _ in range(rounds):
        for action, _ in MIX[user.role]:
            with contextlib.suppress(Failed):
                action(user)


def run_user(user: VirtualUser, *, until: float, think: tuple[float, float]) -> Stats:
    """Loop until `until` (time.monotonic()): pick an action by weight, do it, think."""
    actions = [action for action, _ in MIX[user.role]]
    weights = [weight for _, weight in MIX[user.role]]
    # Users start spread over the first think time, not all in the same millisecond.
    time.sleep(user.random.uniform(0, think[1]))
    while time.monotonic() < until:
        action = user.random.choices(actions, weights)[0]
        with contextlib.suppress(Failed):
            action(user)
        pause = user.random.uniform(*think)
        if time.monotonic() + pause >= until:
            break
        time.sleep(pause)
    user.close()
    return user.stats


def server_answers(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0
