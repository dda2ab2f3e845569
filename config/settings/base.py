"""All settings, switched by environment variables read here and nowhere else.

With neither DATABASE_URL nor REDIS_URL set we run the *embedded default*: a SQLite file, an
in-process cache (cachalot still on), an in-memory channel layer and Celery tasks run in-process.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHE_REDIS_URL = os.environ.get("CACHE_REDIS_URL", REDIS_URL)
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CHANNEL_LAYER_REDIS_URL = os.environ.get("CHANNEL_LAYER_REDIS_URL", REDIS_URL)

# The embedded default is chosen explicitly by the absence of both servers.
EMBEDDED = not DATABASE_URL and not REDIS_URL

DEBUG = _env_bool("DJANGO_DEBUG", default=EMBEDDED)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not EMBEDDED:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DATABASE_URL or REDIS_URL is set "
            "(only the embedded default runs with a built-in development key)."
        )
    SECRET_KEY = "embedded-default-insecure-development-key-do-not-deploy"

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # serves Swagger UI assets locally instead of from a CDN
    "ninja_jwt",
    "ninja_jwt.token_blacklist",
    "cachalot",
    "channels",
    "accounts",
    "catalog",
    "orders",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# Each web process runs Django's request path in a pool of WEB_THREADS threads (web.handlers).
WEB_THREADS = int(os.environ.get("WEB_THREADS", "8"))

if DATABASE_URL:
    # A psycopg pool per process: a request borrows a connection and gives it back when Django
    # closes it, so no request pays for a new PostgreSQL backend. The pool has room for every
    # request thread plus the WebSocket auth and signal threads; past that, callers wait.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("DB_POOL_MIN_SIZE", "2")),
        "max_size": int(os.environ.get("DB_POOL_MAX_SIZE", str(WEB_THREADS + 4))),
        "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "10")),
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # Writers wait for each other instead of failing with "database is locked".
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis shared by every process (cachalot's invalidation needs that), through
# django-redis, degrading to a miss when Redis is unreachable so the API keeps answering from the
# database. Its client (config.cache, one per process) backs off for a second after a failure
# instead of waiting for a timeout per call, and retries a cachalot invalidation that did not
# reach Redis.
if CACHE_REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": CACHE_REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "shop"),
            "OPTIONS": {
                "CLIENT_CLASS": "config.cache.shared_client",
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 0.25,
                "SOCKET_TIMEOUT": 0.5,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Only the catalog is cached: its tables are read constantly and written rarely. Orders, stock
# reservations, tokens and sessions change on every request, so caching them would only add
# invalidation traffic (cachalot invalidates per table).
CACHALOT_ONLY_CACHABLE_APPS = {"catalog"}
# The stock ledger is written by every sale and read rarely (staff, check_stock).
CACHALOT_UNCACHABLE_TABLES = frozenset({"django_migrations", "catalog_stockmovement"})
CACHALOT_TIMEOUT = int(os.environ.get("CACHALOT_TIMEOUT", "600"))
CACHALOT_QUERY_KEYGEN = "config.query_cache_key.query_cache_key"

if CHANNEL_LAYER_REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [CHANNEL_LAYER_REDIS_URL], "capacity": 1000, "expiry": 60},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL") and not REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish must fail fast when the broker is down: the outbox sweep re-sends later.
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_TASK_PUBLISH_RETRY = False
CELERY_OUTBOX_SWEEP_SECONDS = float(os.environ.get("OUTBOX_SWEEP_SECONDS", "10"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

NINJA_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=float(os.environ.get("JWT_ACCESS_MINUTES", "10"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=int(os.environ.get("JWT_REFRESH_DAYS", "7"))),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "SIGNING_KEY": SECRET_KEY,
}

AUTH_THROTTLE_RATE = os.environ.get("AUTH_THROTTLE_RATE", "20/min")
# Client address for throttling: REMOTE_ADDR unless operators say how many proxies to trust.
NINJA_NUM_PROXIES = int(os.environ.get("NUM_PROXIES", "0"))
NINJA_PAGINATION_PER_PAGE = 20
NINJA_PAGINATION_MAX_PER_PAGE_SIZE = 100
NINJA_PAGINATION_MAX_LIMIT = 100

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Served by WhiteNoise from the app directories too, so `make run` needs no collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_tokens": {"()": "config.logging.RedactTokenFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_tokens"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "uvicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # uvicorn's access log already has every 4xx: Django logs only what fails (5xx).
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        # Tasks run in-process on the embedded default: one line per task is noise there.
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
    },
}

AUTH_USER_MODEL = "accounts.User"

# --- Sessions, sockets and throttles (issue 11) ---------------------------------------------
# A sign-in session (a refresh-token family) ends this long after sign-in, however often its
# refresh token is rotated.
JWT_SESSION_MAX_DAYS = int(os.environ.get("JWT_SESSION_MAX_DAYS", "30"))
# The largest WebSocket message a client may send; the server command (bin/web) passes the same
# limit to uvicorn (--ws-max-size) so bigger frames are refused before they are buffered.
WS_MAX_MESSAGE_BYTES = int(os.environ.get("WS_MAX_MESSAGE_BYTES", "16384"))
# Socket opens a web process accepts per user and minute (as many at once); past it an open is
# held 2 s and closed 4429, before any query (notifications.socket_limits). 0: no limit.
WS_OPENS_PER_MINUTE = int(os.environ.get("WS_OPENS_PER_MINUTE", "30"))

# ---- Edges: JSON at every edge, CORS, production security, health, metrics, logs (issue 10) ----
# Read here, used by web.edges, web.health, web.metrics and the WebSocket origin check.


def _env_list(name: str, default: str = "") -> list[str]:
    return [v.strip() for v in os.environ.get(name, default).split(",") if v.strip()]


# A key under 32 bytes is guessable offline from any token it signed (PyJWT warns on each one).
if not EMBEDDED and len(SECRET_KEY.encode()) < 32:
    raise ImproperlyConfigured(
        f"DJANGO_SECRET_KEY is {len(SECRET_KEY.encode())} bytes; it must be at least 32 "
        "(50 or more for `check --deploy`). Make one with: "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )

# Bodies over this are refused with 413 before they are read (also chunked ones).
API_MAX_BODY_BYTES = int(os.environ.get("API_MAX_BODY_BYTES", str(256 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
# Slashless API paths are served in place by web.edges, never redirected (a 301 turns a POST
# into a GET); Django's redirect stays for the admin.
APPEND_SLASH = True
# The database pool answers 503 quickly instead of holding a request for its default 10 s, and
# config.postgresql checks each connection it borrows (replacing Django's CONN_HEALTH_CHECKS,
# whose pool check backs off 1 s, 2 s, ... per dead connection), so backends dropped by
# PostgreSQL (restart, pg_terminate_backend, idle timeouts) are replaced without a restart.
DB_UNAVAILABLE_RETRY_AFTER = int(os.environ.get("DB_UNAVAILABLE_RETRY_AFTER", "5"))
DB_POOL_TIMEOUT = float(os.environ.get("DB_POOL_TIMEOUT", "3"))
if DATABASE_URL:
    DATABASES["default"]["ENGINE"] = "config.postgresql"
    # cachalot recognises databases by ENGINE: name ours (Django's PostgreSQL backend, with
    # one method changed), or it would stop caching it.
    CACHALOT_ADDITIONAL_SUPPORTED_DATABASES = {"config.postgresql"}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"]["OPTIONS"]["pool"]["timeout"] = DB_POOL_TIMEOUT
    # Each new connection gives up on an unreachable server quickly too.
    DATABASES["default"]["OPTIONS"].setdefault(
        "connect_timeout", int(os.environ.get("DB_CONNECT_TIMEOUT", "3"))
    )

# CORS for browser front ends on other origins (django-cors-headers), on /api/ only. The embedded
# default admits the usual local dev servers; elsewhere only what CORS_ALLOWED_ORIGINS lists.
# The WebSocket origin check admits the same origins plus DJANGO_ALLOWED_HOSTS.
INSTALLED_APPS.append("corsheaders")
MIDDLEWARE.insert(0, "corsheaders.middleware.CorsMiddleware")
CORS_ALLOWED_ORIGINS = _env_list(
    "CORS_ALLOWED_ORIGINS", "http://localhost:3000,http://127.0.0.1:3000" if EMBEDDED else ""
)
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = ("authorization", "content-type", "idempotency-key", "if-match")
CORS_EXPOSE_HEADERS = ("Idempotent-Replayed", "ETag", "Retry-After", "X-Request-ID")
CORS_PREFLIGHT_MAX_AGE = 600

# The outermost Django middleware: JSON errors under /api/, Host and body-size checks, slashless
# paths served in place, the route and user for the request log.
MIDDLEWARE.insert(0, "web.edges.ApiEdgeMiddleware")

# Production security: on by default off the embedded default (`check --deploy` is clean with
# the env in the README). The proxy header is trusted only when set, e.g.
# DJANGO_SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https behind a TLS-terminating proxy.
SECURE_SSL_REDIRECT = _env_bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = _env_bool("DJANGO_HSTS_PRELOAD", default=False)
_proxy_ssl_header = _env_list("DJANGO_SECURE_PROXY_SSL_HEADER")
if _proxy_ssl_header:
    if len(_proxy_ssl_header) != 2:
        raise ImproperlyConfigured(
            "DJANGO_SECURE_PROXY_SSL_HEADER is HEADER,VALUE, e.g. HTTP_X_FORWARDED_PROTO,https"
        )
    SECURE_PROXY_SSL_HEADER = (_proxy_ssl_header[0], _proxy_ssl_header[1])
SESSION_COOKIE_SECURE = _env_bool("DJANGO_SECURE_COOKIES", default=not EMBEDDED)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS")

# Readiness: each dependency gets this long to answer /readyz.
READYZ_TIMEOUT_SECONDS = float(os.environ.get("READYZ_TIMEOUT_SECONDS", "1"))

# /metrics (Prometheus text) only with `Authorization: Bearer $METRICS_TOKEN` or from one of
# METRICS_ALLOWED_IPS (REMOTE_ADDR); with neither set it is refused to everyone.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_ALLOWED_IPS = frozenset(_env_list("METRICS_ALLOWED_IPS"))

# One line per request on stderr (web.edges.RequestLog; REQUEST_LOG=off silences it), and
# every log line as a JSON object when LOG_FORMAT=json.
REQUEST_LOG = _env_bool("REQUEST_LOG", default=True)
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
if LOG_FORMAT == "json":
    LOGGING["formatters"] = {"json": {"()": "config.logging.JsonFormatter"}}
    LOGGING["handlers"]["console"]["formatter"] = "json"  # type: ignore[index]  # a dict literal

# ---- Notification channels: e-mail, webhooks and the outbox's attempt caps (issue 12) ---------
# E-mail goes through Django's SMTP backend when EMAIL_HOST is set, otherwise to the console
# (the embedded default, and any deployment that has not configured SMTP yet).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "shop@localhost")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
NOTIFY_EMAIL_ENABLED = _env_bool("NOTIFY_EMAIL_ENABLED", default=True)
NOTIFY_EMAIL_MAX_ATTEMPTS = int(os.environ.get("NOTIFY_EMAIL_MAX_ATTEMPTS", "6"))
# Socket pushes of one event before it is marked dead and the sweep leaves it alone.
NOTIFY_SOCKET_MAX_ATTEMPTS = int(os.environ.get("NOTIFY_SOCKET_MAX_ATTEMPTS", "10"))
# A sender holds an e-mail or webhook delivery this long (longer than any timeout); the sweep
# re-queues pending deliveries overdue by more than the grace (a task lost or a worker killed).
NOTIFY_LEASE_SECONDS = float(os.environ.get("NOTIFY_LEASE_SECONDS", "60"))
NOTIFY_SWEEP_GRACE_SECONDS = float(os.environ.get("NOTIFY_SWEEP_GRACE_SECONDS", "30"))

# Webhooks: 8 attempts over about 27 hours (the delays after attempts 1..7, +-20% jitter; a
# Retry-After longer than the step wins), then the delivery is dead.
WEBHOOK_RETRY_SCHEDULE = [
    float(s)
    for s in os.environ.get("WEBHOOK_RETRY_SCHEDULE", "5,300,1800,7200,18000,36000,36000").split(
        ","
    )
    if s.strip()
]
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "5"))
# Consecutive failed attempts after which an endpoint is disabled (staff re-enable it).
WEBHOOK_DISABLE_AFTER = int(os.environ.get("WEBHOOK_DISABLE_AFTER", "50"))
# Development and tests only: lets webhook URLs reach loopback and private addresses.
WEBHOOK_ALLOW_PRIVATE_URLS = _env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=False)

# Deliveries run on their own queue (`celery worker -Q notify`, see the Procfile), so a slow
# receiver never delays the socket pushes on the default queue.
CELERY_TASK_ROUTES = {
    "notifications.tasks.deliver_email": {"queue": "notify"},
    "notifications.tasks.send_due_emails": {"queue": "notify"},
    "notifications.tasks.deliver_webhook": {"queue": "notify"},
    "notifications.tasks.send_due_webhooks": {"queue": "notify"},
}
