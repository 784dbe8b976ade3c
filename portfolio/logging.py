"""Log records with the request id, as plain text or one JSON object per line (`LOG_FORMAT`).

`RequestIdFilter` sits on the handlers (settings.LOGGING), so every record that reaches
them carries `request_id`, whichever logger wrote it. `StaticRequestsFilter` keeps the
development server's log to the requests worth reading. `JsonFormatter` is for production
log shippers: one object per line with the time, level, logger, message, request id,
any `extra=` fields and the traceback.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from portfolio.middleware import current_request_id

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys() | {"message", "asctime", "request_id"}
)


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request being served (`-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class StaticRequestsFilter(logging.Filter):
    """Leaves out the development server's lines for static files served fine (`"GET /static/… HTTP/1.1" 200`).

    runserver logs every request on `django.server`, and each page brings a dozen
    static files along, which buried the requests worth reading in `make run`. A
    static file that fails (4xx, 5xx) is still logged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is None or status >= 400 or not isinstance(record.args, tuple) or not record.args:
            return True
        request_line = str(record.args[0]).split()  # method, path, protocol
        return not (len(request_line) > 1 and request_line[1].startswith(settings.STATIC_URL))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `time`, `level`, `logger`, `message`, `request_id`, extras, `exception`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", current_request_id()),
        }
        for key, value in record.__dict__.items():
            if key in _STANDARD_ATTRIBUTES or key.startswith("_"):
                continue
            if key == "request":  # django.request passes the HttpRequest itself: keep what identifies it
                if hasattr(value, "method") and hasattr(value, "path"):
                    entry.setdefault("method", value.method)
                    entry.setdefault("path", value.path)
                continue
            entry.setdefault(key, value)  # an extra never hides the fields above
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
