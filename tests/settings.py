"""Test settings: the project's settings with a synchronous queue and locmem mail."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "k" * 40)

from hogsend_site.settings import *  # noqa: F403
from hogsend_site.settings import DATABASES, Q_CLUSTER

# django-q2 reads Q_CLUSTER at import: only this global flag runs tasks inline
# and keeps the test transaction's connection.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PUBLIC_BASE_URL = "http://testserver"
# One test database per pytest process, so parallel runs never share one; the
# name is exported so worker processes a test starts find the same database.
_test_db = os.environ.setdefault("HOGSEND_TEST_DB", f"test_hogsend_{os.getpid()}")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file (not :memory:) so tests that start worker processes share it.
    (BASE_DIR / "var").mkdir(exist_ok=True)  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"{_test_db}.sqlite3")}  # noqa: F405
else:
    DATABASES["default"]["TEST"] = {"NAME": _test_db}
