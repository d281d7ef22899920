"""
Settings for the Capacity Building Tracker, read from environment variables.

Every setting that varies between machines comes from the environment (see the
README for the full list). A bad value fails loudly at start-up with
ImproperlyConfigured rather than being silently replaced by a default.
"""

import datetime
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A developer's .env file, if any; never committed (.gitignore).
environ.Env.read_env(BASE_DIR / ".env")


def _env_bool(name, default):
    """A boolean variable; anything but a recognised spelling is an error."""
    raw = env.str(name, default=None)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def _env_int(name, default, minimum=0):
    raw = env.str(name, default=None)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


DEBUG = _env_bool("DEBUG", False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off. Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    # Only ever used with DEBUG on, on a developer's machine.
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django_countries",
    "django_filters",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "import_export",
    "axes",
    # The shared layer first: the apps build on it (its template tags, its counter).
    "core",
    "partners",
    "projects",
]

MIDDLEWARE = [
    # Outermost: anonymous API reads answered from the cache, stored with every header the
    # stack adds, so tracker.wsgi's front can replay them without Django.
    "core.cache.responses.APIResponseCacheMiddleware",
    # Next, so every response gets the CSP and the other security headers (core/security.py).
    "core.security.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # After authentication: refuses locked-out login attempts (django-axes).
    "axes.middleware.AxesMiddleware",
    # Last, so it sees the exceptions of the views (a database outage becomes a 503).
    "core.db_errors.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "tracker.urls"

# Who is a partner's liaison officer, and of which partners (core.models.liaison_partner_ids):
# the domain says, the shared layer asks through this function.
LIAISON_PARTNERS = "partners.models.liaison_partner_ids"
# Where a liaison officer (who has no admin access) signs in: django.contrib.auth's views.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "tracker" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "projects.context_processors.data_as_of",
                "projects.context_processors.liaison",
            ],
        },
    },
]

WSGI_APPLICATION = "tracker.wsgi.application"

# Database: an SQLite file by default, PostgreSQL (psycopg 3) through DATABASE_URL.
try:
    DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
except Exception as exc:  # django-environ raises several types for a malformed URL
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
if DATABASES["default"]["ENGINE"] not in {
    "django.db.backends.sqlite3",
    "django.db.backends.postgresql",
}:
    raise ImproperlyConfigured("DATABASE_URL must be a sqlite:// or postgres:// URL.")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Persistent connections, checked before reuse so a restarted server is survived.
    DATABASES["default"]["CONN_MAX_AGE"] = _env_int("CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", _env_int("DB_CONNECT_TIMEOUT", 5, 1))
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    # Wait for a lock rather than fail at once when two requests write together.
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    # Take the write lock when a transaction starts, so a second writer waits for it
    # (up to the timeout) instead of failing at once with "database is locked".
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")

# Cache: local memory by default (one process); Redis in production, shared by every
# app server (CACHE_URL=redis://127.0.0.1:6379/1).
try:
    CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://tracker")}
except Exception as exc:
    raise ImproperlyConfigured(f"CACHE_URL is not a valid cache URL: {exc}") from exc
# Several deployments (or the benchmark's servers) may share one Redis under their own prefix.
CACHES["default"]["KEY_PREFIX"] = env.str("CACHE_KEY_PREFIX", default="")

# The API's response cache and cached list counts (core/cache/responses.py) are keyed on a
# data version every write bumps; that only holds if every app process shares the cache,
# so they are on by default only with a shared one (Redis), never with local memory.
_SHARED_CACHE = not CACHES["default"]["BACKEND"].endswith(("LocMemCache", "DummyCache"))
API_RESPONSE_CACHE = _env_bool("API_RESPONSE_CACHE", _SHARED_CACHE)
API_COUNT_CACHE = _env_bool("API_COUNT_CACHE", _SHARED_CACHE)
API_CACHE_SECONDS = _env_int("API_CACHE_SECONDS", 600, 1)
# The release's name (a deploy's commit, say), joined to every cache key and streamed
# ETag so a new release starts from fresh entries; empty: a digest of the code
# (core/release.py).
TRACKER_RELEASE = env.str("TRACKER_RELEASE", default="")
# Each app process keeps its own copy of the response cache's entries, up to this many
# bytes of bodies, and learns of data version changes from Redis (core/cache/front.py).
API_FRONT_CACHE_BYTES = _env_int("API_FRONT_CACHE_BYTES", 16 * 1024 * 1024, 0)

# Backups (manage.py export_data) keep datetimes to the microsecond.
SERIALIZATION_MODULES = {"backup-json": "projects.backup_format"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Brute-force protection for the admin login (django-axes): after AXES_FAILURE_LIMIT
# failed attempts an account/IP pair is locked out for AXES_COOLOFF_MINUTES; other users,
# and API tokens (which never go through the login form), are unaffected.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = _env_int("AXES_FAILURE_LIMIT", 5, 1)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=_env_int("AXES_COOLOFF_MINUTES", 15, 1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# Behind proxies the client's address is in X-Forwarded-For, which each proxy extends;
# AXES_IPWARE_PROXY_COUNT says how many proxies stand in front of the app (0: none, the
# client's address is REMOTE_ADDR), and only the addresses they wrote are trusted
# (core.security.client_ip_address).
AXES_IPWARE_PROXY_COUNT = _env_int("AXES_IPWARE_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "core.security.client_ip_address"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ja", "日本語")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# Production serves hashed, compressed files listed in a manifest written by
# `collectstatic`; development and the test suite serve the files as they are.
STATIC_MANIFEST = _env_bool("STATIC_MANIFEST", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Where the source documents behind the citations live (the seed data's evidence).
SOURCES_DIR = Path(env.str("SOURCES_DIR", default=str(BASE_DIR.parent / "shared" / "sources")))

# Security. Production defaults are on whenever DEBUG is off; each can be turned off
# through the environment (e.g. SECURE_SSL_REDIRECT=false behind a TLS-terminating proxy
# that does not set X-Forwarded-Proto).
SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# A load balancer's health check may speak plain HTTP to an app server.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = _env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = _env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = _env_bool("CSRF_COOKIE_SECURE", not DEBUG)
if _env_bool("USE_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# The admin is the staff's only door; keep uploads bounded (import files).
DATA_UPLOAD_MAX_MEMORY_SIZE = _env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024, 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE

# django-import-export: all-or-nothing imports; importing needs "change", exporting "view".
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
# The uploaded file waits between preview and confirmation in the cache (shared by every
# app server), not on one server's disk.
# (projects.admin.ImportUploadStorage: the cache, kept at most an hour.)
IMPORT_EXPORT_TMP_STORAGE_CLASS = "core.admin.ImportUploadStorage"

# django-simple-history: record history for bulk operations and keep the admin's revert.
SIMPLE_HISTORY_REVERT_DISABLED = False
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# REST API (/api/v1/). The API engineer's section: authentication, permissions,
# throttling, pagination and the error shape are configured here.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.TokenAuthentication",  # DRF's, saying how to send a token
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # Writes take JSON only: one encoding with a null, lists and types, where form
    # encodings would blur "" with null and a list with a repeated key.
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.StrictJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.ReadOrModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.TrackerPagination",
    "DEFAULT_RENDERER_CLASSES": [
        "core.api.renderers.ORJSONRenderer",  # DRF's JSONRenderer, byte for byte, faster
        "rest_framework.renderers.BrowsableAPIRenderer",
        "core.api.renderers.CSVRenderer",
    ],
    "EXCEPTION_HANDLER": "core.api.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "core.api.throttling.AnonThrottle",
        "core.api.throttling.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="120/minute"),
        "user": env.str("API_THROTTLE_USER", default="1200/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Capacity Building Tracker API",
    "DESCRIPTION": "Partners, projects, activities and their sources; reports and exports.",
    "VERSION": "1.0.0",
    # Relative: the paths are served from whichever host serves the schema (one deployment
    # does not know the others' names), and clients resolve "/" against the schema's URL.
    "SERVERS": [{"url": "/", "description": "The host this schema was read from."}],
    # Every operation's tag, described (Spectral's operation-tag-defined; `make schema-lint`).
    "TAGS": [
        {"name": "projects", "description": "Projects: a program's work with partners in fields over a span of years."},
        {"name": "activities", "description": "What a project did and when, to the precision its source gives."},
        {
            "name": "status-reports",
            "description": "Where a project stood as of a date, as a source says: its status is the latest.",
        },
        {"name": "partners", "description": "The partner militaries and organisations that receive assistance."},
        {"name": "fields", "description": "The thematic areas of assistance (HA/DR, maritime security, ...)."},
        {"name": "programs", "description": "The frameworks projects run under."},
        {
            "name": "program-events",
            "description": "A program's own dated events (its announcement, an update), as a source dates them.",
        },
        {"name": "sources", "description": "The documents the records come from, which citations point into."},
        {"name": "reports", "description": "Counts, the partner × field matrix and the timeline of the projects."},
        {"name": "iati", "description": "The published projects as an IATI 2.03 activities document."},
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Separate request and response components, so read-only fields (url, version, ...)
    # are not asked of clients that write.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.openapi.postprocess_errors_and_conditional_requests",
        "core.api.openapi.postprocess_staff_only_fields",
    ],
    "ENUM_NAME_OVERRIDES": {
        "CountryEnum": "core.api.openapi.country_choices",
        "PartnerKindEnum": "partners.models.Partner.Kind",
        "ActivityKindEnum": "projects.models.Activity.Kind",
        "ProjectStatusEnum": "projects.models.Project.Status",
        "ReportedStatusEnum": "projects.models.StatusReport.REPORTED",
        "ProgramEventKindEnum": "projects.models.ProgramEvent.Kind",
    },
}

# IATI export (/api/v1/iati/activities.xml, projects/iati.py): the reporting organisation.
# Its reference prefixes every activity identifier. No IATI identifier registered for the
# Ministry of Defense itself is known to us, and we do not invent one. The default is the
# OECD DAC code (registration agency XM-DAC) of the group it belongs to: donor 701 (Japan),
# agency 12, "Other Ministries" (JP-12 in IATI's legacy OrganisationIdentifier codelist,
# renamed XM-DAC-701-12 in IATI 2.01). It is shared with Japan's other ministries, so a
# deployment that publishes to the IATI Registry should set its own identifier.
IATI_REPORTING_ORG_REF = env.str("IATI_REPORTING_ORG_REF", default="XM-DAC-701-12").strip()
if not IATI_REPORTING_ORG_REF or any(c.isspace() or c in "/&|?" for c in IATI_REPORTING_ORG_REF):
    raise ImproperlyConfigured(
        f"IATI_REPORTING_ORG_REF must be an organisation identifier without spaces or / & | ?, "
        f"not {IATI_REPORTING_ORG_REF!r}."
    )
IATI_REPORTING_ORG_NAME = env.str("IATI_REPORTING_ORG_NAME", default="Ministry of Defense, Japan").strip()
if not IATI_REPORTING_ORG_NAME:
    raise ImproperlyConfigured("IATI_REPORTING_ORG_NAME must not be empty.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
