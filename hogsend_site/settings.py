"""Settings for Hogsend, read from the environment (django-environ).

Every variable is listed in `.env.example`. The defaults run the product on one
machine: SQLite, django-q2 on the ORM broker, and a local email backend that
stores every message under var/outbox.
"""

from __future__ import annotations

from pathlib import Path

import environ

from hogsend_site.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core ---------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off.")
    # Dev only: `make demo`/`make test` write a real key into .env; this keeps a
    # bare `manage.py` call working before that.
    SECRET_KEY = "dev-insecure-only-" + "x" * 40
# Old keys still accepted when verifying: unsubscribe links in emails already sent
# never expire, so rotating SECRET_KEY moves the old one here instead of dropping it.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The demo serves on $PORT (`PORT=8080 make demo`), so links in emails, headers and
# printed admin URLs follow it unless PUBLIC_BASE_URL names the public address.
PUBLIC_BASE_URL = env.str(
    "PUBLIC_BASE_URL", default=f"http://localhost:{env.int('PORT', default=8000)}"
).rstrip("/")

INSTALLED_APPS = [
    # django.contrib.admin, with failed admin sign-ins throttled (hogsend_site/admin_site.py).
    "hogsend_site.apps.HogsendAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's assets, served from this server: /v1/docs/ works offline.
    "drf_spectacular_sidecar",
    "django_q",
    "anymail",
    # CORS for publishable browser keys only (see "Browser keys" below).
    "corsheaders",
    "hogsend_site",
    "contacts",
    "tracking",
    # Inbound webhook sources (/v1/webhooks/<source>): after tracking, before journeys.
    "sources",
    "journeys",
    # Buckets read the journeys' condition engine; ingest reaches them only
    # through its dispatch seam (tracking/dispatch.py).
    "buckets",
    # Broadcasts to a list or a bucket (campaigns/): after the buckets they read.
    "campaigns",
    "alerts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything that answers early, so preflights and errors carry CORS headers.
    "corsheaders.middleware.CorsMiddleware",
    # Static files (admin, API docs) from the app server itself, also under gunicorn.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Sessions, staff login and messages: not on the bearer-key API (auth_middleware.py).
    "hogsend_site.auth_middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "hogsend_site.auth_middleware.AuthenticationMiddleware",
    "hogsend_site.auth_middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Admin pages render times in STAFF_TIME_ZONE (hogsend_site/middleware.py).
    "hogsend_site.middleware.StaffTimeZoneMiddleware",
]

ROOT_URLCONF = "hogsend_site.urls"
WSGI_APPLICATION = "hogsend_site.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tracking.test_mode.context_processor",
                "hogsend_site.brand.context_processor",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'hogsend.sqlite3'}")
}
# var/ (git-ignored) holds the default SQLite file and the local outbox; a fresh
# clone has none, and SQLite cannot create the folder itself.
VAR_DIR.mkdir(exist_ok=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + IMMEDIATE transactions let the web server, qcluster and the clock
    # share one file without "database is locked" on lock upgrades.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's, with a health check that skips SELECT 1 while the connection
        # is quiet (hogsend_site/postgresql/base.py).
        DATABASES["default"]["ENGINE"] = "hogsend_site.postgresql"
        # Django's own cursors bind on the client and never prepare; without a
        # threshold psycopg would not prepare the hot ingest statements either
        # (hogsend_site/prepared.py).
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits) ------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        # django-q2 keeps each cluster's heartbeat (Stat) in a cache. Without Redis
        # it must be one every process sees, or /healthz (in the web process) never
        # sees the running qcluster. Its table comes with the migrations.
        "cluster": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "hogsend_cluster_cache",
        },
    }

# --- Queue (django-q2) --------------------------------------------------------
# The database is the source of truth for deferred work (see journeys.due); the
# broker only carries "run this now" hints, so at-most-once Redis is fine.
Q_CLUSTER = {
    "name": "hogsend",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=240),
    "retry": env.int("Q_RETRY", default=300),
    "max_attempts": 1,
    "ack_failures": True,
    "save_limit": env.int("Q_SAVE_LIMIT", default=1000),
    "catch_up": False,
    "time_zone": "UTC",
    "poll": 0.2,
    "label": "Tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["cache"] = "cluster"

# --- Email --------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="hogsend_site.mail.LocalOutboxBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Hogsend <hello@localhost>")
# The sender's brand on the emails and the hosted pages (hogsend_site/brand.py; a
# malformed colour or logo URL fails `manage.py check`). BRAND_NAME defaults to the
# display name of DEFAULT_FROM_EMAIL; BRAND_FOOTER is one line, e.g. a postal address.
BRAND_NAME = env.str("BRAND_NAME", default="")
BRAND_LOGO_URL = env.str("BRAND_LOGO_URL", default="")
BRAND_PRIMARY_COLOR = env.str("BRAND_PRIMARY_COLOR", default="#2563eb")
BRAND_BACKGROUND_COLOR = env.str("BRAND_BACKGROUND_COLOR", default="#f4f4f7")
BRAND_FOOTER = env.str("BRAND_FOOTER", default="")
EMAIL_OUTBOX_DIR = env.path("EMAIL_OUTBOX_DIR", default=VAR_DIR / "outbox")
ANYMAIL = {
    "WEBHOOK_SECRET": env.str("ANYMAIL_WEBHOOK_SECRET", default=""),
    "POSTMARK_SERVER_TOKEN": env.str("POSTMARK_SERVER_TOKEN", default=""),
    "RESEND_API_KEY": env.str("RESEND_API_KEY", default=""),
    "AMAZON_SES_CLIENT_PARAMS": {},
    # Other providers' keys, and the keys their webhooks verify signatures with.
    # Only those set: an empty Mailgun signing key would be an HMAC key anyone knows.
    **{name: value for name in (
        "MAILGUN_API_KEY", "MAILGUN_WEBHOOK_SIGNING_KEY", "SENDGRID_API_KEY",
        "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY", "BREVO_API_KEY", "RESEND_SIGNING_SECRET",
    ) if (value := env.str(name, default=""))},
}
SUPPORT_ALERT_EMAIL = env.str("SUPPORT_ALERT_EMAIL", default="support@example.com")
# Test mode (tracking/test_mode.py): every email goes to HOGSEND_TEST_EMAIL instead of
# its recipient, or is blocked and recorded when that is empty.
HOGSEND_TEST_MODE = env.bool("HOGSEND_TEST_MODE", default=False)
HOGSEND_TEST_EMAIL = env.str("HOGSEND_TEST_EMAIL", default="")
LEAD_ALERT_EMAIL = env.str("LEAD_ALERT_EMAIL", default="sales@example.com")
# The concierge onboarding's customer-success pages and the approval gate's requests.
CSM_ALERT_EMAIL = env.str("CSM_ALERT_EMAIL", default="csm@example.com")
APPROVER_EMAIL = env.str("APPROVER_EMAIL", default="approver@example.com")
# Email lists (topics) besides those declared in tracking/email_templates.py:
# [{"id": "product-updates", "name": "Product updates", "default_opt_in": True}].
EMAIL_LISTS: list[dict] = []
# Ids of the lists in use; unset means all.
ENABLED_LISTS = env.list("ENABLED_LISTS", default=None)
# Off by default: {"count": 3, "window": timedelta(days=1), "by_category": False,
# "exempt_categories": ["transactional"]}.
EMAIL_FREQUENCY_CAP = None
# Rate limits ("30/min"; empty for none): POST /v1/emails per API key, and the
# hosted pages' POSTs (comment, unsubscribe, preferences) per client IP.
EMAILS_RATE_LIMIT = env.str("EMAILS_RATE_LIMIT", default="30/min")
HOSTED_PAGE_RATE_LIMIT = env.str("HOSTED_PAGE_RATE_LIMIT", default="30/min")
# The answer page keeps every note and every changed answer, bounded per email per
# UTC day (the first note and the first answer aside): past the cap the page says
# it kept the earlier ones. Each note is at most 2,000 characters.
ANSWER_NOTES_PER_SEND_DAY = env.int("ANSWER_NOTES_PER_SEND_DAY", default=10)
ANSWER_CHANGES_PER_SEND_DAY = env.int("ANSWER_CHANGES_PER_SEND_DAY", default=10)
# Addresses or CIDRs of the proxies in front of the web server. X-Forwarded-For is
# read only from them, right to left, up to the first untrusted address (empty: the
# socket address is the client; hogsend_site/client_ip.py).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# The open pixel and click redirect answer every hit, but write rows for at most
# this many opens, and clicks beyond each link's first, per send per clock hour;
# the rest are counted on the send (EmailSend.opens_dropped / clicks_dropped).
# 0 lifts a cap. TRACKING_RATE_LIMIT: hits per client IP, over which nothing is
# written at all (the pixel and the redirect still answer).
TRACKING_OPENS_PER_SEND_HOUR = env.int("TRACKING_OPENS_PER_SEND_HOUR", default=10)
TRACKING_CLICKS_PER_SEND_HOUR = env.int("TRACKING_CLICKS_PER_SEND_HOUR", default=5)
TRACKING_RATE_LIMIT = env.str("TRACKING_RATE_LIMIT", default="600/min")
# JSON API bodies: the whole request (413 past it) and one event's properties (400).
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
API_MAX_PROPERTIES_BYTES = env.int("API_MAX_PROPERTIES_BYTES", default=64 * 1024)
# Django's own cap on any body it reads (webhooks, forms): never below the API's.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(2_621_440, API_MAX_BODY_BYTES)

# --- Product ------------------------------------------------------------------
DEFAULT_TIMEZONE = env.str("DEFAULT_TIMEZONE", default="UTC")
ENABLED_JOURNEYS = env.str("ENABLED_JOURNEYS", default="*")
# Packages (or modules) whose journeys are discovered at start-up.
JOURNEY_PACKAGES = env.list("JOURNEY_PACKAGES", default=["journeys.definitions"])
# Buckets (real-time segments) to evaluate: "*" or comma-separated ids; and the
# packages (or modules) whose buckets are discovered at start-up.
ENABLED_BUCKETS = env.str("ENABLED_BUCKETS", default="*")
BUCKET_PACKAGES = env.list("BUCKET_PACKAGES", default=["buckets.definitions"])
# Campaigns (broadcasts) defined in code: "*" or comma-separated ids; the packages
# (or modules) they are discovered in; and how many recipients one chunk of
# deferred work sends (the clock claims one chunk per pass beside the journeys).
ENABLED_CAMPAIGNS = env.str("ENABLED_CAMPAIGNS", default="*")
CAMPAIGN_PACKAGES = env.list("CAMPAIGN_PACKAGES", default=["campaigns.definitions"])
CAMPAIGN_CHUNK_SIZE = env.int("CAMPAIGN_CHUNK_SIZE", default=100)
# Inbound webhook sources served at /v1/webhooks/<source>: "*" serves every defined
# source whose secret is set (ZENDESK_WEBHOOK_SECRET, ...; see .env.example), a
# comma-separated list only those, "none" none. Secrets are read from the environment.
ENABLED_SOURCES = env.str("ENABLED_SOURCES", default="*")
SOURCE_PACKAGES = env.list("SOURCE_PACKAGES", default=["sources.definitions"])

# --- PostHog (optional) --------------------------------------------------------
# With host + project id + a personal API key (read persons), `ctx.when` asks
# PostHog for the person's $timezone / $geoip_time_zone before the contact's own.
POSTHOG_HOST = env.str("POSTHOG_HOST", default="").rstrip("/")
POSTHOG_PROJECT_ID = env.str("POSTHOG_PROJECT_ID", default="")
POSTHOG_PERSONAL_API_KEY = env.str("POSTHOG_PERSONAL_API_KEY", default="")
# Capture confirmed semantic answers as PostHog events (deferred, via the
# webhook delivery machinery) with the project API key.
POSTHOG_CAPTURE_ANSWERS = env.bool("POSTHOG_CAPTURE_ANSWERS", default=False)
POSTHOG_PROJECT_API_KEY = env.str("POSTHOG_PROJECT_API_KEY", default="")

# --- Outbound webhooks ---------------------------------------------------------
# Webhook endpoints must resolve to public addresses (alerts/egress.py); hosts
# named here (exact names or IP literals, e.g. "hooks.internal,127.0.0.1") may
# resolve anywhere: an internal receiver you mean to reach.
WEBHOOK_ALLOWED_HOSTS = env.list("WEBHOOK_ALLOWED_HOSTS", default=[])

# --- Localisation -------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# The zone the support console and the support inbox's emails print times in
# (storage stays UTC); the customer's own time is shown beside it where it matters.
STAFF_TIME_ZONE = env.str("STAFF_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
# Datetimes Django renders itself (admin lists, read-only fields) name their zone.
FORMAT_MODULE_PATH = ["hogsend_site.formats"]

# --- Static -------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every start when it is missing
# Serve straight from the apps' static folders unless a deploy ran collectstatic and
# turned this off: the quick start and a plain gunicorn need no extra step.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)

# --- HTTPS (off for the local quick start; .env.production.example turns it on)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- REST API -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["hogsend_site.auth.BearerKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["hogsend_site.auth.HasIngestScope"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Size, depth, NUL and lone-surrogate limits (hogsend_site/json_limits.py).
    "DEFAULT_PARSER_CLASSES": ["hogsend_site.json_limits.LimitedJSONParser"],
    "EXCEPTION_HANDLER": "hogsend_site.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "hogsend_site.schema.AutoSchema",
    # Limits only views that require the admin scope (ADMIN_RATE_LIMIT).
    "DEFAULT_THROTTLE_CLASSES": ["hogsend_site.ratelimit.AdminPlaneThrottle"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Hogsend API",
    "DESCRIPTION": "Events, contacts and email for lifecycle journeys.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Pinned Swagger UI from drf-spectacular-sidecar, never a CDN's @latest.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Browser keys (CORS) -----------------------------------------------------
# Browsers may call only the routes publishable keys may use, from the origins of
# the usable publishable keys in the database (hogsend_site/browser_keys.py: read
# at most every 60 s, so a revoked or expired key's origin can pass CORS that long;
# the key itself is refused at once). No cookies.
CORS_URLS_REGEX = r"^/v1/(events|contacts|lists(/.*)?)$"
CORS_ALLOWED_ORIGINS: list[str] = []
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = ["authorization", "content-type", "idempotency-key"]
CORS_ALLOW_METHODS = ["GET", "OPTIONS", "POST", "PUT"]
CORS_PREFLIGHT_MAX_AGE = 600

# --- Logging ------------------------------------------------------------------
# LOG_FORMAT=json: one JSON object per line; every line logged inside a journey
# run carries its run id and contact key (hogsend_site/logging.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = logging_config(level=env.str("LOG_LEVEL", default="INFO"), fmt=LOG_FORMAT)

# --- Operations ---------------------------------------------------------------
# /healthz: a missing qcluster heartbeat is unhealthy only when required; the
# oldest due wake-up may be this many seconds late before it is unhealthy.
HEALTH_REQUIRE_CLUSTER = env.bool("HEALTH_REQUIRE_CLUSTER", default=False)
HEALTH_MAX_LATENESS = env.int("HEALTH_MAX_LATENESS", default=300)
# /metrics (Prometheus) answers only with `Authorization: Bearer <METRICS_TOKEN>`;
# without a token configured it is 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Admin-plane API calls per key: operators' scripts, not traffic, so 100/min is ample.
ADMIN_RATE_LIMIT = env.str("ADMIN_RATE_LIMIT", default="100/min")
# Each web process keeps API keys it has read this many seconds (no key query per
# request): the longest a key revoked in another process keeps working. 0: no cache.
API_KEY_CACHE_SECONDS = env.int("API_KEY_CACHE_SECONDS", default=10)
# Failed admin sign-ins per username and per client address; past either the login
# page answers 429, even to the right password, until the window ends.
ADMIN_LOGIN_RATE_LIMIT = env.str("ADMIN_LOGIN_RATE_LIMIT", default="5/min")
ADMIN_LOGIN_IP_RATE_LIMIT = env.str("ADMIN_LOGIN_IP_RATE_LIMIT", default="5/min")
# `manage.py prune` retention in days (0 keeps forever): raw link clicks, open
# events, timelines of finished runs, django-q2 task results.
PRUNE_CLICKS_DAYS = env.int("PRUNE_CLICKS_DAYS", default=180)
PRUNE_OPENS_DAYS = env.int("PRUNE_OPENS_DAYS", default=180)
PRUNE_LOGS_DAYS = env.int("PRUNE_LOGS_DAYS", default=90)
PRUNE_TASKS_DAYS = env.int("PRUNE_TASKS_DAYS", default=14)
# The daily prune schedule (sync_schedules installs it); off when cron runs
# `manage.py prune` instead.
PRUNE_SCHEDULE_ENABLED = env.bool("PRUNE_SCHEDULE_ENABLED", default=True)
