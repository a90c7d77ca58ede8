"""Test settings: Genchi's own, with the data folder in a fresh temporary directory."""

import os
import tempfile

os.environ.setdefault("GENCHI_DATA_DIR", tempfile.mkdtemp(prefix="genchi-test-"))

from genchi.settings import *  # noqa: E402,F403

# Argon2 stays the hasher (it is what production uses); only its cost is lowered for speed.
PASSWORD_HASHERS = ["tests.hashers.FastArgon2PasswordHasher"]

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not memory: a worker started by a test (tests/jobs) opens the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}  # noqa: F405

if os.environ.get("GENCHI_TEST_DATABASE_NAME"):
    # This process is a `genchi worker` started by a test, on that test's database.
    DATABASES["default"]["NAME"] = os.environ["GENCHI_TEST_DATABASE_NAME"]  # noqa: F405
else:
    # Unit tests run a job at once, inside the request (the framework's immediate backend);
    # the worker tests switch to the database backend.
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    GENCHI_JOBS_ENQUEUE_ON_COMMIT = False
