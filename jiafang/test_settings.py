"""Settings for the test suite: production settings with test-only conveniences.

HTTPS redirect and secure cookies are off because the test client and the live server speak
plain HTTP; the production values are asserted separately (core/tests/test_deploy.py).
"""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "x" * 50)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ["JIAFANG_SSL_REDIRECT"] = "0"
os.environ["JIAFANG_SECURE_COOKIES"] = "0"
os.environ.setdefault("JIAFANG_API_DOCS", "1")

from jiafang.settings import *  # noqa: E402,F403
from jiafang.settings import DATABASES  # noqa: E402

# Each xdist worker gets its own PostgreSQL test database (pytest-django suffixes the name).
DATABASES["default"].setdefault("TEST", {})
# Live-server threads must not keep connections open past a test (teardown drops the database).
DATABASES["default"]["CONN_MAX_AGE"] = 0
