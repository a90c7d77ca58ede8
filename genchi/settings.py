"""Django settings for Genchi.

Everything that differs between installations comes from the environment:
- GENCHI_DATA_DIR: the folder holding all state (database, keys, files); default ./var
- DATABASE_URL: a PostgreSQL URL; default is SQLite inside GENCHI_DATA_DIR
- GENCHI_PRODUCTION=1: production hardening (no debug, secure cookies, HSTS)
- GENCHI_ALLOWED_HOSTS: comma-separated host names for production
- GENCHI_TASKS_BACKEND: the task backend that runs jobs (default: the database; docs/jobs.md)
- GENCHI_AUDIT_DIR: the audit log's anchor files (default: audit/ in the data folder)
- GENCHI_STATIC_ROOT: where `genchi serve` collects static files (default: static/ in the
  data folder; each host its own when several share the data folder)
- GENCHI_STICK_MOUNTED_HERE=1: Genchi runs on the officer's PC, where the USB stick is
  mounted; the export page then also offers writing into the stick's folder (the usual
  set-up, a server, gives the package as a download to save onto the stick)
- GENCHI_FILES_S3_BUCKET and GENCHI_FILES_S3_ENDPOINT (optional _REGION, _PREFIX): keep
  photos and reports in an S3-compatible store the installation runs (docs/deploy.md)
- GENCHI_ROUTING_ENGINE (osrm | valhalla) and GENCHI_ROUTING_URL: a road-network server
  the contractor runs, for the planner's travel times (docs/planning.md); off by default
"""

import contextlib
import os
import secrets
from pathlib import Path

import dj_database_url

from genchi.core import clientip, datafolder, filestore
from genchi.core.logs import console_logging
from genchi.geo.maps import tile_origin

BASE_DIR = Path(__file__).resolve().parent
# Private from the start: what this process creates is 0600 (folders 0700); the folder
# is checked at start-up (genchi.core.checks).
DATA_DIR = datafolder.prepare(Path(os.environ.get("GENCHI_DATA_DIR", "var")).resolve())

PRODUCTION = os.environ.get("GENCHI_PRODUCTION") == "1"
DEBUG = os.environ.get("GENCHI_DEBUG") == "1" and not PRODUCTION
# The reverse proxies whose X-Forwarded-For entries name the client (genchi.core.clientip):
# in production the proxy on this machine (docs/deploy.md); none otherwise.
GENCHI_TRUSTED_PROXIES = clientip.parse_networks(
    os.environ.get(
        "GENCHI_TRUSTED_PROXIES",
        os.environ.get("GENCHI_FORWARDED_ALLOW_IPS", "127.0.0.1,::1") if PRODUCTION else "",
    )
)


def _secret_key() -> str:
    """A per-installation secret kept in the data folder, created on first use."""
    if os.environ.get("GENCHI_SECRET_KEY"):
        return os.environ["GENCHI_SECRET_KEY"]
    path = DATA_DIR / "secret_key"
    if not path.exists():
        # Written whole under a name of its own, then linked into place: a server starting
        # at the same moment on another host sharing the folder never reads a half-written
        # key, and the first one linked is the installation's.
        tmp = DATA_DIR / f".secret_key.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(64))
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = (
    [h.strip() for h in os.environ.get("GENCHI_ALLOWED_HOSTS", "").split(",") if h.strip()]
    if PRODUCTION
    else ["127.0.0.1", "localhost", "testserver", "[::1]"]
)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django.contrib.humanize",
    "genchi.core",
    "genchi.accounts",
    "genchi.parties",
    "genchi.vault",
    "genchi.access",
    "genchi.audit",
    "genchi.compliance",
    "genchi.web",
    "genchi.geo",
    "genchi.intake",
    "genchi.transfer",
    "genchi.fieldwork",
    "genchi.tablet",
    "genchi.planner",
    "genchi.results",
    "genchi.erasure",
    "genchi.evaluation",
    "genchi.backups",
    "genchi.jobs",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "genchi.core.logs.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "genchi.web.middleware.JapaneseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "genchi.audit.middleware.RequestContextMiddleware",
    "genchi.accounts.middleware.IdleTimeoutMiddleware",
    "genchi.web.middleware.MethodNotAllowedPage",
    "genchi.access.middleware.PolicyMiddleware",
]

ROOT_URLCONF = "genchi.urls"
WSGI_APPLICATION = "genchi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "genchi.web.context_processors.navigation",
            ],
        },
    },
]

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            # Created by SQLite on first use, private under the umask `prepare` set (0600);
            # a command that needs no database (`genchi plan solve`) creates none.
            "NAME": DATA_DIR / "genchi.sqlite3",
            # IMMEDIATE serialises writers up front, which the audit chain relies on.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    # secure_delete: a deleted row (a session, a replaced seed) is
                    # overwritten in the file, not left in a free page.
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA secure_delete=ON;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
]

# Sign-in policy (C-S1.3): lockout and idle timeout.
GENCHI_LOCKOUT_THRESHOLD = int(os.environ.get("GENCHI_LOCKOUT_THRESHOLD", "5"))
GENCHI_LOCKOUT_MINUTES = int(os.environ.get("GENCHI_LOCKOUT_MINUTES", "15"))
GENCHI_IDLE_TIMEOUT_SECONDS = int(os.environ.get("GENCHI_IDLE_TIMEOUT_SECONDS", str(15 * 60)))
# Rows are stored under a hash of the key: one read from the database opens no session.
SESSION_ENGINE = "genchi.accounts.sessions"
SESSION_COOKIE_AGE = 12 * 60 * 60  # absolute ceiling; idle timeout is enforced by middleware
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "genchi.web.views.csrf_failure"
OTP_TOTP_ISSUER = "Genchi"
# Our own lockout (above) counts failed codes together with failed passwords, so
# django-otp's separate per-device back-off would only confuse the message shown.
OTP_TOTP_THROTTLE_FACTOR = 0

# Security headers.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = os.environ.get("GENCHI_SSL_REDIRECT", "1") == "1"
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Maps draw over Genchi's own outline of Japan; a tile server (e.g. 地理院タイル or the
# contractor's own) is used only when named here, and only its origin is let through.
# Tablets (D6, C-S2): idle lock, lease, and the networks a tablet may sync from, per
# contract code ("*": every other contract). GENCHI_TABLET_SYNC_NETWORKS in the
# environment reads "c2026=10.1.0.0/16,10.2.0.0/16;*=192.168.10.0/24".
GENCHI_TABLET_IDLE_LOCK_SECONDS = int(os.environ.get("GENCHI_TABLET_IDLE_LOCK_SECONDS", "120"))
GENCHI_TABLET_LEASE_WORKING_DAYS = int(os.environ.get("GENCHI_TABLET_LEASE_WORKING_DAYS", "1"))


def _tablet_networks(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for part in text.split(";"):
        code, _sep, blocks = part.partition("=")
        if code.strip() and blocks.strip():
            found[code.strip()] = [b.strip() for b in blocks.split(",") if b.strip()]
    return found


GENCHI_TABLET_SYNC_NETWORKS = _tablet_networks(
    os.environ.get("GENCHI_TABLET_SYNC_NETWORKS", "")
) or {"*": ["127.0.0.1/32", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}

GENCHI_MAP_TILE_URL = os.environ.get("GENCHI_MAP_TILE_URL", "")
GENCHI_MAP_TILE_ATTRIBUTION = os.environ.get("GENCHI_MAP_TILE_ATTRIBUTION", "")
_TILE_ORIGINS = [tile_origin(GENCHI_MAP_TILE_URL)] if GENCHI_MAP_TILE_URL else []

# The planner's travel times come from straight-line distance unless a road-network server
# the contractor runs is named here (docs/planning.md); Genchi calls none otherwise (D5).
GENCHI_ROUTING_ENGINE = os.environ.get("GENCHI_ROUTING_ENGINE", "").strip().lower()
GENCHI_ROUTING_URL = os.environ.get("GENCHI_ROUTING_URL", "").strip()
GENCHI_ROUTING_TIMEOUT_SECONDS = float(os.environ.get("GENCHI_ROUTING_TIMEOUT_SECONDS", "10"))

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *_TILE_ORIGINS],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Several hosts sharing one data folder each collect the static files on their own disk
# (GENCHI_STATIC_ROOT), never all into the shared folder at once (docs/deploy.md).
STATIC_ROOT = Path(os.environ.get("GENCHI_STATIC_ROOT", DATA_DIR / "static")).resolve()
STATIC_ROOT.mkdir(exist_ok=True, parents=True, mode=0o700)
# Whatever Django's storages write (collected static files included) stays as private
# as the rest of the data folder; by default Django would chmod them 0644.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
try:
    _genchi_files = filestore.storage_settings(os.environ, DATA_DIR)
except filestore.FileStoreSettingsError as exc:
    raise SystemExit(f"genchi: {exc}") from None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
    # Genchi's own files (visit photos under photos/, the ward's result photos under
    # results/, reports), always encrypted by the vault before they are stored: the data
    # folder by default, or an S3-compatible store (genchi/core/filestore.py).
    "genchi_files": _genchi_files,
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# Genchi state under the data folder.
GENCHI_KEY_DIR = DATA_DIR / "keys"
GENCHI_FILES_DIR = DATA_DIR / "files"
# Only on the officer's own PC can Genchi write to the stick itself (docs/handover.md §3).
GENCHI_STICK_MOUNTED_HERE = os.environ.get("GENCHI_STICK_MOUNTED_HERE") == "1"
# The audit log's anchor outside the database (D3): every committed head, keyed, and the
# signed checkpoints of handovers. May point to another disk; see docs/security.md.
GENCHI_AUDIT_DIR = Path(os.environ.get("GENCHI_AUDIT_DIR", DATA_DIR / "audit")).resolve()
MEDIA_ROOT = GENCHI_FILES_DIR

# Long work runs as jobs (D9, docs/jobs.md). The database backend needs nothing else
# installed; `genchi worker` runs the jobs. Another backend (Redis/RQ) is a setting.
TASKS = {
    "default": {
        "BACKEND": os.environ.get("GENCHI_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}
GENCHI_JOBS_ENQUEUE_ON_COMMIT = True
# A running job writes its heartbeat (and progress) this often; one silent for longer
# than STALE_AFTER lost its worker and is shown as interrupted, with a way to restart.
GENCHI_JOB_HEARTBEAT_SECONDS = float(os.environ.get("GENCHI_JOB_HEARTBEAT_SECONDS", "2"))
GENCHI_JOB_STALE_AFTER_SECONDS = float(os.environ.get("GENCHI_JOB_STALE_AFTER_SECONDS", "60"))
# What an interrupted job keeps for a restart (an uploaded package) goes after this long.
GENCHI_JOB_ABANDON_AFTER_SECONDS = float(
    os.environ.get("GENCHI_JOB_ABANDON_AFTER_SECONDS", str(24 * 60 * 60))
)
# Background tasks of an item (a tablet visit to record, results waiting for the plan)
# are enqueued again by the worker's sweeps when the item still waits after the grace
# period, with the wait doubled at each try, and given up after MAX_RETRIES (docs/jobs.md).
GENCHI_SWEEP_INTERVAL_SECONDS = float(os.environ.get("GENCHI_SWEEP_INTERVAL_SECONDS", "30"))
GENCHI_TASK_RETRY_GRACE_SECONDS = float(os.environ.get("GENCHI_TASK_RETRY_GRACE_SECONDS", "120"))
GENCHI_TASK_MAX_RETRIES = int(os.environ.get("GENCHI_TASK_MAX_RETRIES", "5"))
GENCHI_TASK_LOST_AFTER_SECONDS = float(os.environ.get("GENCHI_TASK_LOST_AFTER_SECONDS", "900"))
# How long a process may use its cached data keys before it checks again that no other
# process (on any host) destroyed one or rotated the master key; every request checks at
# its first key in any case (genchi/vault/keys.py).
GENCHI_KEY_RECHECK_SECONDS = float(os.environ.get("GENCHI_KEY_RECHECK_SECONDS", "1"))

# Operational logs (not the audit log): one JSON line per event on standard output in
# production (journald, docker), with one line per request; plain text otherwise.
GENCHI_LOG_FORMAT = os.environ.get("GENCHI_LOG_FORMAT", "json" if PRODUCTION else "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    **console_logging(json_lines=GENCHI_LOG_FORMAT == "json"),
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "genchi.requests": {"level": "INFO" if GENCHI_LOG_FORMAT == "json" else "WARNING"},
        # Django's own request errors are logged once, by genchi.requests.
        "django.request": {"level": "ERROR"},
    },
}
