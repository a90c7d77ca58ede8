"""`genchi worker`: run the jobs the web pages enqueue (imports, packages).

It wraps django-tasks-db's worker: it takes one job at a time from the database (on
PostgreSQL several workers may run side by side: each takes a job with
`SELECT … FOR UPDATE SKIP LOCKED`), stops cleanly on SIGTERM or Ctrl+C (the job under
way finishes first; a second signal stops it at once, and the job is then shown as
interrupted), and logs which jobs it takes: task ids, job rows and outcomes, never data.
As it starts, and then every `GENCHI_SWEEP_INTERVAL_SECONDS` from a side thread, it runs
the apps' sweeps (`genchi.jobs.sweeps`): tasks that failed or were lost are enqueued again.
This is the one module of Genchi that names the database backend.
"""

from __future__ import annotations

import logging
import os

from django.core.management import call_command
from django.utils.crypto import get_random_string
from django_tasks import task_backends
from django_tasks_db import DatabaseBackend

from genchi.core.commands import CommandError, GenchiCommand
from genchi.core.storedfiles import sweep_orphans
from genchi.jobs import files, sweeps, tickets


class Command(GenchiCommand):
    help = "ジョブ(取込・パッケージの書き出しと取り込み)を処理するワーカーを起動します。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval", type=float, default=1.0, help="ジョブがないときに待つ秒数(既定 1)"
        )
        parser.add_argument(
            "--batch", action="store_true", help="待っているジョブをすべて処理したら終了する"
        )
        parser.add_argument(
            "--max-tasks", type=int, default=None, help="この数を処理したら終了する"
        )
        parser.add_argument(
            "--retry-given-up",
            action="store_true",
            help="再試行をあきらめたバックグラウンド処理をもう一度試すようにして終了する",
        )
        parser.add_argument("--worker-id", default="", help="ワーカーの名前(既定: 自動)")
        parser.add_argument(
            "--nice",
            type=int,
            default=0,
            help="CPU の優先度を下げる量(0〜19。genchi serve は 10: 画面の応答を先にする)",
        )

    def run(
        self,
        *args,
        interval=1.0,
        batch=False,
        max_tasks=None,
        worker_id="",
        nice=0,
        retry_given_up=False,
        **options,
    ):
        if retry_given_up:
            resumed = tickets.resume_given_up()
            self.stdout.write(f"再試行を再開しました: {resumed} 件(次の巡回で処理します)")
            return
        if nice:
            # Background work (photos of synced visits, imports, packages) yields the CPU
            # to the pages and syncs people are waiting for.
            os.nice(max(0, min(19, nice)))
        backend = task_backends["default"]
        if not isinstance(backend, DatabaseBackend):
            raise CommandError(
                f"設定 TASKS のバックエンド({type(backend).__name__})はデータベースではありません。"
                "そのバックエンドのワーカーを使ってください(docs/jobs.md)。"
            )
        jobs_logger = logging.getLogger("genchi.jobs")
        if not jobs_logger.handlers:
            jobs_logger.addHandler(logging.StreamHandler(self.stdout))
            jobs_logger.propagate = False
        jobs_logger.setLevel(logging.INFO if options.get("verbosity", 1) else logging.WARNING)
        files.sweep()
        sweep_orphans()  # stored files whose rows a rolled-back transaction never kept
        # Items whose task failed or was lost (a visit to record, results for the plan):
        # now, then every GENCHI_SWEEP_INTERVAL_SECONDS beside the loop taking tasks.
        sweeps.run_sweeps()
        stop_sweeping = None if batch else sweeps.start()
        worker_id = worker_id or f"genchi-{get_random_string(12)}"
        self.stdout.write(f"ワーカーを起動します: {worker_id}(Ctrl+C で停止)")
        self.stdout.flush()
        try:
            self._work(interval, batch, max_tasks, worker_id, options)
        finally:
            if stop_sweeping is not None:
                stop_sweeping.set()

    def _work(self, interval, batch, max_tasks, worker_id, options) -> None:
        call_command(
            "db_worker",
            queue_name="*",
            interval=interval,
            batch=batch,
            max_tasks=max_tasks,
            worker_id=worker_id[:64],
            reload=False,
            startup_delay=False,
            verbosity=options.get("verbosity", 1),
            stdout=self.stdout,
            stderr=self.stderr,
        )
