"""Settings for the merchant back-office, read from the environment.

One file for every environment: differences live in environment variables (see `.env.example`),
optionally kept in a `.env` file next to manage.py.
The defaults are the embedded mode: SQLite under `var/`, django-q2 on the ORM broker, DEBUG on.
With DEBUG off the settings fail closed: a missing SECRET_KEY or ALLOWED_HOSTS stops start-up.
"""

import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
# A checkout's .env (made from .env.example by `make run`) fills in what the environment does
# not set; the environment always wins. ENV_FILE="" reads none (tests, production images).
ENV_FILE = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE:
    load_dotenv(ENV_FILE, override=False)
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    value = env_str(name)
    if not value:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = env_str(name)
    if not value:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off. Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    # Development only: a per-checkout key kept under var/ so sessions survive restarts.
    _dev_key_file = VAR_DIR / "dev-secret-key"
    if _dev_key_file.exists():
        SECRET_KEY = _dev_key_file.read_text().strip()
    else:
        import secrets

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        SECRET_KEY = secrets.token_urlsafe(50)
        _dev_key_file.write_text(SECRET_KEY)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "merchant.apps.MerchantAdminConfig",  # django.contrib.admin, with models grouped by task
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "phonenumber_field",
    "django_countries",
    "anymail",
    "merchant.apps.MerchantConfig",
    "journeys.apps.JourneysConfig",
    "reviews.apps.ReviewsConfig",
    "returns.apps.ReturnsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "merchant.http_errors.BodySizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "merchant.middleware.ShopTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "merchant.urls"
WSGI_APPLICATION = "merchant.wsgi.application"
ASGI_APPLICATION = "merchant.asgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Embedded default: one SQLite file under var/. PostgreSQL when DATABASE_URL is set.
SQLITE_PATH = VAR_DIR / "merchant.sqlite3"
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{SQLITE_PATH}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 600))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets the web process read while the cluster writes; IMMEDIATE takes the write lock at
    # BEGIN so two writers queue on the busy timeout instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: the plans it pays off for are one-off aggregates (the dashboard, a campaign's
    # fan-out), where compiling took longer than running them; the outbox's statements never reach it.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background work (django-q2) --------------------------------------------------------------
# ORM broker on the embedded default (receipts: nothing is lost when a cluster dies); Redis when
# REDIS_URL is set. timeout < retry so a slow task is killed before it is handed out again;
# our own code retries, so django-q2 runs each task once; successes are pruned, not capped.
REDIS_URL = env_str("REDIS_URL")
Q_CLUSTER = {
    "name": env_str("Q_CLUSTER_NAME", "merchant"),
    "workers": env_int("Q_WORKERS", 3),
    "timeout": 240,
    "retry": 300,
    "max_attempts": 1,
    "ack_failures": True,
    "save_limit": 0,
    "catch_up": False,
    "bulk": 10,
    "recycle": 500,
    "poll": 0.5,
    "scheduler": env_bool("Q_SCHEDULER", True),
    "sync": env_bool("Q_SYNC", False),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Auth and security ----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    # Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER_FORWARDED_PROTO=true.
    if env_bool("SECURE_PROXY_SSL_HEADER_FORWARDED_PROTO", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Languages and time ---------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("ru", "Русский"),
    ("ko", "한국어"),
    ("zh-hans", "简体中文"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Our corrections of Django's date formats for some languages (merchant/formats/<language>/formats.py).
FORMAT_MODULE_PATH = ["merchant.formats"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

PHONENUMBER_DEFAULT_FORMAT = "E164"
PHONENUMBER_DB_FORMAT = "E164"

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or VAR_DIR / "static")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Uploaded files (photos and videos of reviews). Never served from here directly: the review page and
# the admin serve each file to whoever may see it (reviews/views.py).
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
# Headless Chromium prints dispute evidence packets to PDF; empty: `chromium` on the PATH (Debian's package).
CHROMIUM_PATH = env_str("CHROMIUM_PATH")
MEDIA_URL = "media/"

# --- Email and logging ----------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "care@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- Messages (journeys) --------------------------------------------------------------------
# Providers per channel: console (logs and records as sent; the development default for SMS),
# django (email through EMAIL_BACKEND), twilio (SMS over Twilio's REST API, see TWILIO_*).
JOURNEYS_SMS_PROVIDER = env_str("JOURNEYS_SMS_PROVIDER", "console")
JOURNEYS_EMAIL_PROVIDER = env_str("JOURNEYS_EMAIL_PROVIDER", "django")
# Embedded mode: a django-q2 schedule drains the outbox every minute. Turn it off when separate
# `manage.py dispatch` processes run (scale-out).
JOURNEYS_EMBEDDED_DISPATCH = env_bool("JOURNEYS_EMBEDDED_DISPATCH", True)
JOURNEYS_DISPATCH_BATCH = env_int("JOURNEYS_DISPATCH_BATCH", 100)
# Lease and due times use the database clock so dispatchers on several machines agree.
JOURNEYS_CLOCK = env_str("JOURNEYS_CLOCK", "database")
# PostgreSQL: the planner's and dispatcher's hot statements are prepared once per connection
# (journeys/prepared_statements.py).
# Turn off behind a pooler that does not keep prepared statements (pgbouncer transaction mode < 1.21).
JOURNEYS_PREPARED_STATEMENTS = env_bool("JOURNEYS_PREPARED_STATEMENTS", True)
# Browser notifications (Web Push) to customers who ask for them on an order's status page: webpush
# (pywebpush, signed with the VAPID keys below) or console (logged and recorded as sent).
JOURNEYS_PUSH_PROVIDER = env_str("JOURNEYS_PUSH_PROVIDER", "webpush")
# The application server's VAPID key pair (RFC 8292): the private key as base64url (the raw 32 bytes, as
# `npx web-push generate-vapid-keys` or `vapid --gen` print it, or DER) or PEM; the public key is derived
# from it and, when given too, must match. Unset: in development a pair is generated once under VAR_DIR
# (journeys/push/vapid.py); in production the status page does not offer notifications.
VAPID_PRIVATE_KEY = env_str("VAPID_PRIVATE_KEY").replace("\\n", "\n")
VAPID_PUBLIC_KEY = env_str("VAPID_PUBLIC_KEY")
# Who push services may contact about our notifications: mailto: or https:. Unset: mailto:DEFAULT_FROM_EMAIL.
VAPID_SUBJECT = env_str("VAPID_SUBJECT")
# Push services a browser's subscription may point at (a host, or ".domain" for its subdomains): the
# dispatcher POSTs to a subscription's endpoint, so an endpoint elsewhere is refused when subscribing.
JOURNEYS_PUSH_SERVICE_HOSTS = env_list(
    "JOURNEYS_PUSH_SERVICE_HOSTS",
    [
        "fcm.googleapis.com",  # Chrome, Edge on Android, Opera, Samsung Internet
        "updates.push.services.mozilla.com",  # Firefox
        ".push.apple.com",  # Safari
        ".notify.windows.com",  # Edge on Windows
    ],
)
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER")
TWILIO_MESSAGING_SERVICE_SID = env_str("TWILIO_MESSAGING_SERVICE_SID")
TWILIO_BASE_URL = env_str("TWILIO_BASE_URL", "https://api.twilio.com")
TWILIO_STATUS_CALLBACK_URL = env_str("TWILIO_STATUS_CALLBACK_URL")
TWILIO_RATE_PER_SECOND = float(env_str("TWILIO_RATE_PER_SECOND", "0") or 0)
TWILIO_DAILY_CAP = env_int("TWILIO_DAILY_CAP", 0) or None
TWILIO_CONCURRENCY = env_int("TWILIO_CONCURRENCY", 16)
# The dashboard's estimate of what texts cost (SMS segments x price) for shops without an SMS account of
# their own; a shop's account carries its own price. An estimate only: the provider's invoice is what counts.
JOURNEYS_SMS_PRICE_PER_SEGMENT = env_str("JOURNEYS_SMS_PRICE_PER_SEGMENT", "0.0083")
if not re.fullmatch(r"\d{1,3}(\.\d{1,5})?", JOURNEYS_SMS_PRICE_PER_SEGMENT):
    raise ImproperlyConfigured("JOURNEYS_SMS_PRICE_PER_SEGMENT must be a price such as 0.0083.")
JOURNEYS_SMS_PRICE_CURRENCY = env_str("JOURNEYS_SMS_PRICE_CURRENCY", "USD")
if not re.fullmatch(r"[A-Z]{3}", JOURNEYS_SMS_PRICE_CURRENCY):
    raise ImproperlyConfigured("JOURNEYS_SMS_PRICE_CURRENCY must be a three-letter code such as USD.")

# Where customers reach this app: links in messages (unsubscribe page, tracked links) are absolute
# URLs on this address. Unset: localhost in development, else https:// and the first ALLOWED_HOSTS.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL").rstrip("/")
if not PUBLIC_BASE_URL:
    _public_host = ALLOWED_HOSTS[0] if ALLOWED_HOSTS else ""
    if DEBUG:
        PUBLIC_BASE_URL = "http://localhost:8000"
    elif _public_host and not _public_host.startswith(".") and "*" not in _public_host:
        PUBLIC_BASE_URL = f"https://{_public_host}"
    else:
        raise ImproperlyConfigured("PUBLIC_BASE_URL must be set, e.g. https://care.example.com.")
if not PUBLIC_BASE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(f"PUBLIC_BASE_URL must start with https:// or http://, not {PUBLIC_BASE_URL!r}.")
# Links in messages become short /l/<token> links that count clicks (see docs/email.md).
JOURNEYS_TRACKED_LINKS = env_bool("JOURNEYS_TRACKED_LINKS", True)
# Optional mailbox named in every email's List-Unsubscribe header next to the one-click link.
# Mail sent there is not read by this app: point it at your ESP's unsubscribe handling or a person.
JOURNEYS_UNSUBSCRIBE_MAILTO = env_str("JOURNEYS_UNSUBSCRIBE_MAILTO")

# django-anymail: every ANYMAIL_<NAME> variable becomes ANYMAIL["<NAME>"], e.g.
# ANYMAIL_POSTMARK_SERVER_TOKEN, ANYMAIL_MAILGUN_API_KEY, ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY.
# ANYMAIL_WEBHOOK_SECRET ("user:password", comma-separated to rotate) guards the email event
# webhooks; without it they answer 403.
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): {"true": True, "false": False}.get(value.strip().lower(), value.strip())
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_") and value.strip()
}
if "WEBHOOK_SECRET" in ANYMAIL:
    ANYMAIL["WEBHOOK_SECRET"] = env_list("ANYMAIL_WEBHOOK_SECRET")

# Bodies of API calls and webhooks are limited to 1 MB (BodySizeLimitMiddleware answers 413).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# Rate limits of API keys are counted here: per process by default, shared through Redis.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["merchant.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["merchant.api.authentication.HasSecretApiKey"],
    "DEFAULT_THROTTLE_CLASSES": ["merchant.api.authentication.ApiKeyRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "merchant.api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Merchant back-office API",
    "DESCRIPTION": "Feed customers, orders and order events from your own systems. "
    "Authenticate with `Authorization: Bearer <secret API key>`. The storefront endpoints (a product's reviews) "
    "also take the shop's publishable key, from the shop's own web pages.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "merchant.models.Order.Status",
        "ShipmentStatusEnum": "merchant.models.Shipment.Status",
        "LanguageEnum": "merchant.models.LANGUAGE_CHOICES",
    },
}
