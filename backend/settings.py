"""The one settings module, read through django-environ.

Every variable is documented in `.env.example`. Embedded defaults (SQLite, Huey on SQLite) apply
when `DATABASE_URL` / `REDIS_URL` are unset; production sets both. No secret has a production
default: with DEBUG off the process refuses to start without SECRET_KEY.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see .env.example).")
    SECRET_KEY = "dev-only-insecure-key-never-used-with-debug-off"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "huey.contrib.djhuey",
    "backend",
    "campaigns",
    "creatives",
    "reporting",
    "bidding",
    "integrations",
]

MIDDLEWARE = [
    "backend.observability.middleware.RequestIdMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # The database or Redis away: 503 with Retry-After, not a 500 (backend/unavailable.py).
    "backend.unavailable.DependencyUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Refuses an oversized body by its Content-Length (413) before anything reads it.
    "backend.security.limits.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "backend.security.sessions.IdleSessionTimeoutMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "backend.security.otp.StaffOTPRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates", BASE_DIR / "backend" / "security" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
_db = DATABASES["default"]
if _db["ENGINE"] in ("django.db.backends.postgresql", "django_prometheus.db.backends.postgresql"):
    # Persistent connections: reconnecting on every request was most of the legacy endpoint's cost.
    _db["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=300)
    _db["CONN_HEALTH_CHECKS"] = True
    _db.setdefault("OPTIONS", {})
    # Fail fast when the database is away instead of hanging a worker.
    _db["OPTIONS"].setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=3))
    # ... and when it is there but does not answer (saturated, or a lock held for long): the server
    # cancels any statement running past this (0 = no limit). `manage.py migrate` lifts it for its
    # own connection (backend/management/commands/migrate.py): a table rewrite may take longer.
    DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", default=30_000)
    if DB_STATEMENT_TIMEOUT_MS:
        _options = _db["OPTIONS"].get("options", "")
        _db["OPTIONS"]["options"] = f"{_options} -c statement_timeout={DB_STATEMENT_TIMEOUT_MS}".strip()
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    _db.setdefault("OPTIONS", {})
    # WAL + a busy timeout let the web server and the Huey worker share the file.
    _db["OPTIONS"].setdefault("timeout", 20)
    _db["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
    _db["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Task queue (Huey) --------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Every Redis client (queue, cache, throttle) gives up after these (backend/redis_options.py).
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=1.0)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=2.0)
HUEY_IMMEDIATE = env.bool("HUEY_IMMEDIATE", default=False)
if REDIS_URL:
    import redis as _redis  # noqa: E402

    from backend.redis_options import client_options as _redis_client_options  # noqa: E402

    HUEY = {
        "name": env.str("HUEY_NAME", default="adops"),
        "huey_class": "backend.taskqueue.TracedRedisHuey",
        # A pool of our own rather than "url", which Huey opens with no timeouts at all. The
        # consumer blocks up to 1 s in BRPOP (Huey's read_timeout): its socket waits that much more.
        "connection_pool": _redis.ConnectionPool.from_url(
            REDIS_URL,
            **_redis_client_options(connect_timeout=REDIS_CONNECT_TIMEOUT, socket_timeout=REDIS_SOCKET_TIMEOUT + 1),
        ),
        "immediate": HUEY_IMMEDIATE,
        "utc": True,
        "consumer": {"workers": env.int("HUEY_WORKERS", default=2), "worker_type": "thread"},
    }
else:
    HUEY = {
        "name": env.str("HUEY_NAME", default="adops"),
        "huey_class": "backend.taskqueue.TracedSqliteHuey",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        "utc": True,
        "consumer": {"workers": env.int("HUEY_WORKERS", default=2), "worker_type": "thread"},
    }

# --- Auth, i18n, static -------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"

# Request bodies: nothing we accept on the JSON API is anywhere near this.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
# An uploaded file larger than this is spooled to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)

# --- Security (production) ----------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Health probes and metrics scrapes come over plain HTTP from inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)

# --- API ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": [
        "backend.api.throttling.FixedWindowAnonRateThrottle",
        "backend.api.throttling.FixedWindowUserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="100000/hour"),
        "token_management": env.str("API_THROTTLE_TOKEN_MANAGEMENT", default="30/hour"),
    },
    "DEFAULT_PAGINATION_CLASS": "backend.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    # drf-spectacular's, plus the error statuses (400/401/403/404/413/415/429) every operation can answer.
    "DEFAULT_SCHEMA_CLASS": "backend.api.schema.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Ad-operations platform API",
    "DESCRIPTION": "Bids, campaigns, creatives, reports and the Amazon DSP sync. "
    "Authenticate with `Authorization: Token <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One schema name per choice set where several apps use the same field name (kind, mode).
    "ENUM_NAME_OVERRIDES": {
        "CreativeKindEnum": "creatives.choices.CreativeKind",
        "BulkSheetJobKindEnum": "campaigns.bulksheets.choices.JobKind",
        "BulkSheetImportModeEnum": "campaigns.bulksheets.choices.ImportMode",
        "BulkSheetApplyModeEnum": "campaigns.bulksheets.choices.ApplyMode",
    },
}

# Throttle counters live in the cache; with Redis configured, they are shared by every worker.
# Redis away: the throttle lets requests through (and logs it) rather than take the API down, and
# stops asking Redis for THROTTLE_FAIL_OPEN_SECONDS so each request does not wait on it.
THROTTLE_FAIL_OPEN_SECONDS = env.float("THROTTLE_FAIL_OPEN_SECONDS", default=5.0)
# Seconds a client is told to wait (Retry-After) when a 503 says the database or Redis is away.
UNAVAILABLE_RETRY_AFTER = env.int("UNAVAILABLE_RETRY_AFTER", default=5)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": _redis_client_options(connect_timeout=REDIS_CONNECT_TIMEOUT, socket_timeout=REDIS_SOCKET_TIMEOUT),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Bidding ------------------------------------------------------------------------------------
BUDGET_AUDIT_HOUR = env.int("BUDGET_AUDIT_HOUR", default=3)
BUDGET_AUDIT_MINUTE = env.int("BUDGET_AUDIT_MINUTE", default=15)
BUDGET_AUDIT_DAYS = env.int("BUDGET_AUDIT_DAYS", default=7)
BUDGET_AUDIT_THRESHOLD = env.str("BUDGET_AUDIT_THRESHOLD", default="0.20")
# A running audit with no heartbeat for this long lost its worker; the reconciler closes it.
BUDGET_AUDIT_STALE_MINUTES = env.int("BUDGET_AUDIT_STALE_MINUTES", default=30)

# --- Logging: one JSON line per event, each with the request id ---------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "backend.observability.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "backend.observability.logging.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        # A handler of its own keeps run_huey from adding its plain-text one (no duplicate lines).
        "huey": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}

# --- Metrics: Prometheus scrapes /metrics with `Authorization: Bearer <METRICS_TOKEN>` ----------
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- Partner credentials: Fernet key(s) that encrypt them at rest -------------------------------
# Comma-separated; the first encrypts, all decrypt (rotate by prepending a new key, then run
# `manage.py rotate_credentials_key`). Required in production once a connection is stored.
CREDENTIALS_ENCRYPTION_KEYS = env.list("CREDENTIALS_ENCRYPTION_KEYS", default=[])

# --- Amazon Ads client ---------------------------------------------------------------------------
AMAZON_ADS_MAX_ATTEMPTS = env.int("AMAZON_ADS_MAX_ATTEMPTS", default=6)  # tries per call, first included
AMAZON_ADS_MAX_RETRY_SECONDS = env.int("AMAZON_ADS_MAX_RETRY_SECONDS", default=120)
AMAZON_ADS_CONNECT_TIMEOUT = env.int("AMAZON_ADS_CONNECT_TIMEOUT", default=5)
AMAZON_ADS_READ_TIMEOUT = env.int("AMAZON_ADS_READ_TIMEOUT", default=30)
# Creative push: Amazon registers an uploaded asset asynchronously (up to ~30 min); how often the
# sync asks, and how long it waits before it leaves the creative for the next run.
AMAZON_ASSET_POLL_SECONDS = env.float("AMAZON_ASSET_POLL_SECONDS", default=10.0)
AMAZON_ASSET_MAX_WAIT_SECONDS = env.float("AMAZON_ASSET_MAX_WAIT_SECONDS", default=45 * 60.0)

# --- Creatives (defaults and the rest of the knobs: creatives/conf.py) --------------------------
_MIB = 1024 * 1024
CREATIVES_MAX_PIXELS = env.int("CREATIVES_MAX_PIXELS", default=4096 * 4096)
CREATIVES_MAX_IMAGE_BYTES = env.int("CREATIVES_MAX_IMAGE_BYTES", default=10 * _MIB)
CREATIVES_MAX_VIDEO_BYTES = env.int("CREATIVES_MAX_VIDEO_BYTES", default=500 * _MIB)
CREATIVES_MAX_AUDIO_BYTES = env.int("CREATIVES_MAX_AUDIO_BYTES", default=50 * _MIB)
CREATIVES_MAX_UPLOAD_BYTES = env.int("CREATIVES_MAX_UPLOAD_BYTES", default=512 * _MIB)

# --- Amazon DSP sync and the competitor price monitor (times in UTC) ----------------------------
SYNC_PULL_MINUTE = env.int("SYNC_PULL_MINUTE", default=15)  # hourly pull at this minute
SYNC_PUSH_HOUR = env.int("SYNC_PUSH_HOUR", default=2)  # nightly full push
SYNC_CHANGE_INTERVAL_MINUTES = env.int("SYNC_CHANGE_INTERVAL_MINUTES", default=5)  # push what changed
SYNC_REPORT_HOURS = env.str("SYNC_REPORT_HOURS", default="6,18")  # performance report pulls
COMPETITOR_FETCH_INTERVAL_MINUTES = env.int("COMPETITOR_FETCH_INTERVAL_MINUTES", default=60)
COMPETITOR_PRICES_REDIS_KEY = env.str("COMPETITOR_PRICES_REDIS_KEY", default="competitor_prices")

# --- Security: logins, two-factor, sessions, headers, CORS, request sizes ----------------------
# (backend/security/; what each protects and how to operate it: docs/operations.md)
from datetime import timedelta as _timedelta  # noqa: E402

from csp.constants import NONCE as _NONCE  # noqa: E402
from csp.constants import NONE as _NONE  # noqa: E402
from csp.constants import SELF as _SELF  # noqa: E402

# django-axes: lock a username from one address after AXES_FAILURE_LIMIT failed logins, for
# AXES_COOLOFF_MINUTES. Attempts are stored in the database (shared by every web worker).
# Unlock by hand: `manage.py axes_reset_username <name>` (or axes_reset_ip / axes_reset).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = _timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "backend.security.views.lockout"
AXES_HANDLER = env.str("AXES_HANDLER", default="axes.handlers.database.AxesDatabaseHandler")
# Behind proxies REMOTE_ADDR is the proxy: say how many append to X-Forwarded-For (0 = none).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "backend.security.client_ip.client_ip"

# django-otp: staff sessions need a verified TOTP device (enrol at /security/otp/).
OTP_REQUIRED_FOR_STAFF = env.bool("OTP_REQUIRED_FOR_STAFF", default=True)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Ad-ops console")
LOGIN_URL = "admin:login"

# Old secret keys still accepted for signatures (sessions) while a new SECRET_KEY rolls out.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

# Sessions: SESSION_COOKIE_AGE bounds a session's life; this logs out one left idle.
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_IDLE_TOUCH_SECONDS = 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Content-Security-Policy (django-csp). Scripts: our files and nonced tags only, never inline
# code or eval; Swagger UI loads its init script as a file. Inline <style> blocks carry the
# request's nonce ({{ request.csp_nonce }}). One exception (ops/security-exceptions.md): style
# *attributes* (style="color: …", set by a few admin cells) stay allowed: they cannot run script,
# and nonces cannot apply to attributes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_SELF],
        "script-src": [_SELF, _NONCE],
        "style-src": [_SELF, _NONCE],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": [_SELF, "data:"],
        "font-src": [_SELF],
        "connect-src": [_SELF],
        "object-src": [_NONE],
        "base-uri": [_SELF],
        "form-action": [_SELF],
        "frame-ancestors": [_NONE],
    },
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# CORS: closed unless origins are listed (comma-separated, scheme included), and only for the API.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False

# Request bodies refused by Content-Length before they are read (backend/security/limits.py):
# first matching path wins; multipart framing gets a 1 MiB allowance over the file limits.
_FRAMING = 1 * _MIB
REPORTING_UPLOAD_MAX_BYTES = env.int("REPORTING_UPLOAD_MAX_BYTES", default=10 * _MIB)
BULKSHEET_MAX_UPLOAD_BYTES = env.int("BULKSHEET_MAX_UPLOAD_BYTES", default=50 * _MIB)
REQUEST_BODY_LIMITS = [
    (r"^/api/v1/creatives/creatives/",
     min(max(CREATIVES_MAX_IMAGE_BYTES, CREATIVES_MAX_VIDEO_BYTES, CREATIVES_MAX_AUDIO_BYTES),
         CREATIVES_MAX_UPLOAD_BYTES)),
    (r"^/api/v1/creatives/", CREATIVES_MAX_UPLOAD_BYTES),
    (r"^/admin/creatives/", CREATIVES_MAX_UPLOAD_BYTES),
    (r"^/api/v1/reporting/imports/", REPORTING_UPLOAD_MAX_BYTES + _FRAMING),
    (r"^/admin/reporting/dailyperformance/upload/", REPORTING_UPLOAD_MAX_BYTES + _FRAMING),
    (r"^/(api/v1|admin)/campaigns/bulk[-_]?sheet", BULKSHEET_MAX_UPLOAD_BYTES + _FRAMING),
]
REQUEST_BODY_DEFAULT_LIMIT = env.int("REQUEST_BODY_DEFAULT_LIMIT", default=DATA_UPLOAD_MAX_MEMORY_SIZE)

# --- Event-triggered rules: when a claimed or queued event counts as lost ----------------------
RULE_EVENT_HEARTBEAT_STALE_SECONDS = env.int("RULE_EVENT_HEARTBEAT_STALE_SECONDS", default=120)
RULE_EVENT_QUEUED_STALE_SECONDS = env.int("RULE_EVENT_QUEUED_STALE_SECONDS", default=600)
# Events one task claims at most: its own plus queued ones of the same advertiser (one transaction
# per rule, one round trip to finish them all). Bigger batches: less overhead, later first effects.
RULE_EVENT_BATCH_SIZE = env.int("RULE_EVENT_BATCH_SIZE", default=50)
