"""Essaim settings. Every value comes from the environment (see essaim/env.py, .env.example)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from django.utils.translation import gettext_lazy as _

from essaim.env import (
    BASE_DIR,
    ImproperlyConfiguredEnv,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_secret,
    env_str,
)

DEBUG = env_bool("DEBUG", False)
# The demo that `make run` starts: a catcher shows every mail to HQ and logins print on the
# console. Features meant only for it check this flag, never DEBUG, so a debug server stays safe.
DEMO = env_bool("DEMO", False)
SECRET_KEY = env_secret("SECRET_KEY", debug=DEBUG, dev_default="dev-only-insecure-key-change-me")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["127.0.0.1", "localhost", urlparse(SITE_URL).hostname or ""]
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [SITE_URL])
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "huey.contrib.djhuey",
    "essaim.accounts",
    "essaim.people",
    "essaim.mailing",
    "essaim.api",
    "essaim.devmail",
    "essaim.army",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "essaim.urls"
WSGI_APPLICATION = "essaim.wsgi.application"
ASGI_APPLICATION = "essaim.asgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "essaim" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "essaim.accounts.context_processors.navigation",
            ],
        },
    }
]


# --- Database -----------------------------------------------------------------------------------
def database_from_url(url: str) -> dict[str, Any]:
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfiguredEnv(f"DATABASE_URL scheme {parsed.scheme!r} is not supported")
    options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")) or "essaim",
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"connect_timeout": 10, **options},
        "TEST": {"NAME": env_str("TEST_DATABASE_NAME", "") or None},
    }


DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": Path(env_str("SQLITE_PATH", str(DATA_DIR / "essaim.sqlite3"))),
            "OPTIONS": {
                # WAL lets readers work while one writer writes; IMMEDIATE takes the write lock at
                # BEGIN so two writers queue on the busy timeout instead of failing mid-transaction.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA temp_store=MEMORY;"
                    "PRAGMA cache_size=-65536;"
                    "PRAGMA mmap_size=268435456;"
                ),
            },
        }
    }
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background jobs ----------------------------------------------------------------------------
# App code uses django.tasks; Huey runs them (SqliteHuey by default, RedisHuey with REDIS_URL).
REDIS_URL = env_str("REDIS_URL", "")
HUEY_IMMEDIATE = env_bool("HUEY_IMMEDIATE", False)
HUEY: dict[str, Any] = {
    "name": env_str("HUEY_NAME", "essaim"),
    "immediate": HUEY_IMMEDIATE,
    "utc": True,
    "consumer": {"workers": env_int("WORKER_THREADS", 2), "worker_type": "thread"},
}
if REDIS_URL:
    HUEY |= {"huey_class": "huey.RedisHuey", "url": REDIS_URL}
else:
    HUEY |= {"huey_class": "huey.SqliteHuey", "filename": str(DATA_DIR / "huey.sqlite3")}
TASKS = {"default": {"BACKEND": "huey.contrib.djhuey.tasks_backend.HueyBackend"}}

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_PREFIX", "essaim"),
            "TIMEOUT": 300,
        }
    }
else:
    # Shared by every process on the machine (rate limits must hold across gunicorn workers).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "essaim_cache",
            # The default (300 rows, then a third of the keys dropped) would drop rate-limit
            # counters under a modest sign-up load and let a flood through.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# --- Auth and security --------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = SITE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "style-src": ["'self'"],
    "script-src": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 512 * 1024 * 1024)

# --- I18n ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "essaim" / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

# --- Static and media ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "essaim" / "static",
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/swagger-ui", NODE_MODULES / "swagger-ui-dist"),
]
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "media")},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG
# Reference data (postcodes, départements, régions) shipped by an npm package installed at setup.
ZONES_DATA_DIR = NODE_MODULES / "@etalab" / "decoupage-administratif" / "data"

# --- Email --------------------------------------------------------------------------------------
# Transactional mail (confirmations, notifications). The demo points it at the local catcher.
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": env_str("EMAIL_HOST", "127.0.0.1"),
            "port": env_int("EMAIL_PORT", 1025),
            "username": env_str("EMAIL_HOST_USER", ""),
            "password": env_str("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", False),
            "use_ssl": env_bool("EMAIL_USE_SSL", False),
            "timeout": env_int("EMAIL_TIMEOUT", 15),
        },
    }
}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Essaim <ne-pas-repondre@essaim.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
DEVMAIL_ENABLED = env_bool("DEVMAIL_ENABLED", DEBUG)
DEVMAIL_PORT = env_int("DEVMAIL_PORT", 1025)

# --- Mass mailing (essaim.mailing) -------------------------------------------------------------
# The relay of the bulk sender (`essaim sender`): smtp://user:pass@host:port, smtps://… for TLS
# from the start, smtp://…?starttls=1 to require STARTTLS. Transactional mail keeps MAILERS.
BULK_SMTP_URL = env_str("BULK_SMTP_URL", "smtp://127.0.0.1:2525")
# Persistent connections per sender process (the global cap for the relay account), and the
# per-provider-group cap (connections working for one group at once).
BULK_SMTP_CONNECTIONS = env_int("BULK_SMTP_CONNECTIONS", 8)
BULK_SMTP_PER_PROVIDER = env_int("BULK_SMTP_PER_PROVIDER", 8)
BULK_SMTP_TIMEOUT = env_int("BULK_SMTP_TIMEOUT", 60)
# Rate shaping per provider group (gmail, microsoft, yahoo, orange, free, sfr, laposte, apple,
# other), per sender process: "group=N" lists, comma-separated. Connections per group override
# BULK_SMTP_PER_PROVIDER; rates are messages per second (a group not listed is not limited).
# A 421 or 4.7.x deferral halves the group's rate (not below BULK_SMTP_RATE_FLOOR), which then
# grows back by BULK_SMTP_RATE_RECOVERY messages/s per second. BULK_SMTP_RATE caps the whole
# relay account (messages per second, 0: no cap).
BULK_SMTP_GROUP_CONNECTIONS = env_str("BULK_SMTP_GROUP_CONNECTIONS", "")
BULK_SMTP_GROUP_RATES = env_str("BULK_SMTP_GROUP_RATES", "")
BULK_SMTP_RATE = env_float("BULK_SMTP_RATE", 0.0)
BULK_SMTP_RATE_FLOOR = env_float("BULK_SMTP_RATE_FLOOR", 1.0)
BULK_SMTP_RATE_RECOVERY = env_float("BULK_SMTP_RATE_RECOVERY", 1.0)
# Name given in EHLO (defaults to SITE_URL's host).
BULK_SMTP_HELO = env_str("BULK_SMTP_HELO", urlparse(SITE_URL).hostname or "localhost")
# Envelope senders are bounces+<delivery>-<hmac>@MAILING_VERP_DOMAIN (bounce intake parses them).
MAILING_VERP_DOMAIN = env_str("MAILING_VERP_DOMAIN", "bounces.essaim.localhost")
# Mailbox given as the mailto: of List-Unsubscribe (mail to it is taken by `essaim bounces`).
MAILING_UNSUBSCRIBE_MAILTO = env_str(
    "MAILING_UNSUBSCRIBE_MAILTO", "desinscription@essaim.localhost"
)
# Last part of the Feedback-ID header (Gmail's feedback loop groups complaints by it).
MAILING_FEEDBACK_ID = env_str("MAILING_FEEDBACK_ID", "essaim")
# Rows one sender may hold claimed at once: a crash turns at most this many into "unknown".
MAILING_MAX_CLAIMED = env_int("MAILING_MAX_CLAIMED", 1000)
# Seconds a claim lasts without a heartbeat before the janitor settles it as "unknown".
MAILING_LEASE_SECONDS = env_int("MAILING_LEASE_SECONDS", 120)
# Above this many recipients a second HQ user (not the campaign's author) must approve a launch.
MAILING_APPROVAL_THRESHOLD = env_int("MAILING_APPROVAL_THRESHOLD", 10_000)
# DKIM signing of campaign mail (RSA-2048, rsa-sha256, relaxed/relaxed): the PEM private key's
# path, the selector and the signing domain (d=); empty path: no signature.
DKIM_PRIVATE_KEY_PATH = env_str("DKIM_PRIVATE_KEY_PATH", "")
DKIM_SELECTOR = env_str("DKIM_SELECTOR", "essaim")
DKIM_DOMAIN = env_str("DKIM_DOMAIN", "")
# Bounce intake (`essaim bounces`): the SMTP server the VERP domain's MX points to. It accepts
# mail for valid bounces+<delivery>-<hmac>@MAILING_VERP_DOMAIN addresses only.
BOUNCES_HOST = env_str("BOUNCES_HOST", "127.0.0.1")
BOUNCES_PORT = env_int("BOUNCES_PORT", 2526)
# Largest message accepted (552 beyond), bytes of it kept for audit, seconds a client may idle.
BOUNCES_MAX_BYTES = env_int("BOUNCES_MAX_BYTES", 10 * 1024 * 1024)
BOUNCES_KEEP_BYTES = env_int("BOUNCES_KEEP_BYTES", 256 * 1024)
BOUNCES_TIMEOUT = env_int("BOUNCES_TIMEOUT", 60)
# An address whose mail failed temporarily this many times within the window is suppressed.
BOUNCES_SOFT_LIMIT = env_int("BOUNCES_SOFT_LIMIT", 3)
BOUNCES_SOFT_WINDOW_DAYS = env_int("BOUNCES_SOFT_WINDOW_DAYS", 30)
# Sender identities a campaign may use, "Name <address>" separated by commas.
MAILING_FROM_ADDRESSES = env_list(
    "MAILING_FROM_ADDRESSES", ["Campagne Essaim <equipe@essaim.localhost>"]
)

# --- Product settings ---------------------------------------------------------------------------
SIGNUP_CONFIRM_MAX_AGE = env_int("SIGNUP_CONFIRM_MAX_AGE", 3 * 24 * 3600)
SIGNUP_RATE_LIMIT = env_str("SIGNUP_RATE_LIMIT", "5/h")
# Volunteers' login links: valid this many seconds, once; requests per address and per IP.
MAGIC_LINK_MAX_AGE = env_int("MAGIC_LINK_MAX_AGE", 20 * 60)
MAGIC_LINK_RATE_LIMIT = env_str("MAGIC_LINK_RATE_LIMIT", "5/h")
# The link of a call for volunteers identifies its recipient for this many seconds (60 days).
CALL_LINK_MAX_AGE = env_int("CALL_LINK_MAX_AGE", 60 * 24 * 3600)
# A volunteer's role lapses after this many weeks without accepted work (periodic job).
ROLE_LAPSE_WEEKS = env_int("ROLE_LAPSE_WEEKS", 8)
# Invitations (the mondains): addresses one volunteer may submit per day (midnight to midnight,
# TIME_ZONE), invitation forms sent per volunteer (rate), days the invitee's confirmation link
# stays valid, points credited to the volunteer when an invitee confirms, and the limits of an
# uploaded address book (bytes read at most, addresses read at most: beyond either, a clear
# error and nothing is invited).
INVITATIONS_DAILY_LIMIT = env_int("INVITATIONS_DAILY_LIMIT", 50)
INVITATIONS_RATE_LIMIT = env_str("INVITATIONS_RATE_LIMIT", "20/h")
INVITATIONS_CONFIRM_DAYS = env_int("INVITATIONS_CONFIRM_DAYS", 30)
INVITATIONS_POINTS = env_int("INVITATIONS_POINTS", 5)
INVITATIONS_MAX_UPLOAD_BYTES = env_int("INVITATIONS_MAX_UPLOAD_BYTES", 2 * 1024 * 1024)
INVITATIONS_MAX_ENTRIES = env_int("INVITATIONS_MAX_ENTRIES", 5000)
API_PAGE_SIZE = 100
# Requests accepted per API token: N/s, N/m, N/h or N/d (fixed window, shared cache).
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "600/m")
# People one API token may read per day (contacts returned by list, search, get and GDPR
# reports, midnight to midnight, TIME_ZONE); beyond, 429 until midnight and HQ admins are mailed.
# A token may have its own (set by an HQ admin on the token's page).
API_DAILY_PEOPLE_BUDGET = env_int("API_DAILY_PEOPLE_BUDGET", 5000)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"huey": {"level": "WARNING"}},
}
