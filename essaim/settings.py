"""Essaim settings. Every value comes from the environment (see essaim/env.py, .env.example)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dj_database_url
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
    "django.forms",  # its widget templates, for FORM_RENDERER below
    "django_htmx",
    "huey.contrib.djhuey",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "essaim.accounts",
    "essaim.people",
    "essaim.mailing",
    "essaim.api",
    "essaim.devmail",
    "essaim.army",
    "essaim.watch",
    # Last: the project-level wiring (the periodic jobs) needs every pillar loaded.
    "essaim.project",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Marks request.user.is_verified() when the session passed the second factor; the next one
    # keeps a staff session that has not passed it on the 2FA pages.
    "django_otp.middleware.OTPMiddleware",
    "essaim.accounts.middleware.StaffTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a locked-out login into our 429 page.
    "axes.middleware.AxesMiddleware",
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
# Forms render with the project's engine, so a field is drawn by the design system's template.
FORM_RENDERER = "essaim.lib.forms.FormRenderer"


# --- Database -----------------------------------------------------------------------------------
# SQLite tuned for one machine: WAL lets readers work while one writer writes; IMMEDIATE takes the
# write lock at BEGIN so two writers queue on the busy timeout instead of failing mid-transaction.
SQLITE_OPTIONS: dict[str, Any] = {
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
}


def database_from_url(url: str) -> dict[str, Any]:
    """A Django database from a URL in the forms dj-database-url knows (`postgres://…`,
    `sqlite:///relative/path`, `sqlite:////absolute/path`); only PostgreSQL and SQLite are
    supported, each with the options Essaim relies on."""
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url))
    except ValueError as exc:
        raise ImproperlyConfiguredEnv(f"DATABASE_URL: {exc}") from exc
    engine = config.get("ENGINE", "")
    if engine.endswith("sqlite3"):
        return {**config, "OPTIONS": {**SQLITE_OPTIONS, **config.get("OPTIONS", {})}}
    if not engine.endswith("postgresql"):
        raise ImproperlyConfiguredEnv(
            f"DATABASE_URL: {engine} is not supported (use postgres:// or sqlite:///)"
        )
    return {
        **config,
        "NAME": config.get("NAME") or "essaim",
        "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"connect_timeout": 10, **config.get("OPTIONS", {})},
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
            "OPTIONS": SQLITE_OPTIONS,
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
# django-axes' backend comes first: it refuses a locked-out account or address before any
# password is checked, on the site's login and on the Django admin's alike. (It derives from
# axes' AxesBackend, which also loads users as ModelBackend does, for code that logs in with
# AUTHENTICATION_BACKENDS[0].)
AUTHENTICATION_BACKENDS = [
    "essaim.accounts.services.lockouts.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed logins (wrong passwords and wrong second-factor codes) one account, or one client
# address, may make before it is locked; then it stays locked for LOGIN_LOCKOUT_MINUTES after its
# last counted failure, or until an HQ admin unlocks it (/comptes/securite/, or
# `essaim axes_reset_username EMAIL` / `essaim axes_reset_ip IP`).
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 30)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
# Two separate counters, either of which locks: one per account (a botnet spreading guesses over
# many addresses) and one per address (one machine trying many accounts).
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Our login form posts "username"; axes would otherwise look for the model's field, "email".
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "essaim.accounts.services.lockouts.login_username"
AXES_CLIENT_IP_CALLABLE = "essaim.accounts.services.lockouts.client_address"
AXES_LOCKOUT_CALLABLE = "essaim.accounts.views.lockout_response"
# The database handler: shared by every process and machine, and its rows let HQ list and lift
# locks (a cache cannot be listed). Refusals while locked are not recorded, so a burst costs a
# few reads per guess and the lock ends at a fixed time instead of being pushed back forever.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A success does not wipe the failures: otherwise one known account would reset an address's
# counter between guesses at another.
AXES_RESET_ON_SUCCESS = False
# Our audit log records what matters; axes' own per-login table would grow without bound.
AXES_DISABLE_ACCESS_LOG = True
# Locks are lifted from the audited Sécurité page (or the shell), not from the Django admin.
AXES_ENABLE_ADMIN = False
# A typed second-factor code is kept out of the failure records, as the password is.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code"]
# Its banner at every start of every command says nothing an operator needs.
AXES_VERBOSE = False
# Staff (HQ and coordinators) pass a second factor (TOTP or a recovery code) after the password.
# On by default; off by default in the demo so that its printed logins work as they are.
STAFF_2FA_REQUIRED = env_bool("STAFF_2FA_REQUIRED", not DEMO)
# Name shown in authenticator apps next to the account.
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Essaim")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# A site served over https gets the safe values with no other variable (`essaim check --deploy`
# refuses an https site without them); each one can still be set on its own.
SITE_IS_HTTPS = SITE_URL.startswith("https://")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", SITE_IS_HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", SITE_IS_HTTPS)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SITE_IS_HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if SITE_IS_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Behind a reverse proxy that terminates TLS on another machine: the header it sets to "https"
# (e.g. X-Forwarded-Proto), which it must overwrite on every request. A proxy on this machine
# needs nothing: gunicorn trusts X-Forwarded-Proto from 127.0.0.1 (FORWARDED_ALLOW_IPS).
_PROXY_SSL_HEADER = env_str("SECURE_PROXY_SSL_HEADER", "")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https") if _PROXY_SSL_HEADER else None
)
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
# Longest cell of an imported CSV, in characters: no contact field is near it, and a line with a
# longer one is rejected (reported) instead of being held in memory by the parser.
IMPORT_MAX_FIELD_CHARS = env_int("IMPORT_MAX_FIELD_CHARS", 64 * 1024)

# --- Outbound fetches (essaim.lib.fetcher) ---------------------------------------------------
# Every URL that comes from a user or a feed is fetched through the guarded fetcher. Its
# User-Agent names Essaim and this page, where a site's owner learns who fetches and why.
FETCH_CONTACT_URL = env_str("FETCH_CONTACT_URL", SITE_URL + "/")
# Largest body (after decompression), and the deadlines in seconds: connection (DNS, TCP,
# TLS), silence while reading, and the whole fetch with its redirects.
FETCH_MAX_BYTES = env_int("FETCH_MAX_BYTES", 10 * 1024 * 1024)
FETCH_CONNECT_TIMEOUT = env_float("FETCH_CONNECT_TIMEOUT", 10.0)
FETCH_READ_TIMEOUT = env_float("FETCH_READ_TIMEOUT", 20.0)
FETCH_TOTAL_TIMEOUT = env_float("FETCH_TOTAL_TIMEOUT", 60.0)
# Ports allowed besides 80 (http) and 443 (https).
FETCH_ALLOWED_PORTS = [int(port) for port in env_list("FETCH_ALLOWED_PORTS")]
# Addresses or networks the fetcher may reach although internal (loopback, private…): for
# tests and benchmarks against local servers only. Production leaves it empty, and
# `essaim check --deploy` fails otherwise.
FETCH_ALLOW_ADDRESSES = env_list("FETCH_ALLOW_ADDRESSES")

# --- I18n ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "essaim" / "locale"]
# French figures group thousands with a narrow no-break space (essaim/formats/fr). Grouping is
# asked for where a figure is shown (floatformat:"g", accounts.services.vocabulary.number()), never
# globally: USE_THOUSAND_SEPARATOR would also group the ids written into URLs and forms.
FORMAT_MODULE_PATH = ["essaim.formats"]
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
    ("vendor/tom-select", NODE_MODULES / "tom-select" / "dist"),
    ("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"),
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
# The catcher shows every mail Essaim sends (other people's login links among them) to HQ: the
# demo's alone. It runs only while DEMO is on too (essaim.devmail.enabled), and `essaim check
# --deploy` fails while either is on.
DEVMAIL_ENABLED = env_bool("DEVMAIL_ENABLED", DEMO)
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
# Mailbox given to the feedback loops that send complaints (ARF reports) to a fixed address
# rather than to the VERP envelope sender; mail to it is taken by `essaim bounces`. Empty: off.
MAILING_COMPLAINTS_ADDRESS = env_str("MAILING_COMPLAINTS_ADDRESS", "plaintes@essaim.localhost")
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
# A coordinator's reveals of a contact's clear address and phone, counted together with their
# refused searches on those masked fields (one budget per coordinator).
CONTACT_REVEAL_RATE_LIMIT = env_str("CONTACT_REVEAL_RATE_LIMIT", "30/h")
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
# Who is trusted with the full daily limit: an account older than INVITATIONS_NEW_ACCOUNT_DAYS
# with accepted work (a proof accepted or an invitee who confirmed); anyone else may submit
# INVITATIONS_NEW_ACCOUNT_DAILY_LIMIT addresses a day. Only mondains trained or active invite.
INVITATIONS_NEW_ACCOUNT_DAILY_LIMIT = env_int("INVITATIONS_NEW_ACCOUNT_DAILY_LIMIT", 5)
INVITATIONS_NEW_ACCOUNT_DAYS = env_int("INVITATIONS_NEW_ACCOUNT_DAYS", 14)
# Invitation mails the whole campaign sends per day (TIME_ZONE); beyond it they wait for the
# next day (an hourly job sends them), so the campaign's sending reputation cannot be spent.
INVITATIONS_CAMPAIGN_DAILY_CAP = env_int("INVITATIONS_CAMPAIGN_DAILY_CAP", 2000)
# This many abuse reports on a volunteer's invitations within the window (days) suspend their
# invitations until a coordinator or HQ lifts the suspension.
INVITATIONS_ABUSE_SUSPEND_THRESHOLD = env_int("INVITATIONS_ABUSE_SUSPEND_THRESHOLD", 3)
INVITATIONS_ABUSE_WINDOW_DAYS = env_int("INVITATIONS_ABUSE_WINDOW_DAYS", 30)
# Missions: points one mission may carry without HQ's approval (above, an HQ member other than
# its author approves it before anyone sees it); and the rule of HQ's list of sudden jumps in
# points (essaim.army.services.oversight.points_jumps): more than FACTOR times one's own usual
# rate and more than FLOOR points, over 7 days or over 24 hours.
MISSION_MAX_POINTS = env_int("MISSION_MAX_POINTS", 50)
MISSION_POINTS_JUMP_FACTOR = env_float("MISSION_POINTS_JUMP_FACTOR", 3.0)
MISSION_POINTS_JUMP_FLOOR = env_int("MISSION_POINTS_JUMP_FLOOR", 100)
# --- The watch (essaim.watch): the `essaim watcher` process and the sources' pages -----------
# Largest feed or page the watch reads (bytes, after decompression); entries read from one feed
# at each poll (a feed of 50,000 entries gives its first WATCH_MAX_ITEMS_PER_POLL).
WATCH_MAX_BYTES = env_int("WATCH_MAX_BYTES", 10 * 1024 * 1024)
WATCH_MAX_ITEMS_PER_POLL = env_int("WATCH_MAX_ITEMS_PER_POLL", 500)
# Seconds between two polls of a source: a new source's, and the bounds the adaptive interval
# moves within (shorter when a poll brings mostly new items, longer when it brings none).
WATCH_DEFAULT_INTERVAL = env_int("WATCH_DEFAULT_INTERVAL", 1800)
WATCH_MIN_INTERVAL = env_int("WATCH_MIN_INTERVAL", 300)
WATCH_MAX_INTERVAL = env_int("WATCH_MAX_INTERVAL", 24 * 3600)
# A source is disabled when its failure score reaches this (a lasting failure counts 1, a
# transient one 0.5, a 429 0.25; each success halves the score).
WATCH_DISABLE_AFTER = env_float("WATCH_DISABLE_AFTER", 5.0)
# Per watcher process: fetches at once, sources per claim, seconds a claim lasts, and the
# seconds between two requests to one host (one request at a time per host).
WATCH_CONCURRENCY = env_int("WATCH_CONCURRENCY", 20)
WATCH_CLAIM_BATCH = env_int("WATCH_CLAIM_BATCH", 50)
WATCH_LEASE_SECONDS = env_int("WATCH_LEASE_SECONDS", 300)
WATCH_HOST_GAP = env_float("WATCH_HOST_GAP", 2.0)
# Adding a source by its URL: candidate feeds fetched at most, and seconds spent at most.
WATCH_DISCOVERY_TRIES = env_int("WATCH_DISCOVERY_TRIES", 8)
WATCH_ADD_TIMEOUT = env_int("WATCH_ADD_TIMEOUT", 30)
# OPML import: largest file (bytes) and most sources in one file.
WATCH_OPML_MAX_BYTES = env_int("WATCH_OPML_MAX_BYTES", 2 * 1024 * 1024)
WATCH_OPML_MAX_SOURCES = env_int("WATCH_OPML_MAX_SOURCES", 5000)
# Days the sources' poll history is kept (a daily job deletes older lines).
WATCH_HISTORY_DAYS = env_int("WATCH_HISTORY_DAYS", 90)
# Links one tracer may submit (new ones; submitting a known link again is free): a flood from
# one account is refused with the minutes to wait.
WATCH_SUBMISSION_RATE_LIMIT = env_str("WATCH_SUBMISSION_RATE_LIMIT", "30/h")
# Stories (essaim.watch.services.stories): an item joins a story whose items were seen within
# this many days; older ones are not matched any more (their MinHash bands are pruned).
WATCH_STORY_WINDOW_DAYS = env_int("WATCH_STORY_WINDOW_DAYS", 3)
# Near-duplicates: similarity (shared word shingles, see essaim.watch.services.dedup) above which
# an item joins the other's story by itself, and above which a person is asked; below
# WATCH_MERGE_MIN_WORDS words of text nothing merges by itself (a person may still be asked).
WATCH_MERGE_AUTO = env_float("WATCH_MERGE_AUTO", 0.6)
WATCH_MERGE_SUGGEST = env_float("WATCH_MERGE_SUGGEST", 0.3)
WATCH_MERGE_MIN_WORDS = env_int("WATCH_MERGE_MIN_WORDS", 25)
# Days evidence is kept: a raw response older than this that no item fetched in that time
# points to is deleted by a daily job (its items keep their text, without the raw copy).
WATCH_EVIDENCE_DAYS = env_int("WATCH_EVIDENCE_DAYS", 90)
# Watched pages are read by trafilatura in worker processes (essaim.watch.services.extraction):
# how many per watcher, the address space each may take (MB) and the seconds a page may take
# before its worker is killed.
WATCH_EXTRACT_WORKERS = env_int("WATCH_EXTRACT_WORKERS", 1)
WATCH_EXTRACT_MEMORY_MB = env_int("WATCH_EXTRACT_MEMORY_MB", 768)
WATCH_EXTRACT_TIMEOUT = env_float("WATCH_EXTRACT_TIMEOUT", 20.0)
# robots.txt of the hosts of watched pages: seconds a host's rules are kept by each watcher,
# and how many hosts' rules at most.
WATCH_ROBOTS_TTL = env_int("WATCH_ROBOTS_TTL", 3600)
WATCH_ROBOTS_CACHE_SIZE = env_int("WATCH_ROBOTS_CACHE_SIZE", 10_000)

# The home page's figures that read the whole base or whole ledgers (a million rows: a second
# of database time) are kept this many seconds in the cache, per scope; 0 reads them each time.
DASHBOARD_CACHE_SECONDS = env_int("DASHBOARD_CACHE_SECONDS", 60)
API_PAGE_SIZE = 100
# The domain apps' django-ninja routers, (prefix, dotted path), mounted in this order by
# essaim.api.root, which imports no app: a new pillar plugs its router in here. Not from the
# environment: which routers exist is code, not deployment.
API_ROUTERS: list[tuple[str, str]] = [
    ("/v1/", "essaim.people.api.router"),
    ("/v1/", "essaim.mailing.api.router"),
    ("/v1/", "essaim.army.api.router"),
    ("/v1/", "essaim.watch.api.router"),
]
# Requests accepted per API token: N/s, N/m, N/h or N/d (fixed window, shared cache).
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "600/m")
# People one API token may read per day (contacts returned by list, search, get and GDPR
# reports, midnight to midnight, TIME_ZONE); beyond, 429 until midnight and HQ admins are mailed.
# A token may have its own (set by an HQ admin on the token's page).
API_DAILY_PEOPLE_BUDGET = env_int("API_DAILY_PEOPLE_BUDGET", 5000)
# Where to report a vulnerability in this deployment, published at /.well-known/security.txt
# (RFC 9116): mailto: or https: URIs, comma-separated (a bare address becomes mailto:). Empty:
# no security.txt (404). SECURITY_POLICY_URL: the page describing the disclosure policy.
SECURITY_CONTACT = env_list("SECURITY_CONTACT", [])
SECURITY_POLICY_URL = env_str("SECURITY_POLICY_URL", "")

# The loggers that write request paths (django.request's "Not Found: /path", the CSRF
# refusals, the development server's request lines) replace the tokens of links by [redacted]
# (essaim.lib.redaction); gunicorn's access log does it through the Procfile's --logger-class.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_secrets": {"()": "essaim.lib.redaction.RedactSecretsFilter"},
        "forbidden_without_traceback": {"()": "essaim.lib.log_filters.ForbiddenWithoutTraceback"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        # Django's own, restated: naming django.server here replaces its default handler.
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        },
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "huey": {"level": "WARNING"},
        "django.request": {"filters": ["redact_secrets", "forbidden_without_traceback"]},
        "django.security.csrf": {"filters": ["redact_secrets"]},
        "django.server": {
            "filters": ["redact_secrets"],
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
        },
    },
}
