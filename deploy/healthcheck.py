"""The web container's health check: GET /healthz on this container's gunicorn (stdlib only, no Django).

Exit 0 on 200, 1 otherwise (Docker's HEALTHCHECK, compose.yaml). The request names the first
host of ALLOWED_HOSTS, so Django does not refuse it as a disallowed host, and says it came over
https (X-Forwarded-Proto, as the proxy would): /healthz is exempt from the HTTPS redirect anyway.
"""

from __future__ import annotations

import http.client
import os
import sys


def host_header(allowed_hosts: str) -> str:
    """The first usable name of ALLOWED_HOSTS ("*" or ".example.com" → a name Django accepts)."""
    for host in (part.strip() for part in allowed_hosts.split(",")):
        if not host:
            continue
        if host == "*":
            return "localhost"
        return "healthcheck" + host if host.startswith(".") else host
    return "localhost"


def main() -> int:
    port = int(os.environ.get("PORT", "8000"))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(
            "GET",
            "/healthz",
            headers={"Host": host_header(os.environ.get("ALLOWED_HOSTS", "")), "X-Forwarded-Proto": "https"},
        )
        response = connection.getresponse()
        body = response.read(2000).decode("utf-8", "replace")
    except OSError as error:
        print(f"healthz: no answer on port {port}: {error}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    if response.status != 200:
        print(f"healthz: {response.status} {body}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
