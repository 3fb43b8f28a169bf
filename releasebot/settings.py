"""Releasebot settings: one file, everything from the environment (see .env.example).

With nothing set, Releasebot runs on embedded defaults: SQLite and a file-based Celery broker,
both under DATA_DIR. With DATABASE_URL and REDIS_URL it runs on PostgreSQL and Redis.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import csp.constants as csp
import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from common.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("RELEASEBOT_DATA_DIR", str(BASE_DIR / "var"))).resolve()
# SQLite, the file broker, managed clones and collected static files all live here.
DATA_DIR.mkdir(parents=True, exist_ok=True)
(BASE_DIR / "staticfiles").mkdir(exist_ok=True)  # whitenoise warns on every request without it

DEBUG = env_bool("DEBUG", False)
_DEV_SECRET = "insecure-dev-key-only-for-local-runs-never-in-production"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    # Without DEBUG there is no safe default: refuse to start rather than sign with a known key.
    raise ImproperlyConfigured("SECRET_KEY must be set (or DEBUG=1 for a local run)")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The port `make run` (bin/run) serves on; unless SITE_URL says otherwise, links point there.
PORT = env_int("PORT", 8000, minimum=1)
SITE_URL = env_str("SITE_URL", f"http://127.0.0.1:{PORT}").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served locally: the docs work offline
    "django_htmx",
    "common",
    "chat",
    "pushes",
    "karma",
    "forges",
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
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "releasebot.urls"
WSGI_APPLICATION = "releasebot.wsgi.application"

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
                "releasebot.context_processors.roles",
            ],
        },
    },
]

# Database: SQLite under DATA_DIR unless DATABASE_URL is set. Web, worker and beat share the
# SQLite file, so it runs in WAL mode with a busy timeout and takes its write lock up front
# (IMMEDIATE) instead of failing with "database is locked" half-way through a transaction.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "releasebot.sqlite3"),
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A file, not memory, so a worker thread or process in tests sees the same data.
            "TEST": {"NAME": str(DATA_DIR / "test-releasebot.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"  # built into the image, not kept on the data volume

# --- HTTPS: on by default without DEBUG ---
# Production sits behind a proxy that ends TLS and sets X-Forwarded-Proto. Without DEBUG,
# cookies are secure-only, plain HTTP is redirected and HSTS is sent (a year, subdomains,
# preload), so `manage.py check --deploy` is clean with only SECRET_KEY and ALLOWED_HOSTS set
# (tests/security/test_deploy.py). Plain HTTP on localhost (docker-compose) sets
# SECURE_COOKIES=0 and SECURE_SSL_REDIRECT=0; SECURE_HSTS_SECONDS=0 sends no HSTS at all.
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
# Trusting X-Forwarded-Proto is opt-in: only a proxy that sets it (and drops a client's own)
# may be believed. Behind such a proxy, with SECURE_SSL_REDIRECT on, leaving it off loops.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("SECURE_PROXY_SSL_HEADER", False) else None
)
# --- end of HTTPS ---

# --- sign-in throttling (django-axes) ---
# Failed sign-ins on /login/ and /api/auth/token/ lock out, for LOGIN_LOCKOUT_MINUTES, an
# account guessed at from anywhere and an address guessing at any account (either counts to
# LOGIN_FAILURE_LIMIT). Admins see attempts and lock-outs in /admin/ and lift them there or
# with `manage.py axes_reset`. A right password resets the count.
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last, as axes asks
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "releasebot.signin.lockout_response"
AXES_CLIENT_IP_CALLABLE = "releasebot.signin.client_ip"
# Behind N reverse proxies that each append to X-Forwarded-For, the client is the N-th address
# from its right; 0 (no proxy): the connection's own address. Wrong here, every sign-in shares
# the proxy's address, and one guesser locks everyone out.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
# --- end of sign-in throttling ---

# --- sign-in with OpenID Connect (mozilla-django-oidc; issue 17, item 6) ---
# On when the issuer, the client and the provider's four endpoints are all set; the password
# form stays either way (the embedded mode has no provider). The endpoints are named, not
# discovered from <issuer>/.well-known/openid-configuration: a provider that is down would then
# stop every process from starting, password sign-in with it (README, "Sign in with OpenID
# Connect", shows how to read them from that document). Some set and some not stops start-up.
# The library's settings are defined (empty) when it is off: its views read them when built.
# Off, /oidc/ is not routed (releasebot/urls.py) and the backend is not listed; releasebot/oidc.py
# has the backend (engineers, roles, Slack) and the views.
_OIDC = {
    name: env_str(name)
    for name in (
        "OIDC_ISSUER",
        "OIDC_CLIENT_ID",
        "OIDC_CLIENT_SECRET",
        "OIDC_AUTHORIZATION_ENDPOINT",
        "OIDC_TOKEN_ENDPOINT",
        "OIDC_USERINFO_ENDPOINT",
        "OIDC_JWKS_ENDPOINT",
    )
}
OIDC_ENABLED = all(_OIDC.values())
if any(_OIDC.values()) and not OIDC_ENABLED:
    _missing = ", ".join(name for name, value in _OIDC.items() if not value)
    raise ImproperlyConfigured(
        f"Sign-in with OpenID Connect needs {_missing} too (README, 'Sign in with OpenID Connect')"
    )
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "single sign-on")
OIDC_ISSUER = _OIDC["OIDC_ISSUER"]  # the id_token's `iss` must be exactly this
OIDC_CLIENT_SECRET = _OIDC["OIDC_CLIENT_SECRET"]  # a product secret (common/redact.py)
OIDC_RP_CLIENT_ID = _OIDC["OIDC_CLIENT_ID"]  # the id_token's `aud` must hold this
OIDC_RP_CLIENT_SECRET = OIDC_CLIENT_SECRET
OIDC_OP_AUTHORIZATION_ENDPOINT = _OIDC["OIDC_AUTHORIZATION_ENDPOINT"]
OIDC_OP_TOKEN_ENDPOINT = _OIDC["OIDC_TOKEN_ENDPOINT"]
OIDC_OP_USER_ENDPOINT = _OIDC["OIDC_USERINFO_ENDPOINT"]
OIDC_OP_JWKS_ENDPOINT = _OIDC["OIDC_JWKS_ENDPOINT"]
OIDC_RP_SIGN_ALGO = "RS256"  # only: a token signed otherwise (or "none") is refused
OIDC_RP_SCOPES = env_str("OIDC_SCOPES", "openid email profile")
OIDC_TOKEN_USE_BASIC_AUTH = env_bool("OIDC_TOKEN_USE_BASIC_AUTH", False)  # else in the form
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 10  # seconds per call to the provider (the library's default waits for ever)
OIDC_CALLBACK_CLASS = "releasebot.oidc.CallbackView"
OIDC_AUTHENTICATE_CLASS = "releasebot.oidc.AuthenticateView"
LOGIN_REDIRECT_URL_FAILURE = "login"  # with the reason in a message
# The claim that says who runs releases, and its values that do; read at every sign-in. Unset:
# a new engineer is an engineer, and roles are changed in the admin only.
OIDC_ROLE_CLAIM = env_str("OIDC_ROLE_CLAIM")
OIDC_RELEASE_ENGINEER_VALUES = env_list("OIDC_RELEASE_ENGINEER_VALUES", [])
INSTALLED_APPS += ["mozilla_django_oidc"]  # no models; after django.contrib.auth, as it asks
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS += ["releasebot.oidc.Backend"]  # after axes': lock-outs hold
# --- end of sign-in with OpenID Connect ---

# --- Content-Security-Policy and the other response headers (issue 14, item 6) ---
# django-csp (Mozilla's, maintained) rather than a middleware of our own: the policy is data
# here, a view can be given its own (csp.decorators), and a nonce is only put in the header of
# a response whose page used one. The policy allows no inline script, no on* attribute, no eval
# and no inline style: templates load common/static/releasebot/app.js and app.css, and htmx's
# eval and indicator styles are off (base.html). One exception: the push dashboard's pygal
# charts carry <style> elements with the request's nonce (pushes/charts.py); the nonce source
# is only sent on that page. tests/security/test_headers.py and tests/browser/test_csp.py.
INSTALLED_APPS += ["csp"]  # its system checks
MIDDLEWARE += ["csp.middleware.CSPMiddleware"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF, csp.NONCE],  # the nonce only where a page asked for it
        "img-src": [csp.SELF, "data:"],  # data: for the favicon in base.html
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "frame-ancestors": [csp.NONE],
        "form-action": [csp.SELF],
    },
}
# Django's defaults, set here so they are visible and tested: no framing (with frame-ancestors
# above), no MIME sniffing, no referrer to other origins, a window of our own.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# --- end of Content-Security-Policy ---

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "releasebot.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "common.api.Pagination",  # refuses limit=x, offset=-1
    # Refusals from the domain and DRF's validation errors share one error shape.
    "EXCEPTION_HANDLER": "common.api.exception_handler",
    # DRF's JSON parser with a depth limit (a deeply nested body was a RecursionError), then
    # the form parsers DRF has by default.
    "DEFAULT_PARSER_CLASSES": [
        "common.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Releasebot API",
    "DESCRIPTION": "Release trains and cherry-picks: branches, pushes, picks and revisions.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # The API takes JSON. DRF also reads forms (its test client and browsable pages send them),
    # but that is not part of the contract, so the schema lists JSON only.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery. Redis when REDIS_URL is set, else kombu's filesystem transport under DATA_DIR.
# Delivery is at-least-once (acks_late + reject_on_worker_lost): every task is idempotent and the
# database, not the broker, records what is done and what is due.
REDIS_URL = env_str("REDIS_URL")
CELERY_QUEUE_DIR = DATA_DIR / "celery" / "queue"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        # Longer than any countdown we use, so Redis never redelivers a message still waiting.
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 4 * 3600, minimum=60),
    }
else:
    CELERY_BROKER_URL = "filesystem://localhost//"
    # kombu's filesystem transport, with whole-file writes (releasebot/broker.py says why).
    CELERY_BROKER_TRANSPORT = "releasebot.broker:Transport"
    # Remote control broadcasts over fanout files to every process; nothing here uses it.
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR),
        "data_folder_out": str(CELERY_QUEUE_DIR),
        "control_folder": str(DATA_DIR / "celery" / "control"),  # else ./control in the cwd
        "polling_interval": 0.05,  # seconds between looks at the queue folder (docs/DEPLOY.md)
    }
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_MAX_TASKS_PER_CHILD = 200  # GitPython is not made for long-lived processes
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3 * 3600, minimum=60)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celery" / "beat-schedule")
# Celery's file scheduler that makes its folder and fires only while it holds the beat lock
# (Redis key, or a file lock when embedded): a second beat waits, and takes over within
# RELEASEBOT_BEAT_LOCK_SECONDS of the first dying.
CELERY_BEAT_SCHEDULER = "releasebot.beat:Scheduler"
BEAT_LOCK_SECONDS = env_int("RELEASEBOT_BEAT_LOCK_SECONDS", 30, minimum=1)
CELERY_TIMEZONE = "UTC"
# Per-repository cadence is data: beat only ticks, the tick reads each repository's settings.
CELERY_BEAT_SCHEDULE = {
    "train-tick": {
        "task": "pushes.tasks.train_tick",
        "schedule": crontab(),  # every minute: cut branches that are due
    },
    "trunk-sync": {
        "task": "pushes.tasks.trunk_sync_all",
        "schedule": crontab(),  # every minute: fetch trunk and index new commits
    },
    "forge-sweep": {
        "task": "forges.tasks.forge_sweep",
        "schedule": crontab(),  # every minute: pick asks and write-backs left undone
    },
    "risk-check": {
        "task": "pushes.tasks.picks_risk_check",
        "schedule": crontab(minute="*/10"),  # the risk dashboard's kept ranks, put right
    },
    "outbox-relay": {
        "task": "common.tasks.outbox_relay",
        "schedule": 10.0,  # seconds: what a commit could not queue (the broker was down)
    },
}

# The cache: Redis when REDIS_URL is set (shared by web and worker processes), else per process.
# Revision status answers live there up to RELEASEBOT_STATUS_CACHE_SECONDS, dropped as soon as
# anything they show changes (pushes/statuscache.py); 0 turns that off, as it is without Redis.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "releasebot",
        }
    }
RELEASEBOT_STATUS_CACHE_SECONDS = env_int(
    "RELEASEBOT_STATUS_CACHE_SECONDS", 300 if REDIS_URL else 0, minimum=0
)

# Releasebot's own settings.
GIT_TIMEOUT = env_int("GIT_TIMEOUT", 600, minimum=5)
KARMA_STARTING_STARS = 5
KARMA_PICK_THRESHOLD = env_int("KARMA_PICK_THRESHOLD", 2, minimum=0)
SLACK_BOT_TOKEN = env_str("SLACK_BOT_TOKEN")
SLACK_SIGNING_SECRET = env_str("SLACK_SIGNING_SECRET")
SLACK_APP_TOKEN = env_str("SLACK_APP_TOKEN")
# Slack's Web API; only tests (or a proxy) change it.
SLACK_API_URL = env_str("SLACK_API_URL", "https://slack.com/api/")
# Chat notifiers (dotted paths of classes with deliver/announce/answered): Slack when a bot token
# is set. The web inbox works either way.
RELEASEBOT_NOTIFIERS: list[str] = ["chat.notifier.SlackNotifier"] if SLACK_BOT_TOKEN else []

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # At DEBUG it logs a page's whole context (the CSRF token with it) on a missing variable.
        "django.template": {"level": "INFO"},
        # Each failed sign-in is an AccessAttempt (Admin); lock-outs are logged as warnings.
        "axes": {"level": "WARNING"},
    },
}
