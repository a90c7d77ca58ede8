"""The job layer: long work (imports, packages; later reports, sync, erasure) runs as jobs.

A job is a task of Django's tasks framework (the `django-tasks` backport) that works on a
row of its own: the row says what was asked and by whom, and carries the job's state,
progress, heartbeat and outcome (`models.JobRow`), which the page that polls reads.
`runner` enqueues a task for a row after the transaction commits and runs it in a worker
(claim, heartbeat, progress, a fenced finish); `outcomes` marks a job failed, or
interrupted when its worker died, each with its audit entry; `files` keeps what waits
for the worker in a private folder; `tickets` keeps the tasks of an item enqueued under a
key (queued once while waiting, retried with backoff, given up after a bound) and
`sweeps` runs what each app registered to retry them;
`genchi worker` runs the worker and the sweeps. Which backend runs tasks is the `TASKS` setting: the
database backend by default, so nothing else has to be installed (docs/jobs.md).
"""
