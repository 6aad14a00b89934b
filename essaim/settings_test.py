"""Settings for the test suite: the real settings, with tasks run inline and fast hashing.

The database is whatever DATABASE_URL says (SQLite when unset); CI runs the suite on both.
"""

import os
import tempfile

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("HUEY_IMMEDIATE", "1")
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="essaim-test-"))
os.environ["ESSAIM_SKIP_DOTENV"] = "1"

from essaim.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEVMAIL_ENABLED = True
ALLOWED_HOSTS = ["*"]
WHITENOISE_AUTOREFRESH = True  # static files are served from the finders, nothing collected
# The suite logs its cast in with force_login and tests permissions, not the second factor:
# 2FA stays off here and tests/test_two_factor*.py switch it on with the `settings` fixture.
STAFF_2FA_REQUIRED = False
# Figures exact at each request: the cache (Redis on the PostgreSQL run) outlives a test.
DASHBOARD_CACHE_SECONDS = 0
