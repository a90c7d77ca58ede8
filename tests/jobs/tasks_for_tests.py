"""Keyed tasks for the tests of `genchi.jobs.tickets` (a task must live in a module)."""

from __future__ import annotations

from django_tasks import task

from genchi.jobs import tickets

# What the tasks did, and how many of the next runs of `flaky` fail.
done: list[str] = []
failures = {"left": 0}


@task()
def flaky(item: str) -> None:
    with tickets.running(flaky, f"item:{item}"):
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("a failure of the test")
        done.append(item)
