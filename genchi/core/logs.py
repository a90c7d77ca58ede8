"""Operational logs as one JSON line per event on standard output (journald, docker).

Not the audit log (genchi.audit, in the database, chained): these lines are for the people
who run the server, so they hold no personal data — a request is its method, its path
without the query string (a search may carry a name), its status and its duration, and the
acting person's id, never a name.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time

REQUEST_LOGGER = logging.getLogger("genchi.requests")
# Attributes every LogRecord has; anything else was passed in `extra=` and is kept.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def console_logging(*, json_lines: bool) -> dict:
    """The formatters and the handler of a logging configuration that writes to standard
    output, as JSON lines or as plain text (settings.LOGGING, gunicorn's logconfig_dict)."""
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stdout"}
    if json_lines:
        handler["formatter"] = "json"
    return {
        "formatters": {"json": {"()": "genchi.core.logs.JsonLineFormatter"}},
        "handlers": {"console": handler},
    }


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(
            {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        )
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class RequestLogMiddleware:
    """One log line per request: what an operator needs to see load and errors."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        user = getattr(request, "user", None)
        REQUEST_LOGGER.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path[:300],
                "status": response.status_code,
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "user_id": user.pk if user is not None and user.is_authenticated else None,
            },
        )
        return response
