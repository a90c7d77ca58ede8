"""Test settings: Genchi's own, with the data folder in a fresh temporary directory."""

import os
import tempfile

os.environ.setdefault("GENCHI_DATA_DIR", tempfile.mkdtemp(prefix="genchi-test-"))

from genchi.settings import *  # noqa: E402,F403

# Argon2 stays the hasher (it is what production uses); only its cost is lowered for speed.
PASSWORD_HASHERS = ["tests.hashers.FastArgon2PasswordHasher"]
