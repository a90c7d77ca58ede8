"""gunicorn's settings that `genchi serve` does not pass on the command line: its own log
lines (start, worker boots, errors) as JSON lines on standard output, like Genchi's."""

from genchi.core.logs import console_logging

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    **console_logging(json_lines=True),
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
        # Genchi logs each request itself (genchi.core.logs.RequestLogMiddleware).
        "gunicorn.access": {"level": "WARNING", "handlers": ["console"], "propagate": False},
    },
}
