"""Sweeps: what `genchi worker` runs as it starts and then every
`GENCHI_SWEEP_INTERVAL_SECONDS`, to finish background work that a failed or lost task
left undone.

Each app registers its own sweep in its AppConfig.ready (`register_sweep`): a function
that finds the app's items still waiting for their task after the grace period (its own
models, read by itself) and calls `tickets.retry` for each, which enqueues the task again
at most once at a time, with a growing wait, and gives up after a bounded number of tries.
The jobs layer knows no app: it only runs what was registered.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import connection

from . import tickets

logger = logging.getLogger("genchi.jobs")

_sweeps: dict[str, Callable[[], int]] = {}


def register_sweep(name: str, sweep: Callable[[], int]) -> None:
    """Run `sweep()` with the worker's sweeps; it returns how many tasks it enqueued again."""
    _sweeps[name] = sweep


def registered() -> list[str]:
    return sorted(_sweeps)


def run_sweeps() -> dict[str, int]:
    """Every registered sweep once; a sweep that fails is logged and the others run."""
    counts: dict[str, int] = {}
    for name, sweep in sorted(_sweeps.items()):
        try:
            counts[name] = sweep()
        except Exception:  # a busy database (SQLite's writer lock), an app's bug: next round
            logger.exception("sweep %s failed; it runs again at the next round", name)
            continue
        if counts[name]:
            logger.info("sweep %s: %d task(s) enqueued again", name, counts[name])
    try:
        tickets.prune()
    except Exception:
        logger.debug("pruning task tickets skipped", exc_info=True)
    return counts


def interval() -> float:
    return float(settings.GENCHI_SWEEP_INTERVAL_SECONDS)


def start(every: float | None = None) -> threading.Event:
    """Run the sweeps from a side thread (its own database connection) every `every`
    seconds until the returned event is set; the worker's loop takes tasks meanwhile."""
    stop = threading.Event()
    pause = interval() if every is None else every

    def loop() -> None:
        while not stop.wait(pause):
            try:
                run_sweeps()
            finally:
                connection.close()

    threading.Thread(target=loop, name="genchi-sweeps", daemon=True).start()
    return stop
