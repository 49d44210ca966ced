"""OneWindow settings: one module, read from the environment (see docs/configuration.md).

With no variable set the platform runs on an embedded SQLite database under ``var/`` with a generated
secret key kept in ``var/secret_key``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url

from config.env import env_bool, env_int, env_list, env_str, secret_key_from_file

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("ONEWINDOW_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# development | demo | test | production
ONEWINDOW_ENV = env_str("ONEWINDOW_ENV", "development")
if ONEWINDOW_ENV not in {"development", "demo", "test", "production"}:
    message = f"ONEWINDOW_ENV must be development, demo, test or production, got {ONEWINDOW_ENV!r}"
    raise ValueError(message)
PRODUCTION = ONEWINDOW_ENV == "production"

DEBUG = env_bool("ONEWINDOW_DEBUG", default=False)
SECRET_KEY = env_str("ONEWINDOW_SECRET_KEY") or (
    "" if PRODUCTION else secret_key_from_file(VAR_DIR / "secret_key")
)
if PRODUCTION and not SECRET_KEY:
    message = "ONEWINDOW_SECRET_KEY (or ONEWINDOW_SECRET_KEY_FILE) is required in production"
    raise ValueError(message)

ALLOWED_HOSTS = env_list("ONEWINDOW_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("ONEWINDOW_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "onewindow.core",
    "onewindow.audit",
    "onewindow.organisations",
    "onewindow.accounts",
    "onewindow.workcalendar",
    "onewindow.forms",
    "onewindow.services",
    "onewindow.materials",
    "onewindow.applications",
    "onewindow.workflow",
    "onewindow.licences",
    "onewindow.seals",
    "onewindow.outbox",
    "onewindow.registry",
    "onewindow.catalog",
    "onewindow.pubsub",
    "onewindow.messagelog",
    "onewindow.exchange",
    "onewindow.federation",
    "onewindow.notifications",
    "onewindow.web",
    "onewindow.demo",
]

MIDDLEWARE = [
    "onewindow.core.middleware.RequestContextMiddleware",
    "onewindow.core.middleware.RejectNulCharactersMiddleware",
    "onewindow.core.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "onewindow.core.middleware.RequestUserContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "onewindow.accounts.middleware.StaffTwoFactorMiddleware",
    # Must be last: turns repeated login failures into a lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES: list[dict[str, Any]] = [
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
                "onewindow.web.context_processors.platform",
                "onewindow.workcalendar.context_processors.calendar_warnings",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "onewindow.sqlite3"
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES: dict[str, Any] = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("ONEWINDOW_DB_CONN_MAX_AGE", default=60),
            conn_health_checks=True,
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            "OPTIONS": {
                # Writers take the lock at BEGIN so two transactions never deadlock on upgrade;
                # WAL lets readers proceed while one writer commits (see docs/architecture.md).
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                    "PRAGMA busy_timeout=20000;"
                ),
            },
            "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")}
            if env_bool("ONEWINDOW_TEST_SQLITE_FILE", default=False)
            else {},
            # Kept open like PostgreSQL's: opening a file database (and its PRAGMAs) on every request, and
            # the WAL checkpoint when the last connection closes, cost more than a signed exchange call.
            "CONN_MAX_AGE": env_int("ONEWINDOW_DB_CONN_MAX_AGE", default=60),
        }
    }
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Identity -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:home"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if ONEWINDOW_ENV == "test":
    # Tests create hundreds of users; argon2 itself is exercised by a dedicated test.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
PASSWORD_MIN_LENGTH = env_int("ONEWINDOW_PASSWORD_MIN_LENGTH", default=10)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "onewindow.accounts.passwords.CharacterClassValidator"},
]
PASSWORD_MAX_AGE_DAYS = env_int("ONEWINDOW_PASSWORD_MAX_AGE_DAYS", default=90)

SESSION_COOKIE_AGE = env_int("ONEWINDOW_SESSION_TIMEOUT_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True  # idle timeout: each request extends the session
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("ONEWINDOW_SECURE_COOKIES", default=PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
API_TOKEN_TTL_SECONDS = env_int("ONEWINDOW_API_TOKEN_TTL_SECONDS", default=8 * 3600)

AXES_FAILURE_LIMIT = env_int("ONEWINDOW_LOCKOUT_FAILURES", default=5)
AXES_COOLOFF_TIME = env_int("ONEWINDOW_LOCKOUT_MINUTES", default=30) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "onewindow.accounts.views.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False

OTP_TOTP_ISSUER = env_str("ONEWINDOW_OTP_ISSUER", "OneWindow")

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "onewindow" / "locale"]
TIME_ZONE = env_str("ONEWINDOW_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("ONEWINDOW_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_ROOT = Path(env_str("ONEWINDOW_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Materials and documents go to an S3-compatible object store when a bucket is named (MinIO, Ceph, OSS...).
S3_BUCKET = env_str("ONEWINDOW_S3_BUCKET")
if S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env_str("ONEWINDOW_S3_ENDPOINT_URL") or None,
            "region_name": env_str("ONEWINDOW_S3_REGION") or None,
            "access_key": env_str("ONEWINDOW_S3_ACCESS_KEY_ID") or None,
            "secret_key": env_str("ONEWINDOW_S3_SECRET_ACCESS_KEY") or None,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- Security headers -----------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("ONEWINDOW_SSL_REDIRECT", default=False)
# Probes and scrapers talk plain HTTP to the web server itself, behind the TLS-terminating proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("ONEWINDOW_HSTS_SECONDS", default=0)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("ONEWINDOW_BEHIND_PROXY", default=False) else None
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Background work ------------------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend"
        if ONEWINDOW_ENV == "test" and not env_bool("ONEWINDOW_TEST_DB_TASKS", default=False)
        else "django_tasks_db.DatabaseBackend",
    }
}
WORKER_HEARTBEAT_MAX_AGE_SECONDS = env_int("ONEWINDOW_WORKER_HEARTBEAT_MAX_AGE", default=120)
WORKER_HEARTBEAT_INTERVAL_SECONDS = env_int("ONEWINDOW_WORKER_HEARTBEAT_INTERVAL", default=30)
TASK_RESULT_RETENTION_DAYS = env_int("ONEWINDOW_TASK_RESULT_RETENTION_DAYS", default=14)

# --- Intake: materials, applications, notifications ---------------------------------------------
# Largest accepted upload; larger files are refused before they are read in full.
UPLOAD_MAX_BYTES = env_int("ONEWINDOW_UPLOAD_MAX_BYTES", default=20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# ClamAV daemon for uploads: "tcp://host:3310" or "unix:///run/clamav/clamd.ctl"; unset = no scan.
CLAMD = env_str("ONEWINDOW_CLAMD")
CLAMD_TIMEOUT_SECONDS = env_int("ONEWINDOW_CLAMD_TIMEOUT", default=30)
# The 6-digit division code that starts every tracking number (docs/applications.md).
TRACKING_DIVISION_CODE = env_str("ONEWINDOW_DIVISION_CODE", "350100")
# Administrative Licensing Law Art. 32: no notice within this many working days = accepted on receipt.
ACCEPTANCE_DEEMED_DAYS = env_int("ONEWINDOW_ACCEPTANCE_DEEMED_DAYS", default=5)
# Working days a department has to follow up a bad review (local rule, 5–15 seen).
REVIEW_FOLLOW_UP_DAYS = env_int("ONEWINDOW_REVIEW_FOLLOW_UP_DAYS", default=10)
# Pre-fill sources, tried in order (dotted paths of classes with the onewindow.forms.prefill interface).
PREFILL_SOURCES = env_list(
    "ONEWINDOW_PREFILL_SOURCES",
    default=[
        "onewindow.forms.prefill.IdentityPrefillSource",
        "onewindow.registry.prefill.RegistryPrefillSource",
    ],
)
# SMS: a dotted path to a sender class (onewindow.notifications.sms); the default only logs.
SMS_SENDER = env_str("ONEWINDOW_SMS_SENDER", "onewindow.notifications.sms.LogSmsSender")
EMAIL_HOST = env_str("ONEWINDOW_EMAIL_HOST")
EMAIL_PORT = env_int("ONEWINDOW_EMAIL_PORT", default=25)
EMAIL_HOST_USER = env_str("ONEWINDOW_EMAIL_USER")
EMAIL_HOST_PASSWORD = env_str("ONEWINDOW_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("ONEWINDOW_EMAIL_TLS", default=False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("ONEWINDOW_EMAIL_FROM", "OneWindow <noreply@onewindow.invalid>")
# Without a mail server, messages are written to var/mail/ (one file each) so nothing is lost.
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = str(VAR_DIR / "mail")

# --- Operations -----------------------------------------------------------------------------------
METRICS_ALLOWED_IPS = env_list("ONEWINDOW_METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
METRICS_TOKEN = env_str("ONEWINDOW_METRICS_TOKEN")
# How many proxies in front append to X-Forwarded-For (read from the right; see core/middleware.py).
TRUSTED_PROXY_HOPS = env_int("ONEWINDOW_TRUSTED_PROXY_HOPS", default=1)
AUDIT_RETENTION_DAYS = max(180, env_int("ONEWINDOW_AUDIT_RETENTION_DAYS", default=180))
# Head anchors of the audit chain (one JSON line each); ship this file off-host (docs/audit.md).
AUDIT_ANCHOR_FILE = Path(env_str("ONEWINDOW_AUDIT_ANCHOR_FILE", str(VAR_DIR / "audit-anchors.jsonl")))
AUDIT_EXPORT_MAX_ROWS = env_int("ONEWINDOW_AUDIT_EXPORT_MAX_ROWS", default=100_000)
LOG_LEVEL = env_str("ONEWINDOW_LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("ONEWINDOW_LOG_FORMAT", "json")  # json | console

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {
            "()": "onewindow.core.logging.StructuredFormatter",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "structured"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # SpiffWorkflow logs every task state change at INFO; the case-event table records what matters.
        "spiff": {"level": "WARNING"},
        # WeasyPrint logs every rendering step of every PDF (receipts, licences) at INFO.
        "weasyprint": {"level": "WARNING"},
    },
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "onewindow",
    }
}

# Lockout is by account, not by address: a service hall or village point puts many clerks and residents
# behind one NAT address, and locking the address would shut the whole hall out.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# Back office (docs/workflow.md): a task's light turns yellow when at most this many working days are left.
WORKFLOW_YELLOW_DAYS = env_int("ONEWINDOW_WORKFLOW_YELLOW_DAYS", default=2)
# Working days a consulted department has to give its opinion.
WORKFLOW_CONSULT_DAYS = env_int("ONEWINDOW_WORKFLOW_CONSULT_DAYS", default=5)


# --- Base registries: personal data encrypted at rest (docs/registry.md, "Protection — 数据保护") ---------
def _registry_keys() -> tuple[dict[str, bytes], bytes, bool]:
    """The registry's encryption keys (id -> 32 bytes, current first), its blind-index key, and whether
    both are the development default derived from ``SECRET_KEY`` (refused in production).

    ``ONEWINDOW_REGISTRY_KEY`` holds one base64 key (id ``ONEWINDOW_REGISTRY_KEY_ID``); its ``_FILE`` form
    may instead hold a key ring, ``{"current": "k2", "keys": {"k1": "<b64>", "k2": "<b64>"}}``, so old
    values stay readable while ``registry_rotate_keys`` re-encrypts them.
    """
    import base64
    import binascii
    import hashlib
    import hmac
    import json
    import re

    def key_bytes(name: str, value: object, *, exact: bool) -> bytes:
        try:
            raw = base64.b64decode(str(value).strip().replace("-", "+").replace("_", "/"), validate=True)
        except binascii.Error:
            message = f"{name} must be base64"
            raise ValueError(message) from None
        if (exact and len(raw) != 32) or len(raw) < 32:
            message = f"{name} must decode to {'exactly' if exact else 'at least'} 32 bytes, got {len(raw)}"
            raise ValueError(message)
        return raw

    def key_id(value: object) -> str:
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", value):
            message = f"registry key ids are 1-32 letters, digits, '-' or '_', got {value!r}"
            raise ValueError(message)
        return value

    configured = env_str("ONEWINDOW_REGISTRY_KEY")  # or the content of ONEWINDOW_REGISTRY_KEY_FILE
    index_configured = env_str("ONEWINDOW_REGISTRY_INDEX_KEY")
    if not configured and not index_configured:
        if PRODUCTION:
            message = (
                "ONEWINDOW_REGISTRY_KEY (or ONEWINDOW_REGISTRY_KEY_FILE) and ONEWINDOW_REGISTRY_INDEX_KEY "
                "are required in production: the development default derived from the secret key is refused"
            )
            raise ValueError(message)
        secret = SECRET_KEY.encode()
        return (
            {"dev": hmac.new(secret, b"onewindow.registry.encryption", hashlib.sha256).digest()},
            hmac.new(secret, b"onewindow.registry.blind-index", hashlib.sha256).digest(),
            True,
        )
    if not configured or not index_configured:
        message = (
            "set both ONEWINDOW_REGISTRY_KEY (or its _FILE) and ONEWINDOW_REGISTRY_INDEX_KEY, or neither"
        )
        raise ValueError(message)
    if configured.lstrip().startswith("{"):
        ring = json.loads(configured)
        if not isinstance(ring, dict) or not isinstance(ring.get("keys"), dict):
            message = 'the registry key file must be {"current": "<id>", "keys": {"<id>": "<base64>", ...}}'
            raise ValueError(message)
        current = key_id(ring.get("current"))
        keys = {
            key_id(name): key_bytes(f"key {name!r}", value, exact=True)
            for name, value in ring["keys"].items()
        }
        if current not in keys:
            message = f"the registry key ring names current key {current!r} but holds no such key"
            raise ValueError(message)
        keys = {current: keys[current]} | keys
    else:
        current = key_id(env_str("ONEWINDOW_REGISTRY_KEY_ID", "k1"))
        keys = {current: key_bytes("ONEWINDOW_REGISTRY_KEY", configured, exact=True)}
    return keys, key_bytes("ONEWINDOW_REGISTRY_INDEX_KEY", index_configured, exact=False), False


REGISTRY_KEYS, REGISTRY_INDEX_KEY, REGISTRY_KEYS_DEVELOPMENT_DEFAULT = _registry_keys()


def _registry_field_access() -> dict[str, Any] | None:
    """Field-level access to the population register (docs/registry.md, "Field-level access"): JSON
    ``{"<department code>|*": {"<role>": ["<field>", ...] | ["*"]}}`` replacing the default policy of
    ``onewindow/registry/access.py``; None (unset) keeps the default. Roles and fields are checked on use."""
    import json

    raw = env_str("ONEWINDOW_REGISTRY_FIELD_ACCESS")
    if not raw.strip():
        return None
    try:
        policy = json.loads(raw)
    except json.JSONDecodeError as error:
        message = f"ONEWINDOW_REGISTRY_FIELD_ACCESS must be JSON: {error}"
        raise ValueError(message) from None
    if not isinstance(policy, dict):
        message = (
            'ONEWINDOW_REGISTRY_FIELD_ACCESS must be a JSON object {"<department>|*": {"<role>": [...]}}'
        )
        raise ValueError(message)
    return policy


REGISTRY_FIELD_ACCESS = _registry_field_access()


# --- Electronic seals: platform CA, departments' keys (docs/signatures.md) ------------------------------
def _key_ring(
    variable: str, *, default_id: str, label: str, derivation: bytes
) -> tuple[dict[str, bytes], bool]:
    """Keys of 32 bytes (id -> key, current first) from ``variable`` and whether they are the development
    default derived from ``SECRET_KEY`` with ``derivation`` (refused in production by a deployment check).

    ``variable`` holds one base64 key (id from ``<variable>_ID``, default ``default_id``); its ``_FILE`` form
    may instead hold a key ring ``{"current": "<id>", "keys": {"<id>": "<base64>", ...}}`` so that values
    sealed under an older key stay readable until they are re-encrypted. ``label`` names the keys in errors.
    """
    import base64
    import binascii
    import hashlib
    import hmac
    import json
    import re

    def key_bytes(name: str, value: object) -> bytes:
        try:
            raw = base64.b64decode(str(value).strip().replace("-", "+").replace("_", "/"), validate=True)
        except binascii.Error:
            message = f"{name} must be base64"
            raise ValueError(message) from None
        if len(raw) != 32:
            message = f"{name} must decode to exactly 32 bytes, got {len(raw)}"
            raise ValueError(message)
        return raw

    def key_id(value: object) -> str:
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", value):
            message = f"{label} ids are 1-32 letters, digits, '-' or '_', got {value!r}"
            raise ValueError(message)
        return value

    configured = env_str(variable)  # or the content of <variable>_FILE
    if not configured:
        return {"dev": hmac.new(SECRET_KEY.encode(), derivation, hashlib.sha256).digest()}, True
    if configured.lstrip().startswith("{"):
        ring = json.loads(configured)
        if not isinstance(ring, dict) or not isinstance(ring.get("keys"), dict):
            message = f'the {label} file must be {{"current": "<id>", "keys": {{"<id>": "<base64>"}}}}'
            raise ValueError(message)
        current = key_id(ring.get("current"))
        keys = {key_id(name): key_bytes(f"{label} {name!r}", value) for name, value in ring["keys"].items()}
        if current not in keys:
            message = f"the {label} ring names current key {current!r} but holds no such key"
            raise ValueError(message)
        return {current: keys[current]} | keys, False
    current = key_id(env_str(f"{variable}_ID", default_id))
    return {current: key_bytes(variable, configured)}, False


def _seal_master_keys() -> tuple[dict[str, bytes], bool]:
    """The master keys that encrypt the seals' private keys (id -> 32 bytes, current first), and whether
    they are the development default derived from ``SECRET_KEY`` (refused in production when used).

    ``ONEWINDOW_SEAL_MASTER_KEY`` holds one base64 key (id ``ONEWINDOW_SEAL_MASTER_KEY_ID``); its ``_FILE``
    form may instead hold a key ring ``{"current": "m2", "keys": {"m1": "<b64>", "m2": "<b64>"}}`` so keys
    sealed under an older master key stay usable until ``seals_rotate_master_key`` has re-encrypted them.
    """
    return _key_ring(
        "ONEWINDOW_SEAL_MASTER_KEY",
        default_id="m1",
        label="seal master key",
        derivation=b"onewindow.seals.master-key",
    )


SEAL_MASTER_KEYS, SEAL_MASTER_KEY_DEVELOPMENT_DEFAULT = _seal_master_keys()
# The platform root certificate's common name, fixed when the root is created (seals_init_ca).
SEAL_CA_NAME = env_str("ONEWINDOW_SEAL_CA_NAME", "OneWindow Root CA")
# Validity of each department seal's certificate; a rotation issues a new one.
SEAL_CERTIFICATE_DAYS = env_int("ONEWINDOW_SEAL_CERTIFICATE_DAYS", default=3 * 365)
# Public address of the CRL (e.g. https://gov.example.cn/seals/root-ca.crl), written into seal certificates.
SEAL_CRL_URL = env_str("ONEWINDOW_SEAL_CRL_URL")


# --- E-licences: verification links, PDF timestamps (docs/licences.md) ---------------------------------
# The platform's public address (scheme and host, no trailing slash): licence QR codes and verification
# links point there. Required in production (check licences.E001).
PUBLIC_BASE_URL = env_str("ONEWINDOW_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# RFC 3161 timestamp server for licence PDFs (PAdES B-T); unset: PAdES B-B (no trusted signing time).
TSA_URL = env_str("ONEWINDOW_TSA_URL")
TSA_TIMEOUT_SECONDS = env_int("ONEWINDOW_TSA_TIMEOUT", default=10)
# Public licence verifications per client address and minute (API and page); 0 = no limit.
LICENCE_VERIFY_PER_MINUTE = env_int("ONEWINDOW_LICENCE_VERIFY_PER_MINUTE", default=60)


# --- Resource catalog: the DCAT-AP export (docs/catalog.md) --------------------------------------------
# Where the export's IRIs start (stable identifiers for harvesters); unset: the address a request came to.
CATALOG_BASE_URL = env_str("ONEWINDOW_CATALOG_BASE_URL")
# The authority publishing the catalog (dct:publisher of the dcat:Catalog).
CATALOG_PUBLISHER = env_str("ONEWINDOW_CATALOG_PUBLISHER", "OneWindow 一窗通办")
# Working days a provider department has to answer a sharing request (State Council 2016 No. 51 Art. 12: 10).
CATALOG_ANSWER_DAYS = env_int("ONEWINDOW_CATALOG_ANSWER_DAYS", default=10)
# Rows decrypted per batch when measuring the validity of the registry's ID numbers (catalog.quality).
CATALOG_QUALITY_BATCH = env_int("ONEWINDOW_CATALOG_QUALITY_BATCH", default=2000)


# --- Exchange message log (docs/messagelog.md) ----------------------------------------------------------
def _messagelog_keys() -> tuple[dict[str, bytes], bool]:
    """The keys that encrypt logged payloads (id -> 32 bytes, current first), and whether they are the
    development default derived from ``SECRET_KEY`` (refused by the deployment check messagelog.E001).

    ``ONEWINDOW_MESSAGELOG_KEY`` holds one base64 key (id ``ONEWINDOW_MESSAGELOG_KEY_ID``); its ``_FILE`` form
    may instead hold a key ring ``{"current": "l2", "keys": {"l1": "<b64>", "l2": "<b64>"}}``.
    """
    return _key_ring(
        "ONEWINDOW_MESSAGELOG_KEY",
        default_id="l1",
        label="message log key",
        derivation=b"onewindow.messagelog.payload-key",
    )


MESSAGELOG_KEYS, MESSAGELOG_KEYS_DEVELOPMENT_DEFAULT = _messagelog_keys()
# Payload logging for subsystems without a policy of their own: full | metadata | none.
MESSAGELOG_PAYLOADS = env_str("ONEWINDOW_MESSAGELOG_PAYLOADS", "metadata")
if MESSAGELOG_PAYLOADS not in {"full", "metadata", "none"}:
    message = f"ONEWINDOW_MESSAGELOG_PAYLOADS must be full, metadata or none, got {MESSAGELOG_PAYLOADS!r}"
    raise ValueError(message)
# Largest request or response body kept under the "full" policy; a larger one is not kept at all (flagged).
MESSAGELOG_MAX_PAYLOAD = env_int("ONEWINDOW_MESSAGELOG_MAX_PAYLOAD", default=1_048_576)
# Days records stay in the live table; `onewindow exchange archive-log` without --before archives older ones.
MESSAGELOG_LIVE_DAYS = max(1, env_int("ONEWINDOW_MESSAGELOG_LIVE_DAYS", default=30))
# Most records written into one archive segment file (a larger archive run writes several segments).
MESSAGELOG_SEGMENT_MAX_RECORDS = max(1, env_int("ONEWINDOW_MESSAGELOG_SEGMENT_MAX_RECORDS", default=100_000))


# --- Exchange publish/subscribe: the outbox's events to subscriptions (docs/pubsub.md) ------------------
# Empty or "database": deliveries fanned out in the database; nats://host:4222: NATS JetStream streams.
EXCHANGE_BROKER = env_str("ONEWINDOW_EXCHANGE_BROKER")
# Stream, subject and consumer names start with this (one NATS server may serve several installations).
PUBSUB_NATS_PREFIX = env_str("ONEWINDOW_PUBSUB_NATS_PREFIX", "onewindow")
PUBSUB_NATS_MAX_AGE_DAYS = env_int("ONEWINDOW_PUBSUB_NATS_MAX_AGE_DAYS", default=7)
PUBSUB_NATS_ACK_WAIT_SECONDS = env_int("ONEWINDOW_PUBSUB_NATS_ACK_WAIT_SECONDS", default=30)
# Attempts of a new subscription before a delivery becomes a dead letter; backoff base doubles per attempt.
PUBSUB_MAX_ATTEMPTS = env_int("ONEWINDOW_PUBSUB_MAX_ATTEMPTS", default=8)
PUBSUB_BACKOFF_SECONDS = env_int("ONEWINDOW_PUBSUB_BACKOFF_SECONDS", default=10)
# How long a claimed delivery (being pushed, or fetched by a pull subscriber) stays invisible to others.
PUBSUB_LEASE_SECONDS = env_int("ONEWINDOW_PUBSUB_LEASE_SECONDS", default=60)
PUBSUB_WEBHOOK_TIMEOUT_SECONDS = env_int("ONEWINDOW_PUBSUB_WEBHOOK_TIMEOUT", default=10)
PUBSUB_BATCH_SIZE = env_int("ONEWINDOW_PUBSUB_BATCH_SIZE", default=500)
# Webhook POSTs the dispatcher has in flight at once (one per key: a key's events still go in order).
PUBSUB_PUSH_CONCURRENCY = env_int("ONEWINDOW_PUBSUB_PUSH_CONCURRENCY", default=8)
# Webhooks on loopback, private or link-local addresses (refused in production unless set: SSRF guard).
PUBSUB_ALLOW_PRIVATE_WEBHOOKS = env_bool("ONEWINDOW_PUBSUB_ALLOW_PRIVATE_WEBHOOKS", default=not PRODUCTION)
PUBSUB_DISPATCH_INTERVAL_SECONDS = env_int("ONEWINDOW_PUBSUB_DISPATCH_INTERVAL", default=60)


# --- Exchange: signed synchronous services (docs/exchange.md) ---------------------------------------------
# Requests per minute a catalog grant allows through the exchange unless the grant has its own limit.
EXCHANGE_RATE_LIMIT_PER_MINUTE = env_int("ONEWINDOW_EXCHANGE_RATE_LIMIT_PER_MINUTE", default=6000)
# Validity of the certificates the platform root issues for subsystem signing keys.
EXCHANGE_KEY_CERTIFICATE_DAYS = env_int("ONEWINDOW_EXCHANGE_KEY_CERTIFICATE_DAYS", default=730)
# An external service's circuit opens after this many failed calls in a row, for this many seconds.
EXCHANGE_CIRCUIT_FAILURES = max(1, env_int("ONEWINDOW_EXCHANGE_CIRCUIT_FAILURES", default=5))
EXCHANGE_CIRCUIT_COOLDOWN_SECONDS = max(1, env_int("ONEWINDOW_EXCHANGE_CIRCUIT_COOLDOWN_SECONDS", default=30))
# First retry delay of an external call in milliseconds; doubles per retry.
EXCHANGE_RETRY_BACKOFF_SECONDS = max(0, env_int("ONEWINDOW_EXCHANGE_RETRY_BACKOFF_MS", default=100)) / 1000


# --- Federation: two or more OneWindow nodes exchanging calls and events (docs/federation.md) ------------
# This node's instance id, e.g. CN-35 (a province) or CN-3501 (a city); empty: no federation.
FEDERATION_INSTANCE = env_str("ONEWINDOW_FEDERATION_INSTANCE")
# Seconds this node waits for a peer's answer (forwarded calls, event fetches, discovery).
FEDERATION_TIMEOUT_SECONDS = max(1, env_int("ONEWINDOW_FEDERATION_TIMEOUT", default=10))
# How often the scheduler takes in the peers' events, and refreshes the peers' members and services.
FEDERATION_SYNC_INTERVAL_SECONDS = env_int("ONEWINDOW_FEDERATION_SYNC_INTERVAL", default=30)
FEDERATION_DIRECTORY_REFRESH_SECONDS = env_int("ONEWINDOW_FEDERATION_DIRECTORY_REFRESH", default=3600)
# Minutes between fetches of the peers' root CRLs (docs/federation.md "Revoked certificates").
FEDERATION_CRL_REFRESH_MINUTES = max(1, env_int("ONEWINDOW_FEDERATION_CRL_REFRESH_MINUTES", default=15))
# Events per fetch, and how long a fetched batch waits for its acknowledgement before it is sent again.
FEDERATION_BATCH_SIZE = max(1, env_int("ONEWINDOW_FEDERATION_BATCH_SIZE", default=200))
FEDERATION_LEASE_SECONDS = max(1, env_int("ONEWINDOW_FEDERATION_LEASE_SECONDS", default=60))
# How far behind its high-water mark the export scan of the outbox looks again (longest transaction).
FEDERATION_EXPORT_LOOKBACK_SECONDS = env_int("ONEWINDOW_FEDERATION_EXPORT_LOOKBACK_SECONDS", default=600)
# NATS for events between nodes (peers registered with the nats transport); default: the exchange broker.
FEDERATION_NATS_URL = env_str(
    "ONEWINDOW_FEDERATION_NATS_URL",
    EXCHANGE_BROKER if EXCHANGE_BROKER.startswith(("nats://", "tls://")) else "",
)
# Stream and subject names start with this; the same on every node of the federation.
FEDERATION_NATS_PREFIX = env_str("ONEWINDOW_FEDERATION_NATS_PREFIX", "onewindow")
